package org.nibble.kernels.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.quant.QuantTestSupport.alloc;
import static org.nibble.kernels.quant.QuantTestSupport.bytes;
import static org.nibble.kernels.quant.QuantTestSupport.floats;
import static org.nibble.kernels.quant.QuantTestSupport.randomCodes;
import static org.nibble.kernels.quant.QuantTestSupport.randomFloats;
import static org.nibble.kernels.quant.QuantTestSupport.toFloats;
import static org.nibble.kernels.quant.QuantTestSupport.toInts;

class ShiftMMTest {
    /** papers.md 1.4: qX' (2x4, pre-shifted) . qW (4x2) = [[268, -315], [-188, 287]], Y = acc * (1/7)(1/7)/2^3. */
    @Test
    void workedTestVectorInAllThreeLayouts() {
        int[] qx = {56, 16, -3, 0, -40, 0, 7, 0};
        int[] qw = {4, -7, 2, 5, -4, 1, 7, 7};                 // K x N
        int[] qwT = {4, 2, -4, 7, -7, 5, 1, 7};                // N x K
        int[] qxT = {56, -40, 16, 0, -3, 7, 0, 0};             // K x M
        int[] acc = {268, -315, -188, 287};
        double alpha = ShiftMM.epilogueScale(1f / 7f, 4, 1f / 7f, 1);
        assertEquals(0.00255102, alpha, 1e-8);
        float[] y = {0.68367f, -0.80357f, -0.47959f, 0.73214f};
        Object[][] cases = {
                {ShiftMM.Layout.INPUT_GRAD, qx, 4, qw, 2},
                {ShiftMM.Layout.FORWARD, qx, 4, qwT, 4},
                {ShiftMM.Layout.WEIGHT_GRAD, qxT, 2, qw, 2}};
        for (Object[] cs : cases) {
            ShiftMM.Layout layout = (ShiftMM.Layout) cs[0];
            MemorySegment a = bytes((int[]) cs[1]), b = bytes((int[]) cs[3]);
            MemorySegment ci = alloc(16), cs1 = alloc(16), cf = alloc(16), cfs = alloc(16);
            ShiftMM.gemmInt(layout.transA(), layout.transB(), 2, 2, 4, a, 0, (int) cs[2], b, 0, (int) cs[4], ci, 0, 2);
            ShiftMMScalar.gemmInt(layout.transA(), layout.transB(), 2, 2, 4, a, 0, (int) cs[2], b, 0, (int) cs[4],
                    cs1, 0, 2);
            assertArrayEquals(acc, toInts(ci, 4), layout.toString());
            assertArrayEquals(acc, toInts(cs1, 4), layout.toString());
            ShiftMM.gemm(layout, 2, 2, 4, alpha, a, 0, (int) cs[2], b, 0, (int) cs[4], cf, 0, 2);
            ShiftMMScalar.gemm(layout, 2, 2, 4, alpha, a, 0, (int) cs[2], b, 0, (int) cs[4], cfs, 0, 2);
            assertArrayEquals(y, toFloats(cf, 4), 1e-5f, layout.toString());
            assertArrayEquals(toFloats(cfs, 4), toFloats(cf, 4), 0f);
        }
    }

