package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/**
 * Scalar reference twin of {@link ShiftMM}: same signatures, a plain triple loop with an {@code int} accumulator (the
 * exact int32 result every vector path must reproduce bit for bit), and the float epilogue
 * {@code c = (float) (acc * alpha)} (alpha a double). Also the literal shift-per-product definition of papers.md 1.4 (option 1), the
 * reference the pre-shifted GEMM is tested against.
 */
public final class ShiftMMScalar {
    private ShiftMMScalar() {
    }

    /** See {@link ShiftMM#gemm(ShiftMM.Layout, int, int, int, float, MemorySegment, long, int, MemorySegment, long, int, MemorySegment, long, int)}. */
    public static void gemm(ShiftMM.Layout layout, int m, int n, int k, double alpha, MemorySegment a, long aOff,
                            int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        gemm(layout.transA, layout.transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }

    /** See {@link ShiftMM#gemm(boolean, boolean, int, int, int, float, MemorySegment, long, int, MemorySegment, long, int, MemorySegment, long, int)}. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a,
                            long aOff, int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff,
                            int ldc) {
        ShiftMM.check(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                c.setAtIndex(FLOAT, cOff + (long) i * ldc + j,
                        (float) (dot(transA, transB, i, j, k, a, aOff, lda, b, bOff, ldb) * alpha));
            }
        }
    }

    /** See {@link ShiftMM#gemmInt}. */
    public static void gemmInt(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, long aOff,
                               int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        ShiftMM.check(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                c.setAtIndex(INT, cOff + (long) i * ldc + j, dot(transA, transB, i, j, k, a, aOff, lda, b, bOff, ldb));
            }
        }
    }

    private static int dot(boolean transA, boolean transB, int i, int j, int k, MemorySegment a, long aOff, int lda,
                           MemorySegment b, long bOff, int ldb) {
        int acc = 0;
        for (int p = 0; p < k; p++) {
            byte av = a.get(BYTE, aOff + (transA ? (long) p * lda + i : (long) i * lda + p));
            byte bv = b.get(BYTE, bOff + (transB ? (long) j * ldb + p : (long) p * ldb + j));
            acc += av * bv;
        }
        return acc;
    }

    /**
     * The literal ShiftMM of papers.md 1.4 (option 1, "multiply, shift, accumulate"):
     * {@code acc[i][j] = sum_p (qA[i][p] * qB[p][j]) << ((GA-1-gA[p]) + (GB-1-gB[p]))} on plain (unshifted) codes,
     * A row-major {@code m x k}, B row-major {@code k x n}, group ids per contraction index.
     */
    public static void gemmLiteralShift(int m, int n, int k, MemorySegment qa, long aOff, int lda, MemorySegment ga,
                                        long gaOff, int groupsA, MemorySegment qb, long bOff, int ldb,
                                        MemorySegment gb, long gbOff, int groupsB, MemorySegment c, long cOff,
                                        int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                int acc = 0;
                for (int p = 0; p < k; p++) {
                    int sh = (groupsA - 1 - ga.get(BYTE, gaOff + p)) + (groupsB - 1 - gb.get(BYTE, gbOff + p));
                    acc += (qa.get(BYTE, aOff + (long) i * lda + p) * qb.get(BYTE, bOff + (long) p * ldb + j)) << sh;
                }
                c.setAtIndex(INT, cOff + (long) i * ldc + j, acc);
            }
        }
    }
}
