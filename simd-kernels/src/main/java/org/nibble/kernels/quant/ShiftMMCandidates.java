package org.nibble.kernels.quant;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/**
 * The ShiftMM kernel candidates that lost, kept so {@code ShiftMMBench} can re-measure the choice on new hardware
 * (and tested against the scalar twin like the winner). All compute the forward layout {@code C = A . B^T} (A: m x k,
 * B stored n x k, int8), exact int32, epilogue {@code (float) (acc * alpha)}; same signature as
 * {@link ShiftMM#gemm(ShiftMM.Layout, int, int, int, double, MemorySegment, long, int, MemorySegment, long, int, MemorySegment, long, int)}
 * with the layout fixed.
 * <ul>
 *   <li>{@link #forwardOuter}: candidate (1) through the outer-product route (B transposed while packing into
 *       GemmF32 panels) instead of ShiftMM's dot-product tile.</li>
 *   <li>{@link #forwardInt16}: candidate (2), 16-bit products and 16-bit accumulators: two int8 x int8 products
 *       ({@code 2 * 16129 = 32258 <= 32767}) are summed in short lanes, then widened to int once.</li>
 *   <li>{@link #forwardWiden}: candidate (3), Lucene-style: byte -> short, 16-bit multiply, widen every product to
 *       int and add in int32.</li>
 * </ul>
 * Operands are widened int8 -> int16 once per call (rows padded to a multiple of two short vectors), as ShiftMM
 * widens to float: the comparison is between inner loops, not conversion strategies.
 */
public final class ShiftMMCandidates {
    private ShiftMMCandidates() {
    }

    private static final VectorSpecies<Short> SS = Simd.I16;
    private static final VectorSpecies<Integer> SI = Simd.I32;
    private static final int LS = SS.length();