    /** The full fused path from float X and W reproduces the worked vector's Y. */
    @Test
    void workedTestVectorThroughQuantizers() {
        MemorySegment x = floats(1.0f, 0.3f, -0.05f, 0.0f, -0.7f, 0.02f, 0.12f, 0.0f);
        MemorySegment w = floats(0.5f, -1.0f, 0.25f, 0.75f, -0.5f, 0.1f, 1.0f, 1.0f);   // K x N
        MemorySegment qx = alloc(8), gx = alloc(4), qw = alloc(8), gw = alloc(4), y = alloc(16);
        float sx = ShiftQuant.quantize("X", x, 0, 2, 4, 4, ChannelAxis.COLUMNS, 4, 4, Rounding.NEAREST_EVEN, 0, true,
                qx, 0, 4, gx, 0);
        float sw = ShiftQuant.quantize("W", w, 0, 4, 2, 2, ChannelAxis.ROWS, 4, 1, Rounding.NEAREST_EVEN, 0, true, qw,
                0, 2, gw, 0);
        ShiftMM.gemm(ShiftMM.Layout.INPUT_GRAD, 2, 2, 4, ShiftMM.epilogueScale(sx, 4, sw, 1), qx, 0, 4, qw, 0, 2, y, 0,
                2);
        assertArrayEquals(new float[]{0.68367f, -0.80357f, -0.47959f, 0.73214f}, toFloats(y, 4), 1e-5f);
    }

    static final int[] DIMS = {1, 3, 7, 16, 17, 31, 33, 65};

    @Test
    void vectorEqualsScalarOverTailsAndAllLayouts() {
        SplittableRandom rng = new SplittableRandom(11);
        boolean[][] trans = {{false, true}, {false, false}, {true, false}, {true, true}};
        for (boolean[] t : trans) {
            for (int m : DIMS) {
                int n = DIMS[rng.nextInt(DIMS.length)], k = DIMS[rng.nextInt(DIMS.length)];
                check(rng, t[0], t[1], m, n, k, 127);
                check(rng, t[0], t[1], n, m, k + 1, 127);
            }
            check(rng, t[0], t[1], 13, 35, 1000, 127);
            check(rng, t[0], t[1], 7, 9, 4099, 127);   // several float chunks
        }
    }

    /** All products +16129: one float chunk of 3000 would pass 2^24 and lose odd values; the int32 path must not. */
    @Test
    void chunkedAccumulationStaysExactBeyond2To24() {
        for (boolean[] t : new boolean[][]{{false, true}, {false, false}, {true, false}}) {
            int m = 7, n = 19, k = 3001;
            MemorySegment a = alloc((long) m * k), b = alloc((long) n * k);
            a.fill((byte) 127);
            b.fill((byte) 127);
            a.set(BYTE, 5, (byte) -127);
            MemorySegment c = alloc(4L * m * n), cs = alloc(4L * m * n);
            int lda = t[0] ? m : k, ldb = t[1] ? k : n;
            ShiftMM.gemmInt(t[0], t[1], m, n, k, a, 0, lda, b, 0, ldb, c, 0, n);
            ShiftMMScalar.gemmInt(t[0], t[1], m, n, k, a, 0, lda, b, 0, ldb, cs, 0, n);
            assertArrayEquals(toInts(cs, (long) m * n), toInts(c, (long) m * n));
            assertEquals(3001 * 16129, toInts(cs, (long) m * n)[m * n - 1], "odd value above 2^24");
        }
    }

