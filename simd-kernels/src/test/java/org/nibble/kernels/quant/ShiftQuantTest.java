package org.nibble.kernels.quant;

import org.junit.jupiter.api.Test;
import org.nibble.kernels.Parallel;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.quant.QuantTestSupport.alloc;
import static org.nibble.kernels.quant.QuantTestSupport.bytes;
import static org.nibble.kernels.quant.QuantTestSupport.floats;
import static org.nibble.kernels.quant.QuantTestSupport.randomFloats;
import static org.nibble.kernels.quant.QuantTestSupport.toBytes;
import static org.nibble.kernels.quant.QuantTestSupport.toFloats;

class ShiftQuantTest {
    interface Quantizer {
        float quantize(String name, MemorySegment x, long xOff, int rows, int cols, int ldx, ChannelAxis axis,
                       int bits, int groups, Rounding rounding, long seed, boolean preShift, MemorySegment q,
                       long qOff, int ldq, MemorySegment groupIds, long gOff);
    }

    static final Quantizer VECTOR = ShiftQuant::quantize, SCALAR = ShiftQuantScalar::quantize;

    /** papers.md 1.4 worked test vector: b=4, G=4, groups along K = columns, RN half-even. */
    @Test
    void workedTestVector() {
        MemorySegment x = floats(1.0f, 0.3f, -0.05f, 0.0f, -0.7f, 0.02f, 0.12f, 0.0f);
        for (Quantizer qz : new Quantizer[]{VECTOR, SCALAR}) {
            MemorySegment q = alloc(8), g = alloc(4);
            float s0 = qz.quantize("X", x, 0, 2, 4, 4, ChannelAxis.COLUMNS, 4, 4, Rounding.NEAREST_EVEN, 0, false, q,
                    0, 4, g, 0);
            assertEquals(1f / 7f, s0);
            assertArrayEquals(new byte[]{0, 1, 3, 3}, toBytes(g, 4));
            assertArrayEquals(new byte[]{7, 4, -3, 0, -5, 0, 7, 0}, toBytes(q, 8));
            qz.quantize("X", x, 0, 2, 4, 4, ChannelAxis.COLUMNS, 4, 4, Rounding.NEAREST_EVEN, 0, true, q, 0, 4, g, 0);
            assertArrayEquals(new byte[]{56, 16, -3, 0, -40, 0, 7, 0}, toBytes(q, 8), "pre-shifted qX'");
            // W (K x N) per-tensor b=4 (G = 1): ties 3.5 -> 4 and -3.5 -> -4 (half-even)
            MemorySegment w = floats(0.5f, -1.0f, 0.25f, 0.75f, -0.5f, 0.1f, 1.0f, 1.0f);
            MemorySegment qw = alloc(8), gw = alloc(2);
            float sw = qz.quantize("W", w, 0, 4, 2, 2, ChannelAxis.COLUMNS, 4, 1, Rounding.NEAREST_EVEN, 0, true,
                    qw, 0, 2, gw, 0);
            assertEquals(1f / 7f, sw);
            assertArrayEquals(new byte[]{4, -7, 2, 5, -4, 1, 7, 7}, toBytes(qw, 8));
        }
    }

    static final int[] SIZES = {1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 129, 255, 1000};