    /** Candidate (1), outer-product route for the forward layout. */
    public static void forwardOuter(int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                                    MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        ShiftMM.check(false, true, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        if (m > 0 && n > 0) {
            ShiftMM.runOuter(false, true, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, false);
        }
    }

    /** Candidate (2): 16-bit products, 16-bit accumulators widened every two products. */
    public static void forwardInt16(int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                                    MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        run(true, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }

    /** Candidate (3): byte -> short -> int widening of every product (Lucene's PanamaVectorUtilSupport). */
    public static void forwardWiden(int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                                    MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        run(false, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }

    private static final ThreadLocal<short[][]> SCRATCH = ThreadLocal.withInitial(() -> new short[2][0]);

    private static void run(boolean acc16, int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                            MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        ShiftMM.check(false, true, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        if (m == 0 || n == 0) {
            return;
        }
        int kp = (k + 2 * LS - 1) / (2 * LS) * (2 * LS);
        int mp = (m + 1) / 2 * 2, np = (n + 1) / 2 * 2;
        short[][] s = SCRATCH.get();
        if (s[0].length < (long) mp * kp) {
            s[0] = new short[mp * kp];
        }
        if (s[1].length < (long) np * kp) {
            s[1] = new short[np * kp];
        }
        short[] as = s[0], bs = s[1];
        widen(a, aOff, lda, m, mp, k, kp, as);
        widen(b, bOff, ldb, n, np, k, kp, bs);
        Parallel.forRange(0, np / 2, 1, (lo, hi) -> {
            int[] t = new int[4];
            for (int ib = 0; ib < mp; ib += 32) {
                for (int jt = lo; jt < hi; jt++) {
                    for (int i = ib; i < Math.min(mp, ib + 32); i += 2) {
                        if (acc16) {
                            tileInt16(as, i * kp, bs, 2 * jt * kp, kp, t);
                        } else {
                            tileWiden(as, i * kp, bs, 2 * jt * kp, kp, t);
                        }
                        for (int r = 0; r < 2 && i + r < m; r++) {
                            for (int q = 0; q < 2 && 2 * jt + q < n; q++) {
                                c.setAtIndex(FLOAT, cOff + (long) (i + r) * ldc + 2 * jt + q,
                                        (float) (t[2 * r + q] * alpha));
                            }
                        }
                    }
                }
            }
        });
    }

    private static void widen(MemorySegment src, long off, int ld, int rows, int rowsPad, int k, int kp,
                              short[] dst) {
        for (int i = 0; i < rowsPad; i++) {
            for (int p = 0; p < kp; p++) {
                dst[i * kp + p] = i < rows && p < k ? src.get(BYTE, off + (long) i * ld + p) : 0;
            }
        }
    }

    private static ShortVector ld(short[] s, int off) {
        return ShortVector.fromArray(SS, s, off);
    }

    private static IntVector lo(ShortVector v) {
        return (IntVector) v.convert(VectorOperators.S2I, 0);
    }

    private static IntVector hi(ShortVector v) {
        return (IntVector) v.convert(VectorOperators.S2I, 1);
    }

    /** 2 x 2 tile, every 16-bit product widened to int32 and accumulated (8 int accumulators). */
    private static void tileWiden(short[] as, int a0, short[] bs, int b0, int kp, int[] t) {
        IntVector z = IntVector.zero(SI);
        IntVector c00 = z, c00h = z, c01 = z, c01h = z, c10 = z, c10h = z, c11 = z, c11h = z;
        int a1 = a0 + kp, b1 = b0 + kp;
        for (int p = 0; p < kp; p += LS) {
            ShortVector x0 = ld(as, a0 + p), x1 = ld(as, a1 + p), y0 = ld(bs, b0 + p), y1 = ld(bs, b1 + p);
            ShortVector p00 = x0.mul(y0), p01 = x0.mul(y1), p10 = x1.mul(y0), p11 = x1.mul(y1);
            c00 = c00.add(lo(p00));
            c00h = c00h.add(hi(p00));
            c01 = c01.add(lo(p01));
            c01h = c01h.add(hi(p01));
            c10 = c10.add(lo(p10));
            c10h = c10h.add(hi(p10));
            c11 = c11.add(lo(p11));
            c11h = c11h.add(hi(p11));
        }
        t[0] = c00.add(c00h).reduceLanes(VectorOperators.ADD);
        t[1] = c01.add(c01h).reduceLanes(VectorOperators.ADD);
        t[2] = c10.add(c10h).reduceLanes(VectorOperators.ADD);
        t[3] = c11.add(c11h).reduceLanes(VectorOperators.ADD);
    }

    /** 2 x 2 tile, pairs of 16-bit products summed in 16-bit lanes (|sum| <= 32258), then widened. */
    private static void tileInt16(short[] as, int a0, short[] bs, int b0, int kp, int[] t) {
        IntVector z = IntVector.zero(SI);
        IntVector c00 = z, c00h = z, c01 = z, c01h = z, c10 = z, c10h = z, c11 = z, c11h = z;
        int a1 = a0 + kp, b1 = b0 + kp;
        for (int p = 0; p < kp; p += 2 * LS) {
            ShortVector x0 = ld(as, a0 + p), x1 = ld(as, a1 + p), y0 = ld(bs, b0 + p), y1 = ld(bs, b1 + p);
            ShortVector u0 = ld(as, a0 + p + LS), u1 = ld(as, a1 + p + LS), v0 = ld(bs, b0 + p + LS);
            ShortVector v1 = ld(bs, b1 + p + LS);
            ShortVector p00 = x0.mul(y0).add(u0.mul(v0)), p01 = x0.mul(y1).add(u0.mul(v1));
            ShortVector p10 = x1.mul(y0).add(u1.mul(v0)), p11 = x1.mul(y1).add(u1.mul(v1));
            c00 = c00.add(lo(p00));
            c00h = c00h.add(hi(p00));
            c01 = c01.add(lo(p01));
            c01h = c01h.add(hi(p01));
            c10 = c10.add(lo(p10));
            c10h = c10h.add(hi(p10));
            c11 = c11.add(lo(p11));
            c11h = c11h.add(hi(p11));
        }
        t[0] = c00.add(c00h).reduceLanes(VectorOperators.ADD);
        t[1] = c01.add(c01h).reduceLanes(VectorOperators.ADD);
        t[2] = c10.add(c10h).reduceLanes(VectorOperators.ADD);
        t[3] = c11.add(c11h).reduceLanes(VectorOperators.ADD);
    }
}