    private static void check(SplittableRandom rng, boolean transA, boolean transB, int m, int n, int k, int max) {
        int lda = (transA ? m : k) + rng.nextInt(3), ldb = (transB ? k : n) + rng.nextInt(3);
        int ldc = n + rng.nextInt(3);
        long aOff = rng.nextInt(4), bOff = rng.nextInt(4), cOff = rng.nextInt(4);
        MemorySegment a = randomCodes(rng, aOff + (long) (transA ? k : m) * lda, max);
        MemorySegment b = randomCodes(rng, bOff + (long) (transB ? n : k) * ldb, max);
        long cn = cOff + (long) m * ldc;
        MemorySegment ci = alloc(4 * cn), cs = alloc(4 * cn), cf = alloc(4 * cn), cfs = alloc(4 * cn);
        String what = "transA=" + transA + " transB=" + transB + " m=" + m + " n=" + n + " k=" + k;
        ShiftMM.gemmInt(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, ci, cOff, ldc);
        ShiftMMScalar.gemmInt(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, cs, cOff, ldc);
        assertArrayEquals(toInts(cs, cn), toInts(ci, cn), what);
        double alpha = 0.37 / (1 + k);
        ShiftMM.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, cf, cOff, ldc);
        ShiftMMScalar.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, cfs, cOff, ldc);
        assertArrayEquals(toFloats(cfs, cn), toFloats(cf, cn), 0f, what);
    }

    /**
     * papers.md 1.4 test (b): literal shift-per-product on plain codes == the pre-shifted GEMM, bit for bit; and test
     * (a): the pre-shifted GEMM's float output == dequantize-then-fp64 GEMM within 1 ulp.
     */
    @Test
    void preShiftEqualsLiteralShiftAndDequantizedFp64Gemm() {
        SplittableRandom rng = new SplittableRandom(12);
        for (int t = 0; t < 12; t++) {
            int m = 1 + rng.nextInt(40), n = 1 + rng.nextInt(40), k = 1 + rng.nextInt(300);
            int bitsA = t % 2 == 0 ? 4 : 6, groupsA = bitsA == 4 ? 5 : 3;
            int bitsB = 4, groupsB = 1 + rng.nextInt(5);
            MemorySegment x = randomFloats(rng, (long) m * k), w = randomFloats(rng, (long) k * n);
            MemorySegment pa = alloc((long) m * k), sa = alloc((long) m * k), ga = alloc(k), ga2 = alloc(k);
            MemorySegment pb = alloc((long) k * n), sb = alloc((long) k * n), gb = alloc(k), gb2 = alloc(k);
            Rounding r = t % 3 == 0 ? Rounding.STOCHASTIC : Rounding.NEAREST_EVEN;
            float sA = ShiftQuant.quantize("x", x, 0, m, k, k, ChannelAxis.COLUMNS, bitsA, groupsA, r, t, false, pa,
                    0, k, ga, 0);
            ShiftQuant.quantize("x", x, 0, m, k, k, ChannelAxis.COLUMNS, bitsA, groupsA, r, t, true, sa, 0, k, ga2,
                    0);
            float sB = ShiftQuant.quantize("w", w, 0, k, n, n, ChannelAxis.ROWS, bitsB, groupsB, r, t, false, pb, 0,
                    n, gb, 0);
            ShiftQuant.quantize("w", w, 0, k, n, n, ChannelAxis.ROWS, bitsB, groupsB, r, t, true, sb, 0, n, gb2, 0);
            MemorySegment lit = alloc(4L * m * n), pre = alloc(4L * m * n), y = alloc(4L * m * n);
            ShiftMMScalar.gemmLiteralShift(m, n, k, pa, 0, k, ga, 0, groupsA, pb, 0, n, gb, 0, groupsB, lit, 0, n);
            ShiftMM.gemmInt(false, false, m, n, k, sa, 0, k, sb, 0, n, pre, 0, n);
            assertArrayEquals(toInts(lit, (long) m * n), toInts(pre, (long) m * n), "literal vs pre-shift");
            double alpha = ShiftMM.epilogueScale(sA, groupsA, sB, groupsB);
            ShiftMM.gemm(false, false, m, n, k, alpha, sa, 0, k, sb, 0, n, y, 0, n);
            // reference: dequantize plain codes (q * s0 * 2^-g, exact in double), fp64 GEMM
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double ref = 0;
                    for (int p = 0; p < k; p++) {
                        double da = pa.get(BYTE, (long) i * k + p) * (double) sA * Math.scalb(1.0, -ga.get(BYTE, p));
                        double db = pb.get(BYTE, (long) p * n + j) * (double) sB * Math.scalb(1.0, -gb.get(BYTE, p));
                        ref += da * db;
                    }
                    float got = y.getAtIndex(FLOAT, (long) i * n + j);
                    assertTrue(Math.abs(got - ref) <= Math.ulp((float) ref), "got " + got + " ref " + ref);
                }
            }
        }
    }

    @Test
    void fusedLinearEqualsScalarTwinAndApproximatesFloat() {
        SplittableRandom rng = new SplittableRandom(13);
        int[][] shapes = {{5, 17, 9}, {33, 64, 31}, {64, 96, 48}};
        for (int[] s : shapes) {
            int n = s[0], cin = s[1], cout = s[2];
            MemorySegment x = randomFloats(rng, (long) n * cin), w = randomFloats(rng, (long) cout * cin);
            MemorySegment dy = randomFloats(rng, (long) n * cout);
            MemorySegment y = alloc(4L * n * cout), ys = alloc(4L * n * cout);
            ShiftLinear.forward(n, cin, cout, x, 0, w, 0, 4, 5, y, 0);
            ShiftLinearScalar.forward(n, cin, cout, x, 0, w, 0, 4, 5, ys, 0);
            assertArrayEquals(toFloats(ys, (long) n * cout), toFloats(y, (long) n * cout), 0f);
            MemorySegment dx = alloc(4L * n * cin), dxs = alloc(4L * n * cin);
            ShiftLinear.inputGrad(n, cin, cout, dy, 0, w, 0, 6, 3, 99, dx, 0);
            ShiftLinearScalar.inputGrad(n, cin, cout, dy, 0, w, 0, 6, 3, 99, dxs, 0);
            assertArrayEquals(toFloats(dxs, (long) n * cin), toFloats(dx, (long) n * cin), 0f);
            MemorySegment dw = alloc(4L * cout * cin), dws = alloc(4L * cout * cin);
            ShiftLinear.weightGrad(n, cin, cout, dy, 0, x, 0, 8, 1, 99, dw, 0);
            ShiftLinearScalar.weightGrad(n, cin, cout, dy, 0, x, 0, 8, 1, 99, dws, 0);
            assertArrayEquals(toFloats(dws, (long) cout * cin), toFloats(dw, (long) cout * cin), 0f);
            // 8-bit weight gradient is close to the float one (relative Frobenius error)
            double err = 0, norm = 0;
            for (int o = 0; o < cout; o++) {
                for (int i = 0; i < cin; i++) {
                    double ref = 0;
                    for (int p = 0; p < n; p++) {
                        ref += (double) dy.getAtIndex(FLOAT, (long) p * cout + o) * x.getAtIndex(FLOAT, (long) p * cin + i);
                    }
                    double e = dw.getAtIndex(FLOAT, (long) o * cin + i) - ref;
                    err += e * e;
                    norm += ref * ref;
                }
            }
            assertTrue(Math.sqrt(err / norm) < 0.1, "relative error " + Math.sqrt(err / norm));
        }
    }

    @Test
    void losingCandidatesEqualScalarTwinToo() {
        SplittableRandom rng = new SplittableRandom(14);
        int[][] shapes = {{1, 1, 1}, {3, 5, 17}, {17, 33, 65}, {7, 9, 1000}, {2, 3, 4099}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            MemorySegment a = randomCodes(rng, (long) m * k, 127), b = randomCodes(rng, (long) n * k, 127);
            MemorySegment ref = alloc(4L * m * n), c = alloc(4L * m * n);
            double alpha = 1.0 / 3;
            ShiftMMScalar.gemm(ShiftMM.Layout.FORWARD, m, n, k, alpha, a, 0, k, b, 0, k, ref, 0, n);
            ShiftMMCandidates.forwardOuter(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
            assertArrayEquals(toFloats(ref, (long) m * n), toFloats(c, (long) m * n), 0f, "outer " + k);
            ShiftMMCandidates.forwardInt16(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
            assertArrayEquals(toFloats(ref, (long) m * n), toFloats(c, (long) m * n), 0f, "int16 " + k);
            ShiftMMCandidates.forwardWiden(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
            assertArrayEquals(toFloats(ref, (long) m * n), toFloats(c, (long) m * n), 0f, "widen " + k);
        }
    }
}