    @Test
    void vectorEqualsScalarOverTailsAxesRoundingsAndWidths() {
        SplittableRandom rng = new SplittableRandom(1);
        int[][] specs = {{2, 1}, {4, 5}, {4, 3}, {6, 3}, {8, 1}, {8, 4}, {3, 8}};
        for (int cols : SIZES) {
            int rows = 1 + rng.nextInt(9);
            int ldx = cols + rng.nextInt(3), ldq = cols + rng.nextInt(3);
            long xOff = rng.nextInt(5), qOff = rng.nextInt(5);
            MemorySegment x = randomFloats(rng, xOff + (long) rows * ldx);
            for (ChannelAxis axis : ChannelAxis.values()) {
                for (Rounding rounding : Rounding.values()) {
                    for (int[] spec : specs) {
                        boolean pre = (QuantSupport.qmax(spec[0]) << (spec[1] - 1)) <= 127;
                        int nc = axis == ChannelAxis.COLUMNS ? cols : rows;
                        MemorySegment qv = alloc(qOff + (long) rows * ldq), qs = alloc(qOff + (long) rows * ldq);
                        MemorySegment gv = alloc(nc + 2), gs = alloc(nc + 2);
                        float sv = VECTOR.quantize("x", x, xOff, rows, cols, ldx, axis, spec[0], spec[1], rounding,
                                77, pre, qv, qOff, ldq, gv, 1);
                        float ss = SCALAR.quantize("x", x, xOff, rows, cols, ldx, axis, spec[0], spec[1], rounding,
                                77, pre, qs, qOff, ldq, gs, 1);
                        String what = "cols=" + cols + " rows=" + rows + " " + axis + " " + rounding + " b="
                                + spec[0] + " G=" + spec[1];
                        assertEquals(ss, sv, what);
                        assertArrayEquals(toBytes(gs, nc + 2), toBytes(gv, nc + 2), what);
                        assertArrayEquals(toBytes(qs, qOff + (long) rows * ldq), toBytes(qv, qOff + (long) rows * ldq),
                                what);
                        // dequantize twins agree too
                        MemorySegment dv = alloc(4L * rows * cols), ds = alloc(4L * rows * cols);
                        ShiftQuant.dequantize(qv, qOff, rows, cols, ldq, axis, gv, 1, sv, spec[1], pre, dv, 0, cols);
                        ShiftQuantScalar.dequantize(qs, qOff, rows, cols, ldq, axis, gs, 1, ss, spec[1], pre, ds, 0,
                                cols);
                        assertArrayEquals(toFloats(ds, (long) rows * cols), toFloats(dv, (long) rows * cols), what);
                    }
                }
            }
        }
    }

    /** Loop definition of papers.md 1.3: the largest g <= G-1 with r * 2^g <= R (exact in double). */
    static int groupByLoop(float bigR, float r, int groups) {
        if (r == 0 || r < Float.MIN_NORMAL) {
            return groups - 1;
        }
        int g = 0;
        while (g < groups - 1 && (double) r * Math.pow(2, g + 1) <= bigR) {
            g++;
        }
        return g;
    }

    @Test
    void fastGroupIndexEqualsLoopDefinition() {
        SplittableRandom rng = new SplittableRandom(3);
        for (int t = 0; t < 20_000; t++) {
            float bigR = (float) Math.scalb(1 + rng.nextDouble(), rng.nextInt(-60, 60));
            float r = switch (t % 5) {
                case 0 -> bigR;                                                  // equal ranges
                case 1 -> (float) Math.scalb(bigR, -rng.nextInt(0, 12));          // exact powers of two apart
                case 2 -> Math.nextDown((float) Math.scalb(bigR, -rng.nextInt(0, 12)));
                default -> (float) (bigR * Math.pow(rng.nextDouble(), 1 + rng.nextInt(20)));
            };
            int groups = 1 + rng.nextInt(8);
            assertEquals(groupByLoop(bigR, r, groups), QuantSupport.groupIndex(bigR, r, groups),
                    "R=" + bigR + " r=" + r + " G=" + groups);
        }
        assertEquals(3, QuantSupport.groupIndex(1f, 0f, 4));
        assertEquals(3, QuantSupport.groupIndex(1f, Float.MIN_VALUE, 4));
    }

    @Test
    void magicRoundingIsRintHalfEven() {
        SplittableRandom rng = new SplittableRandom(4);
        MemorySegment x = alloc(4L * 4096);
        float[] v = new float[4096];
        for (int i = 0; i < v.length; i++) {
            v[i] = i < 512 ? (i - 256) * 0.5f : (float) (rng.nextDouble() * 254 - 127);   // all ties in [-128, 128)
        }
        x = floats(v);
        MemorySegment q = alloc(4096), g = alloc(1);
        // ROWS axis, one channel, b=8: R = 128 -> multiplier 127/128; check codes against Math.rint of the same v
        ShiftQuant.quantize("x", x, 0, 1, 4096, 4096, ChannelAxis.ROWS, 8, 1, Rounding.NEAREST_EVEN, 0, false, q, 0,
                4096, g, 0);
        float m = QuantSupport.multiplier(127, 128f, 0);
        for (int i = 0; i < v.length; i++) {
            float expect = (float) Math.rint(Math.min(Math.max(v[i] * m, -127), 127));
            assertEquals((int) expect, q.get(BYTE, i), "v=" + v[i]);
        }
    }

