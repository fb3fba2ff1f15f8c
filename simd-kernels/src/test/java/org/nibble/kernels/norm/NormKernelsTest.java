package org.nibble.kernels.norm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.nibble.kernels.Simd.FLOAT;

/** Vector kernels of the norm package against their scalar twins over every tail width and unaligned offsets. */
class NormKernelsTest {
    static final int[] WIDTHS = {1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1024, 4099};
    static final int ROWS = 3;

    static MemorySegment floats(long n) {
        return Arena.ofAuto().allocate(4 * Math.max(1, n), 64);
    }

    static MemorySegment randomFloats(SplittableRandom rng, long n, double mean, double std) {
        MemorySegment s = floats(n);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(FLOAT, i, (float) (mean + std * rng.nextGaussian()));
        }
        return s;
    }

    static MemorySegment copy(MemorySegment s) {
        MemorySegment c = Arena.ofAuto().allocate(s.byteSize(), 64);
        c.copyFrom(s);
        return c;
    }

    /** |a - b| <= tol * (1 + scale) element by element over n floats at offset off. */
    static void assertClose(String what, MemorySegment a, MemorySegment b, long off, long n, double tol,
                            double scale) {
        for (long i = off; i < off + n; i++) {
            float x = a.getAtIndex(FLOAT, i), y = b.getAtIndex(FLOAT, i);
            if (!(Math.abs((double) x - y) <= tol * (1 + scale))) {
                fail(what + "[" + i + "]: vector " + x + " vs scalar " + y + " (tol " + tol * (1 + scale) + ")");
            }
        }
    }

    static double maxAbs(MemorySegment s, long n) {
        double m = 0;
        for (long i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(s.getAtIndex(FLOAT, i)));
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(NormKind.class)
    void rowNormMatchesTwin(NormKind kind) {
        SplittableRandom rng = new SplittableRandom(kind.ordinal());
        for (int w : WIDTHS) {
            for (int variant = 0; variant < 3; variant++) { // 0: gain+bias, 1: gain, 2: none
                int off = 1 + (w % 3), ld = w + 5, rows = w == 1000 ? 70 : ROWS; // 70 x 1000: several chunks
                long n = off + (long) rows * ld;
                MemorySegment x = randomFloats(rng, n, 0.7, 2.0);
                MemorySegment gamma = variant < 2 ? randomFloats(rng, w + 2, 1, 0.3) : null;
                MemorySegment beta = variant == 0 ? randomFloats(rng, w + 2, 0, 0.3) : null;
                MemorySegment y1 = floats(n), y2 = floats(n), st1 = floats(rows + 1), st2 = floats(rows + 1);
                MemorySegment r1 = floats(rows + 1), r2 = floats(rows + 1);
                RowNorm.forward(kind, rows, w, 1e-5f, x, off, ld, gamma, 2, beta, 1, y1, off, ld, st1, 1, r1, 1);
                RowNormScalar.forward(kind, rows, w, 1e-5f, x, off, ld, gamma, 2, beta, 1, y2, off, ld, st2, 1, r2, 1);
                String at = kind + " w=" + w + " variant=" + variant;
                assertClose(at + " y", y1, y2, 0, n, 2e-5, 4 * Math.sqrt(w) * 1e-1);
                assertClose(at + " rstd", r1, r2, 1, rows, 1e-5, maxAbs(r2, rows + 1));
                if (kind.savesStat()) {
                    assertClose(at + " stat", st1, st2, 1, rows, 1e-5, Math.sqrt(w) * maxAbs(st2, rows + 1));
                }
                MemorySegment dy = randomFloats(rng, n, 0, 1);
                MemorySegment dx1 = floats(n), dx2 = floats(n);
                MemorySegment dg1 = gamma == null ? null : randomFloats(rng, w, 0, 1);
                MemorySegment dg2 = dg1 == null ? null : copy(dg1);
                MemorySegment db1 = beta == null ? null : randomFloats(rng, w, 0, 1);
                MemorySegment db2 = db1 == null ? null : copy(db1);
                RowNorm.backward(kind, rows, w, x, off, ld, gamma, 2, st2, 1, r2, 1, dy, off, ld, dx1, off, ld,
                        dg1, 0, db1, 0);
                RowNormScalar.backward(kind, rows, w, x, off, ld, gamma, 2, st2, 1, r2, 1, dy, off, ld, dx2, off, ld,
                        dg2, 0, db2, 0);
                // scale r·|g|: dx is a difference of terms of that size (width 1: exactly 0 up to rounding)
                double gmax = maxAbs(dy, n) * (gamma == null ? 1 : maxAbs(gamma, w + 2));
                assertClose(at + " dx", dx1, dx2, 0, n, 1e-4, maxAbs(dx2, n) + maxAbs(r2, rows + 1) * gmax * 1e-2);
                if (dg1 != null) {
                    assertClose(at + " dgamma", dg1, dg2, 0, w, 1e-5, rows * 3);
                }
                if (db1 != null) {
                    assertClose(at + " dbeta", db1, db2, 0, w, 1e-5, rows * 3);
                }
            }
        }
    }

    @Test
    void rowNormRejectsNonFiniteRowsAndBadArguments() {
        for (NormKind kind : NormKind.values()) {
            MemorySegment x = randomFloats(new SplittableRandom(1), 3 * 16, 0, 1);
            x.setAtIndex(FLOAT, 2 * 16 + 5, Float.NaN);
            MemorySegment y = floats(48), r = floats(3), st = floats(3);
            ArithmeticException e = assertThrows(ArithmeticException.class,
                    () -> RowNorm.forward(kind, 3, 16, 1e-5f, x, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            assertTrue(e.getMessage().contains(kind.label()) && e.getMessage().contains("row 2"), e.getMessage());
            assertThrows(ArithmeticException.class, () -> RowNormScalar.forward(kind, 3, 16, 1e-5f, x, 0, 16, null,
                    0, null, 0, y, 0, 16, st, 0, r, 0));
            x.setAtIndex(FLOAT, 2 * 16 + 5, Float.POSITIVE_INFINITY);
            assertThrows(ArithmeticException.class,
                    () -> RowNorm.forward(kind, 3, 16, 1e-5f, x, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            IllegalArgumentException w = assertThrows(IllegalArgumentException.class,
                    () -> RowNorm.forward(kind, 3, 0, 1e-5f, x, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            assertTrue(w.getMessage().contains("width"), w.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> RowNorm.forward(kind, 3, 16, 1e-5f, x, 0, 8, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> RowNorm.forward(kind, 4, 16, 1e-5f, x, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> RowNorm.forward(kind, 3, 16, 0f, x, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0));
            // NaN gradient
            MemorySegment good = randomFloats(new SplittableRandom(2), 48, 0, 1);
            RowNorm.forward(kind, 3, 16, 1e-5f, good, 0, 16, null, 0, null, 0, y, 0, 16, st, 0, r, 0);
            MemorySegment dy = randomFloats(new SplittableRandom(3), 48, 0, 1);
            dy.setAtIndex(FLOAT, 17, Float.NaN);
            ArithmeticException g = assertThrows(ArithmeticException.class, () -> RowNorm.backward(kind, 3, 16, good,
                    0, 16, null, 0, st, 0, r, 0, dy, 0, 16, floats(48), 0, 16, null, 0, null, 0));
            assertTrue(g.getMessage().contains("row 1"), g.getMessage());
        }
    }

    @Test
    void constantRowsNormalizeToZeroThroughEpsilon() {
        for (NormKind kind : new NormKind[]{NormKind.LAYERNORM, NormKind.L1}) {
            MemorySegment x = floats(64), y = floats(64), st = floats(1), r = floats(1), dx = floats(64);
            for (int i = 0; i < 64; i++) {
                x.setAtIndex(FLOAT, i, 3.25f);
            }
            RowNorm.forward(kind, 1, 64, 1e-5f, x, 0, 64, null, 0, null, 0, y, 0, 64, st, 0, r, 0);
            RowNorm.backward(kind, 1, 64, x, 0, 64, null, 0, st, 0, r, 0, x, 0, 64, dx, 0, 64, null, 0, null, 0);
            for (int i = 0; i < 64; i++) {
                assertEquals(0f, y.getAtIndex(FLOAT, i), 0f, kind + " y");
                assertTrue(Float.isFinite(dx.getAtIndex(FLOAT, i)), kind + " dx finite");
            }
        }
    }

    // ------------------------------------------------------------------ integer L1

    static MemorySegment randomCodes(SplittableRandom rng, long n, int spread) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(1, n), 64);
        for (long i = 0; i < n; i++) {
            int v = (int) Math.round(spread * rng.nextGaussian()) + 9;
            s.set(org.nibble.kernels.Simd.BYTE, i, (byte) Math.max(-128, Math.min(127, v)));
        }
        return s;
    }

    static byte[] bytes(MemorySegment s) {
        return s.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static int[] bits(MemorySegment s) {
        return s.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
    }

    @Test
    void intL1EqualsTwinExactly() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int w : WIDTHS) {
            for (boolean centred : new boolean[]{true, false}) {
                int off = 1 + (w % 5), ld = w + 3, rows = w == 1000 ? 40 : 4;
                long n = off + (long) rows * ld;
                MemorySegment q = randomCodes(rng, n, 60);
                if (w > 3) { // one constant row and one saturated row
                    for (int i = 0; i < w; i++) {
                        q.set(org.nibble.kernels.Simd.BYTE, off + i, (byte) 5);
                        q.set(org.nibble.kernels.Simd.BYTE, off + ld + i, (byte) (i % 2 == 0 ? -128 : 127));
                    }
                }
                MemorySegment s = floats(rows);
                for (int r = 0; r < rows; r++) {
                    s.setAtIndex(FLOAT, r, 0.01f + 0.003f * r);
                }
                MemorySegment o1 = Arena.ofAuto().allocate(n), o2 = Arena.ofAuto().allocate(n);
                MemorySegment rs1 = floats(rows), rs2 = floats(rows), r1 = floats(rows), r2 = floats(rows);
                float outScale = 8f / 127;
                IntL1Norm.forward(rows, w, centred, 1e-5f, q, off, ld, s, 0, outScale, o1, off, ld, rs1, 0, r1, 0);
                IntL1NormScalar.forward(rows, w, centred, 1e-5f, q, off, ld, s, 0, outScale, o2, off, ld, rs2, 0, r2,
                        0);
                String at = "w=" + w + " centred=" + centred;
                assertArrayEquals(bytes(o2), bytes(o1), at + " codes");
                assertArrayEquals(bits(rs2), bits(rs1), at + " row sums");
                assertArrayEquals(bits(r2), bits(r1), at + " rstd bits");
                MemorySegment gq = randomCodes(rng, n, 40), gs = floats(rows);
                for (int r = 0; r < rows; r++) {
                    gs.setAtIndex(FLOAT, r, 0.002f * (r + 1));
                }
                MemorySegment dx1 = floats(n), dx2 = floats(n);
                IntL1Norm.backward(rows, w, centred, q, off, ld, rs1, 0, r1, 0, o1, off, ld, outScale, gq, off, ld, gs,
                        0, dx1, off, ld);
                IntL1NormScalar.backward(rows, w, centred, q, off, ld, rs1, 0, r1, 0, o1, off, ld, outScale, gq, off,
                        ld, gs, 0, dx2, off, ld);
                assertArrayEquals(bits(dx2), bits(dx1), at + " dx bits");
            }
        }
    }

    /** The integer forward stays within half an output step (+ input quantization error) of the float L1 norm. */
    @Test
    void intL1WithinQuantizationErrorOfFloatL1() {
        SplittableRandom rng = new SplittableRandom(11);
        for (int w : new int[]{7, 64, 384, 1000}) {
            int rows = 4;
            MemorySegment q = randomCodes(rng, (long) rows * w, 30);
            float scale = 0.05f;
            MemorySegment x = floats((long) rows * w);
            for (int i = 0; i < rows * w; i++) {
                x.setAtIndex(FLOAT, i, scale * q.get(org.nibble.kernels.Simd.BYTE, i));
            }
            MemorySegment s = floats(rows);
            for (int r = 0; r < rows; r++) {
                s.setAtIndex(FLOAT, r, scale);
            }
            MemorySegment codes = Arena.ofAuto().allocate((long) rows * w), rs = floats(rows), rr = floats(rows);
            float outScale = 8f / 127;
            IntL1Norm.forward(rows, w, true, 1e-5f, q, 0, w, s, 0, outScale, codes, 0, w, rs, 0, rr, 0);
            MemorySegment y = floats((long) rows * w), st = floats(rows), r2 = floats(rows);
            RowNormScalar.forward(NormKind.L1, rows, w, 1e-5f, x, 0, w, null, 0, null, 0, y, 0, w, st, 0, r2, 0);
            for (int i = 0; i < rows * w; i++) {
                double ref = y.getAtIndex(FLOAT, i);
                double got = outScale * codes.get(org.nibble.kernels.Simd.BYTE, i);
                double clamped = Math.max(-127 * outScale, Math.min(127 * outScale, ref));
                assertEquals(clamped, got, 0.5 * outScale + 1e-4 * Math.abs(ref), "w=" + w + " i=" + i);
            }
            for (int r = 0; r < rows; r++) {
                assertEquals(r2.getAtIndex(FLOAT, r), rr.getAtIndex(FLOAT, r), 1e-4 * r2.getAtIndex(FLOAT, r));
            }
        }
    }

    @Test
    void intL1RejectsBadArguments() {
        MemorySegment q = randomCodes(new SplittableRandom(1), 32, 10), s = floats(2), o = Arena.ofAuto().allocate(32);
        s.setAtIndex(FLOAT, 0, 1f);
        s.setAtIndex(FLOAT, 1, 0f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IntL1Norm.forward(2, 16,
                true, 1e-5f, q, 0, 16, s, 0, 0.1f, o, 0, 16, floats(2), 0, floats(2), 0));
        assertTrue(e.getMessage().contains("inScale[1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> IntL1Norm.forward(2, 0, true, 1e-5f, q, 0, 16, s, 0, 0.1f,
                o, 0, 16, floats(2), 0, floats(2), 0));
        assertThrows(IndexOutOfBoundsException.class, () -> IntL1Norm.forward(3, 16, true, 1e-5f, q, 0, 16, s, 0,
                0.1f, o, 0, 16, floats(3), 0, floats(3), 0));
    }

    // ------------------------------------------------------------------ DyT, BHyT

    @Test
    void dytMatchesTwin() {
        SplittableRandom rng = new SplittableRandom(5);
        for (int w : WIDTHS) {
            for (int variant = 0; variant < 2; variant++) {
                int off = 2, ld = w + 1, rows = w == 1000 ? 70 : ROWS;
                long n = off + (long) rows * ld;
                MemorySegment x = randomFloats(rng, n, 0.2, 3);
                MemorySegment gamma = variant == 0 ? randomFloats(rng, w, 1, 0.3) : null;
                MemorySegment beta = variant == 0 ? randomFloats(rng, w, 0, 0.3) : null;
                MemorySegment y1 = floats(n), y2 = floats(n);
                DyT.forward(rows, w, 0.5f, x, off, ld, gamma, 0, beta, 0, y1, off, ld);
                DyTScalar.forward(rows, w, 0.5f, x, off, ld, gamma, 0, beta, 0, y2, off, ld);
                assertClose("dyt y w=" + w, y1, y2, 0, n, 1e-6, 2);
                MemorySegment dy = randomFloats(rng, n, 0, 1), dx1 = floats(n), dx2 = floats(n);
                MemorySegment dg1 = gamma == null ? null : floats(w), dg2 = gamma == null ? null : floats(w);
                MemorySegment db1 = floats(w), db2 = floats(w), da1 = floats(1), da2 = floats(1);
                DyT.backward(rows, w, 0.5f, x, off, ld, gamma, 0, dy, off, ld, dx1, off, ld, dg1, 0, db1, 0, da1, 0);
                DyTScalar.backward(rows, w, 0.5f, x, off, ld, gamma, 0, dy, off, ld, dx2, off, ld, dg2, 0, db2, 0,
                        da2, 0);
                assertClose("dyt dx w=" + w, dx1, dx2, 0, n, 1e-6, 4);
                if (dg1 != null) {
                    assertClose("dyt dgamma w=" + w, dg1, dg2, 0, w, 1e-5, rows * 3);
                }
                assertClose("dyt dbeta w=" + w, db1, db2, 0, w, 1e-5, rows * 3);
                assertClose("dyt dalpha w=" + w, da1, da2, 0, 1, 1e-5, Math.sqrt(rows * w) * 10);
            }
        }
    }

    @Test
    void bhytMatchesTwinInBothModes() {
        SplittableRandom rng = new SplittableRandom(6);
        for (int w : WIDTHS) {
            for (boolean exact : new boolean[]{true, false}) {
                int off = 3, ld = w + 2, rows = w == 1000 ? 70 : ROWS;
                long n = off + (long) rows * ld;
                MemorySegment x = randomFloats(rng, n, 0.1, 2);
                MemorySegment gamma = randomFloats(rng, w, 1, 0.3);
                MemorySegment v1 = floats(rows), v2 = floats(rows);
                if (!exact) {
                    for (int r = 0; r < rows; r++) {
                        v1.setAtIndex(FLOAT, r, 2f + r);
                        v2.setAtIndex(FLOAT, r, 2f + r);
                    }
                }
                MemorySegment y1 = floats(n), y2 = floats(n);
                BHyT.forward(rows, w, 2f, 10f, 1e-6f, exact, x, off, ld, gamma, 0, null, 0, y1, off, ld, v1, 0);
                BHyTScalar.forward(rows, w, 2f, 10f, 1e-6f, exact, x, off, ld, gamma, 0, null, 0, y2, off, ld, v2, 0);
                assertClose("bhyt y w=" + w, y1, y2, 0, n, 1e-6, 2);
                assertClose("bhyt var w=" + w, v1, v2, 0, rows, 1e-5, 4);
                MemorySegment dy = randomFloats(rng, n, 0, 1), dx1 = floats(n), dx2 = floats(n);
                MemorySegment dg1 = floats(w), dg2 = floats(w), dl1 = floats(1), dl2 = floats(1);
                MemorySegment dv1 = floats(rows), dv2 = floats(rows);
                BHyT.backward(rows, w, 2f, 10f, 1e-6f, exact, x, off, ld, gamma, 0, v2, 0, dy, off, ld, dx1, off, ld,
                        dg1, 0, null, 0, dl1, 0, dv1, 0);
                BHyTScalar.backward(rows, w, 2f, 10f, 1e-6f, exact, x, off, ld, gamma, 0, v2, 0, dy, off, ld, dx2, off,
                        ld, dg2, 0, null, 0, dl2, 0, dv2, 0);
                assertClose("bhyt dx w=" + w, dx1, dx2, 0, n, 1e-5, maxAbs(dx2, n));
                assertClose("bhyt dgamma w=" + w, dg1, dg2, 0, w, 1e-5, rows * 3);
                assertClose("bhyt dlambda w=" + w, dl1, dl2, 0, 1, 1e-5, Math.sqrt(rows * w));
                assertClose("bhyt dvar w=" + w, dv1, dv2, 0, rows, 1e-5, Math.sqrt(w));
            }
        }
    }

    @Test
    void tanhNormsStayBoundedForHugeOutliersAndRejectNaN() {
        int w = 64;
        MemorySegment x = randomFloats(new SplittableRandom(9), w, 0, 1);
        x.setAtIndex(FLOAT, 3, 1e6f);
        x.setAtIndex(FLOAT, 9, -3e7f);
        x.setAtIndex(FLOAT, 11, Float.POSITIVE_INFINITY);
        MemorySegment y = floats(w);
        DyT.forward(1, w, 0.5f, x, 0, w, null, 0, null, 0, y, 0, w);
        for (int i = 0; i < w; i++) {
            assertTrue(Math.abs(y.getAtIndex(FLOAT, i)) <= 1f, "dyt bounded at " + i);
        }
        MemorySegment dx = floats(w), da = floats(1), dy = randomFloats(new SplittableRandom(1), w, 0, 1);
        DyT.backward(1, w, 0.5f, x, 0, w, null, 0, dy, 0, w, dx, 0, w, null, 0, null, 0, da, 0);
        assertTrue(Float.isFinite(da.getAtIndex(FLOAT, 0)), "dyt dalpha finite with an infinite input");
        x.setAtIndex(FLOAT, 11, 5e8f);
        MemorySegment v = floats(1);
        BHyT.forward(1, w, 3f, 10f, 1e-6f, true, x, 0, w, null, 0, null, 0, y, 0, w, v, 0);
        for (int i = 0; i < w; i++) {
            assertTrue(Math.abs(y.getAtIndex(FLOAT, i)) <= 1f, "bhyt bounded at " + i);
        }
        x.setAtIndex(FLOAT, 5, Float.NaN);
        ArithmeticException e = assertThrows(ArithmeticException.class,
                () -> DyT.forward(1, w, 0.5f, x, 0, w, null, 0, null, 0, y, 0, w));
        assertTrue(e.getMessage().contains("dyt") && e.getMessage().contains("row 0"), e.getMessage());
        assertThrows(ArithmeticException.class,
                () -> BHyT.forward(1, w, 3f, 10f, 1e-6f, true, x, 0, w, null, 0, null, 0, y, 0, w, v, 0));
    }

    @Test
    void approxVarianceAddsTheAttentionTerm() {
        MemorySegment v1 = floats(2), v2 = floats(2);
        v1.setAtIndex(FLOAT, 0, 1f);
        v1.setAtIndex(FLOAT, 1, 4f);
        BHyT.approxVariance(2, v1, 0, 0.5f, 2f, 10f, v2, 0);
        assertEquals(1f + 0.5f * 4 / 100, v2.getAtIndex(FLOAT, 0), 1e-7);
        assertEquals(4f + 0.5f * 4 / 100, v2.getAtIndex(FLOAT, 1), 1e-6);
    }
}
