package org.nibble.kernels.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.quant.QuantTestSupport.alloc;
import static org.nibble.kernels.quant.QuantTestSupport.randomCodes;
import static org.nibble.kernels.quant.QuantTestSupport.randomFloats;

class QuantPanelsTest {
    /** k around the 4 / 8 / 16 code steps; n around the 8-row blocks and 16-row panels. */
    static final int[] KS = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 100, 384};
    static final int[] NS = {1, 7, 8, 9, 15, 16, 17, 33, 64};
    /** m around the 6-row tiles. */
    static final int[] MS = {1, 2, 5, 6, 7, 12, 13};

    @Test
    void packedCodesReadBackForEveryFormatAndTail() {
        SplittableRandom rng = new SplittableRandom(5);
        for (PackedFormat f : PackedFormat.values()) {
            for (int k : KS) {
                for (int n : NS) {
                    int ldc = k + 2;
                    MemorySegment codes = randomCodes(rng, (long) n * ldc, f.qmax());
                    codes.set(BYTE, 0, (byte) f.qmax());
                    codes.set(BYTE, (long) (n - 1) * ldc + k - 1, (byte) -f.qmax());
                    MemorySegment packed = alloc(QuantPanels.bytes(f, n, k) + 5);
                    packed.fill((byte) -1);    // stale bytes must not leak into the codes
                    QuantPanels.pack(f, n, k, codes, 0, ldc, packed, 5);
                    for (int r = 0; r < QuantPanels.panels(n) * QuantPanels.PANEL_ROWS; r++) {
                        for (int kk = 0; kk < QuantPanels.paddedK(k); kk++) {
                            int expected = r < n && kk < k ? codes.get(BYTE, (long) r * ldc + kk) : 0;
                            assertEquals(expected, QuantPanels.code(f, k, packed, 5, r, kk),
                                    f + " n=" + n + " k=" + k + " r=" + r + " kk=" + kk);
                        }
                    }
                }
            }
        }
        // bytes = panels x 16 rows x padded k x bits / 8
        assertEquals(16 * 16, QuantPanels.bytes(PackedFormat.Q8, 16, 16));
        assertEquals(2 * 16 * 32 / 2, QuantPanels.bytes(PackedFormat.Q4, 17, 17));
        assertEquals(16 * 16 * 6 / 8, QuantPanels.bytes(PackedFormat.Q6, 3, 16));
    }

    @Test
    void packRejectsCodesOutOfRange() {
        MemorySegment codes = QuantTestSupport.bytes(0, 8, 0, 0);
        var e = assertThrows(IllegalArgumentException.class, () -> QuantPanels.pack(PackedFormat.Q4, 1, 4, codes, 0,
                4, alloc(QuantPanels.bytes(PackedFormat.Q4, 1, 4)), 0));
        assertTrue(e.getMessage().contains("codes[0][1]") && e.getMessage().contains("8"), e.getMessage());
    }

    @Test
    void gemmEqualsScalarTwinAndDequantizedProduct() {
        SplittableRandom rng = new SplittableRandom(9);
        for (PackedFormat f : PackedFormat.values()) {
            for (int k : KS) {
                for (int n : NS) {
                    for (int m : MS) {
                        check(rng, f, m, n, k, rng.nextBoolean());
                    }
                }
            }
        }
    }

    private static void check(SplittableRandom rng, PackedFormat f, int m, int n, int k, boolean withBias) {
        int blocks = (n + 7) / 8, ldx = k + 3, ldy = n + 2;
        MemorySegment codes = randomCodes(rng, (long) n * k, f.qmax());
        MemorySegment panels = alloc(QuantPanels.bytes(f, n, k) + 3);
        QuantPanels.pack(f, n, k, codes, 0, k, panels, 3);
        MemorySegment g = alloc((long) blocks * k + 1);
        for (long i = 0; i < (long) blocks * k; i++) {
            g.set(BYTE, 1 + i, (byte) rng.nextInt(8));
        }
        MemorySegment scale = randomFloats(rng, n + 1), bias = withBias ? randomFloats(rng, n + 2) : null;
        MemorySegment x = randomFloats(rng, 1 + (long) m * ldx);
        MemorySegment y = alloc(4 * (1 + (long) m * ldy)), ys = alloc(4 * (1 + (long) m * ldy));
        y.fill((byte) 0x7f);    // NaN-free sentinel pattern outside the written cells
        ys.fill((byte) 0x7f);
        QuantPanels.gemm(f, m, n, k, panels, 3, g, 1, scale, 1, bias, 2, x, 1, ldx, y, 1, ldy);
        QuantPanelsScalar.gemm(f, m, n, k, panels, 3, g, 1, scale, 1, bias, 2, x, 1, ldx, ys, 1, ldy);
        String what = f + " m=" + m + " n=" + n + " k=" + k + " bias=" + withBias;
        for (int i = 0; i < m; i++) {
            for (int r = 0; r < n; r++) {
                // the product from the codes, independent of both kernels
                double acc = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    double w = codes.get(BYTE, (long) r * k + kk)
                            * Math.pow(2, -g.get(BYTE, 1 + (long) (r / 8) * k + kk));
                    double t = w * x.getAtIndex(FLOAT, 1 + (long) i * ldx + kk);
                    acc += t;
                    mag += Math.abs(t);
                }
                float sc = scale.getAtIndex(FLOAT, 1 + r);
                double ref = acc * sc + (withBias ? bias.getAtIndex(FLOAT, 2 + r) : 0);
                double tol = 1e-5 + (k + 2) * 0x1p-23 * mag * Math.abs(sc);
                long at = 1 + (long) i * ldy + r;
                assertEquals(ref, y.getAtIndex(FLOAT, at), tol, what + " i=" + i + " r=" + r);
                assertEquals(ref, ys.getAtIndex(FLOAT, at), tol, what + " scalar i=" + i + " r=" + r);
            }
            for (int r = n; r < ldy; r++) {
                assertEquals(0x7f7f7f7f, y.get(org.nibble.kernels.Simd.INT, 4 * (1 + (long) i * ldy + r)),
                        what + ": wrote outside row " + i);
            }
        }
    }

    @Test
    void decodeEqualsScalarTwinAndTheScaledCodes() {
        SplittableRandom rng = new SplittableRandom(13);
        for (PackedFormat f : PackedFormat.values()) {
            for (int k : KS) {
                for (int n : NS) {
                    MemorySegment codes = randomCodes(rng, (long) n * k, f.qmax());
                    MemorySegment panels = alloc(QuantPanels.bytes(f, n, k));
                    QuantPanels.pack(f, n, k, codes, 0, k, panels, 0);
                    int blocks = (n + 7) / 8;
                    MemorySegment g = alloc((long) blocks * k);
                    for (long i = 0; i < (long) blocks * k; i++) {
                        g.set(BYTE, i, (byte) rng.nextInt(8));
                    }
                    MemorySegment scale = randomFloats(rng, n);
                    for (int panel = 0; panel < QuantPanels.panels(n); panel++) {
                        for (int ldd : new int[]{16, 40}) {
                            // row stride ldd at offset 1: every value outside the panel's 16 per row stays NaN
                            int size = 1 + Math.max(0, k - 1) * ldd + 16 + 1;
                            float[] v = new float[size], sc = new float[size];
                            java.util.Arrays.fill(v, Float.NaN);
                            java.util.Arrays.fill(sc, Float.NaN);
                            QuantPanels.decode(f, n, k, panels, 0, g, 0, scale, 0, panel, v, 1, ldd);
                            QuantPanelsScalar.decode(f, n, k, panels, 0, g, 0, scale, 0, panel, sc, 1, ldd);
                            int written = 0;
                            for (int p = 0; p < k; p++) {
                                for (int j = 0; j < 16; j++) {
                                    int r = panel * 16 + j;
                                    float expected = r >= n ? 0f : (float) (codes.get(BYTE, (long) r * k + p)
                                            * Math.pow(2, -g.get(BYTE, (long) (r / 8) * k + p))
                                            * scale.getAtIndex(FLOAT, r));
                                    String what = f + " n=" + n + " k=" + k + " ldd=" + ldd + " r=" + r + " p=" + p;
                                    assertEquals(expected, v[1 + p * ldd + j], 0f, what);
                                    assertEquals(expected, sc[1 + p * ldd + j], 0f, what + " scalar");
                                    written++;
                                }
                            }
                            int untouched = 0;
                            for (int i = 0; i < size; i++) {
                                untouched += Float.isNaN(v[i]) && Float.isNaN(sc[i]) ? 1 : 0;
                            }
                            assertEquals(size - written, untouched, "values outside the panel untouched, ldd=" + ldd);
                        }
                    }
                }
            }
        }
    }

    @Test
    void decodeNamesAShortRowStrideAndAShortDestination() {
        MemorySegment p = alloc(QuantPanels.bytes(PackedFormat.Q8, 16, 4));
        MemorySegment g = alloc(2 * 4), scale = alloc(4 * 16);
        var e = assertThrows(IllegalArgumentException.class,
                () -> QuantPanels.decode(PackedFormat.Q8, 16, 4, p, 0, g, 0, scale, 0, 0, new float[64], 0, 8));
        assertEquals("ldd: expected a row stride >= 16, got 8", e.getMessage());
        var e2 = assertThrows(IndexOutOfBoundsException.class,
                () -> QuantPanels.decode(PackedFormat.Q8, 16, 4, p, 0, g, 0, scale, 0, 0, new float[3 * 32 + 15], 0,
                        32));
        assertTrue(e2.getMessage().startsWith("dst: elements [0, 112)"), e2.getMessage());
    }

    @Test
    void gemmNamesTheWrongArgument() {
        MemorySegment p = alloc(QuantPanels.bytes(PackedFormat.Q8, 16, 16));
        RuntimeException e = assertThrows(IndexOutOfBoundsException.class, () -> QuantPanels.gemm(PackedFormat.Q8,
                2, 16, 16, p, 0, alloc(32), 0, alloc(64), 0, null, 0, alloc(4 * 31), 0, 16, alloc(4 * 32), 0, 16));
        assertTrue(e.getMessage().startsWith("x:"), e.getMessage());
        e = assertThrows(IndexOutOfBoundsException.class, () -> QuantPanels.gemm(PackedFormat.Q8, 2, 16, 16, p, 0,
                alloc(31), 0, alloc(64), 0, null, 0, alloc(4 * 32), 0, 16, alloc(4 * 32), 0, 16));
        assertTrue(e.getMessage().startsWith("groupIds:"), e.getMessage());
    }
    /**
     * Once compiled, decode boxes no vector for any format, the formats run one after the other in one JVM: a decode
     * helper that returns a vector, compiled on its own first, is not inlined by C2 and boxes every vector (4160
     * bytes per call here with the old helpers, 42 MB per Q6 MiniLM forward; whether C2 compiles the helper first
     * depends on timing: this test caught the old helpers in 2 of 7 runs). A panel of k = 64 decodes 128 vectors,
     * so under 1 KB per call means none is boxed (after the whole module's tests, C2 sometimes leaves 192 bytes per
     * call, independent of k). Calls repeat until the per-call allocation is that low or 30 s pass per format.
     */
    @Test
    void compiledDecodeBoxesNoVector() {
        if (org.nibble.kernels.Simd.F32_LANES < 8) {
            return; // the vector path needs 8 float lanes; narrower vectors run the scalar twin
        }
        SplittableRandom rng = new SplittableRandom(21);
        var threadBean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        int n = 32, k = 64;
        float[] dst = new float[k * QuantPanels.PANEL_ROWS];
        for (PackedFormat f : new PackedFormat[]{PackedFormat.Q6, PackedFormat.Q4, PackedFormat.Q8}) {
            MemorySegment panels = alloc(QuantPanels.bytes(f, n, k));
            QuantPanels.pack(f, n, k, randomCodes(rng, (long) n * k, f.qmax()), 0, k, panels, 0);
            MemorySegment g = alloc((long) (n / 8) * k), scale = randomFloats(rng, n);
            double perCall = Double.NaN;
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (System.nanoTime() < deadline) {
                long before = threadBean.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 2000; i++) {
                    QuantPanels.decode(f, n, k, panels, 0, g, 0, scale, 0, i & 1, dst, 0);
                }
                perCall = (threadBean.getCurrentThreadAllocatedBytes() - before) / 2000.0;
                if (perCall < 1024) {
                    break;
                }
            }
            assertTrue(perCall < 1024, f + ": " + perCall + " bytes allocated per decode call after 30 s of calls");
        }
    }
}