    @Test
    void stochasticRoundingIsUnbiasedOverPositionsAndSeeds() {
        int n = 20_001;
        float xv = 0.3337f;
        float[] v = new float[n];
        java.util.Arrays.fill(v, xv);
        v[0] = 1f;   // sets R: s0 = 1/7, one channel (ROWS) so every element has the same scale
        MemorySegment x = floats(v), q = alloc(n), g = alloc(1);
        float s0 = ShiftQuant.quantize("x", x, 0, 1, n, n, ChannelAxis.ROWS, 4, 1, Rounding.STOCHASTIC, 12345, false,
                q, 0, n, g, 0);
        double sum = 0;
        for (int i = 1; i < n; i++) {
            sum += q.get(BYTE, i) * (double) s0;
        }
        double vv = xv * 7.0, p = vv - Math.floor(vv);
        double sigma = s0 * Math.sqrt(p * (1 - p) / (n - 1));
        double mean = sum / (n - 1);
        assertTrue(Math.abs(mean - xv) < 3 * sigma, "mean " + mean + " vs " + xv + ", 3 sigma = " + 3 * sigma);
        // over seeds, one position
        MemorySegment x2 = floats(1f, xv), q2 = alloc(2), g2 = alloc(1);
        double sum2 = 0;
        for (int s = 0; s < 20_000; s++) {
            ShiftQuant.quantize("x", x2, 0, 1, 2, 2, ChannelAxis.ROWS, 4, 1, Rounding.STOCHASTIC, s, false, q2, 0, 2,
                    g2, 0);
            sum2 += q2.get(BYTE, 1) / 7.0;
        }
        double sigma2 = Math.sqrt(p * (1 - p) / 20_000) / 7.0;
        assertTrue(Math.abs(sum2 / 20_000 - xv) < 3 * sigma2, "seed mean " + sum2 / 20_000);
    }

    @Test
    void stochasticRoundingIsReproducibleAndThreadIndependent() {
        SplittableRandom rng = new SplittableRandom(5);
        int rows = 300, cols = 257;
        MemorySegment x = randomFloats(rng, (long) rows * cols);
        int before = Parallel.threads();
        try {
            byte[][] out = new byte[3][];
            int[] threads = {1, 2, 1};
            long[] seeds = {9, 9, 10};
            for (int t = 0; t < 3; t++) {
                Parallel.setThreads(threads[t]);
                MemorySegment q = alloc((long) rows * cols), g = alloc(cols);
                ShiftQuant.quantize("dy", x, 0, rows, cols, cols, ChannelAxis.COLUMNS, 4, 5, Rounding.STOCHASTIC,
                        seeds[t], true, q, 0, cols, g, 0);
                out[t] = toBytes(q, (long) rows * cols);
            }
            assertArrayEquals(out[0], out[1], "same seed, 1 vs 2 threads");
            assertNotEquals(java.util.Arrays.hashCode(out[0]), java.util.Arrays.hashCode(out[2]), "another seed");
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void codesNeverExceedQmaxAndPreShiftsAreExact() {
        SplittableRandom rng = new SplittableRandom(6);
        int rows = 37, cols = 129;
        MemorySegment x = randomFloats(rng, (long) rows * cols);
        for (int bits = 2; bits <= 8; bits++) {
            int qmax = QuantSupport.qmax(bits);
            for (int groups = 1; groups <= 8; groups++) {
                boolean pre = (qmax << (groups - 1)) <= 127;
                for (Rounding rounding : Rounding.values()) {
                    MemorySegment q = alloc((long) rows * cols), g = alloc(cols);
                    ShiftQuant.quantize("x", x, 0, rows, cols, cols, ChannelAxis.COLUMNS, bits, groups, rounding,
                            bits * 31L + groups, pre, q, 0, cols, g, 0);
                    for (int i = 0; i < rows; i++) {
                        for (int k = 0; k < cols; k++) {
                            int code = q.get(BYTE, (long) i * cols + k);
                            int sh = pre ? groups - 1 - g.get(BYTE, k) : 0;
                            assertEquals(0, code % (1 << sh), "pre-shift multiple");
                            assertTrue(Math.abs(code >> sh) <= qmax, "|q| <= qmax: " + code + " b=" + bits);
                        }
                    }
                }
            }
        }
    }

    @Test
    void allZeroAndAllEqualTensors() {
        for (Quantizer qz : new Quantizer[]{VECTOR, SCALAR}) {
            MemorySegment x = alloc(4L * 70), q = bytes(new int[70]), g = alloc(10);
            q.fill((byte) 5);
            float s0 = qz.quantize("zeros", x, 0, 7, 10, 10, ChannelAxis.COLUMNS, 4, 4, Rounding.STOCHASTIC, 1, true,
                    q, 0, 10, g, 0);
            assertEquals(1f, s0);
            for (int i = 0; i < 70; i++) {
                assertEquals(0, q.get(BYTE, i));
            }
            for (int c = 0; c < 10; c++) {
                assertEquals(3, g.get(BYTE, c));
            }
            MemorySegment d = alloc(4L * 70);
            ShiftQuant.dequantize(q, 0, 7, 10, 10, ChannelAxis.COLUMNS, g, 0, s0, 4, true, d, 0, 10);
            for (float f : toFloats(d, 70)) {
                assertEquals(0f, f);
            }
            float[] eq = new float[70];
            java.util.Arrays.fill(eq, -3.7f);
            MemorySegment xe = floats(eq);
            s0 = qz.quantize("equal", xe, 0, 7, 10, 10, ChannelAxis.COLUMNS, 4, 4, Rounding.NEAREST_EVEN, 1, true, q,
                    0, 10, g, 0);
            ShiftQuant.dequantize(q, 0, 7, 10, 10, ChannelAxis.COLUMNS, g, 0, s0, 4, true, d, 0, 10);
            for (int i = 0; i < 70; i++) {
                assertEquals(-7 << 3, q.get(BYTE, i));
                assertEquals(-3.7f, toFloats(d, 70)[i], 1e-6f);
            }
        }
    }

    @Test
    void nonFiniteInputNamesTheTensor() {
        for (Quantizer qz : new Quantizer[]{VECTOR, SCALAR}) {
            for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                for (ChannelAxis axis : ChannelAxis.values()) {
                    float[] v = new float[40];
                    v[27] = bad;
                    MemorySegment q = alloc(40), g = alloc(20);
                    var e = assertThrows(IllegalArgumentException.class, () -> qz.quantize("blocks.3.mlp.dY",
                            floats(v), 0, 2, 20, 20, axis, 4, 4, Rounding.NEAREST_EVEN, 0, true, q, 0, 20, g, 0));
                    assertTrue(e.getMessage().contains("blocks.3.mlp.dY") && e.getMessage().contains("[1, 7]"),
                            e.getMessage());
                }
            }
        }
    }

    @Test
    void containerBoundIsChecked() {
        MemorySegment x = floats(1, 2, 3, 4), q = alloc(4), g = alloc(4);
        var e = assertThrows(IllegalArgumentException.class, () -> ShiftQuant.quantize("x", x, 0, 1, 4, 4,
                ChannelAxis.COLUMNS, 6, 4, Rounding.NEAREST_EVEN, 0, true, q, 0, 4, g, 0));
        assertTrue(e.getMessage().contains("qmax * 2^(G-1) <= 127") && e.getMessage().contains("248"),
                e.getMessage());
        assertEquals(5, QuantSupport.maxContainerGroups(4));
        assertEquals(3, QuantSupport.maxContainerGroups(6));
        assertEquals(1, QuantSupport.maxContainerGroups(8));
        assertThrows(IllegalArgumentException.class, () -> ShiftQuant.quantize("x", x, 0, 1, 4, 4,
                ChannelAxis.COLUMNS, 9, 1, Rounding.NEAREST_EVEN, 0, false, q, 0, 4, g, 0));
    }

    /**
     * The reason ShiftQuant exists (papers.md 1.3): with outlier channels its error is well below per-tensor
     * quantization and within 4x of the per-channel optimum. Two metrics: the plain MSE over all elements (dominated
     * by the outlier channels, which every scheme quantizes with the same coarse scale) and the relative MSE (each
     * channel's MSE divided by its mean square, averaged over channels: the error each channel of the GEMM sees).
     */
    @Test
    void mseWithOutlierChannelsBetweenPerTensorAndPerChannel() {
        SplittableRandom rng = new SplittableRandom(7);
        int rows = 256, cols = 96;
        float[] v = new float[rows * cols];
        double[] chanStd = new double[cols];
        for (int k = 0; k < cols; k++) {
            chanStd[k] = k % 16 == 3 ? 12 + 8 * rng.nextDouble() : 0.5 + rng.nextDouble();   // 6 outlier channels
        }
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                v[i * cols + k] = (float) (rng.nextGaussian() * chanStd[k]);
            }
        }
        MemorySegment x = floats(v);
        for (int bits : new int[]{4, 6, 8}) {
            int groups = 5;
            MemorySegment q = alloc((long) rows * cols), g = alloc(cols), d = alloc(4L * rows * cols);
            float s0 = ShiftQuant.quantize("x", x, 0, rows, cols, cols, ChannelAxis.COLUMNS, bits, groups,
                    Rounding.NEAREST_EVEN, 0, false, q, 0, cols, g, 0);
            ShiftQuant.dequantize(q, 0, rows, cols, cols, ChannelAxis.COLUMNS, g, 0, s0, groups, false, d, 0, cols);
            float[] shift = toFloats(d, v.length);
            float st = ShiftQuant.quantizePerTensor("x", x, 0, rows, cols, cols, bits, Rounding.NEAREST_EVEN, 0, q, 0,
                    cols);
            float[] tensor = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                tensor[i] = q.get(BYTE, i) * st;
            }
            MemorySegment sc = alloc(4L * cols);
            ShiftQuant.quantizePerChannel("x", x, 0, rows, cols, cols, ChannelAxis.COLUMNS, bits,
                    Rounding.NEAREST_EVEN, 0, q, 0, cols, sc, 0);
            ShiftQuant.dequantizePerChannel(q, 0, rows, cols, cols, ChannelAxis.COLUMNS, sc, 0, d, 0, cols);
            float[] channel = toFloats(d, v.length);
            double[] mShift = mse(v, shift, rows, cols), mTensor = mse(v, tensor, rows, cols);
            double[] mChannel = mse(v, channel, rows, cols);
            String what = "b=" + bits + " [mse, relative mse]: shift " + java.util.Arrays.toString(mShift)
                    + ", per-tensor " + java.util.Arrays.toString(mTensor) + ", per-channel "
                    + java.util.Arrays.toString(mChannel);
            assertTrue(mShift[0] < mTensor[0] && mShift[0] < 4 * mChannel[0], what);
            assertTrue(mShift[1] < 0.1 * mTensor[1], what);
            assertTrue(mShift[1] < 4 * mChannel[1] && mChannel[1] <= mShift[1], what);
        }
    }

    /** {plain MSE, mean over channels (columns) of MSE / mean square}. */
    private static double[] mse(float[] a, float[] b, int rows, int cols) {
        double all = 0, rel = 0;
        for (int k = 0; k < cols; k++) {
            double e2 = 0, x2 = 0;
            for (int i = 0; i < rows; i++) {
                double e = (double) a[i * cols + k] - b[i * cols + k];
                e2 += e * e;
                x2 += (double) a[i * cols + k] * a[i * cols + k];
            }
            all += e2;
            rel += e2 / x2;
        }
        return new double[]{all / a.length, rel / cols};
    }

    @Test
    void perChannelVectorEqualsScalar() {
        SplittableRandom rng = new SplittableRandom(8);
        for (int cols : SIZES) {
            int rows = 1 + rng.nextInt(6);
            MemorySegment x = randomFloats(rng, (long) rows * cols);
            for (ChannelAxis axis : ChannelAxis.values()) {
                for (Rounding rounding : Rounding.values()) {
                    int nc = axis == ChannelAxis.COLUMNS ? cols : rows;
                    MemorySegment qv = alloc((long) rows * cols), qs = alloc((long) rows * cols);
                    MemorySegment sv = alloc(4L * nc), ss = alloc(4L * nc);
                    ShiftQuant.quantizePerChannel("x", x, 0, rows, cols, cols, axis, 6, rounding, 3, qv, 0, cols, sv,
                            0);
                    ShiftQuantScalar.quantizePerChannel("x", x, 0, rows, cols, cols, axis, 6, rounding, 3, qs, 0,
                            cols, ss, 0);
                    assertArrayEquals(toBytes(qs, (long) rows * cols), toBytes(qv, (long) rows * cols));
                    assertArrayEquals(toFloats(ss, nc), toFloats(sv, nc));
                }
            }
        }
    }
}
