package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Scalar reference twin of {@link GemmF32}: the triple loop, the readable spec and the test oracle.
 *
 * <p>{@code C = alpha * op(A) * op(B) + beta * C}, row-major, offsets in elements. Each dot product accumulates in
 * double and the result is rounded to float once, so it is (nearly) correctly rounded; the fast kernel agrees with it
 * within {@code c * K * eps * sum|a||b|}. BLAS semantics for the special scalars: {@code beta == 0} never reads C (NaN
 * garbage there is overwritten), {@code alpha == 0} or {@code k == 0} never reads A or B and gives
 * {@code C = beta * C}.
 */
public final class GemmF32Scalar {
    private GemmF32Scalar() {
    }

    /** Same contract as {@link GemmF32#gemm}. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        GemmF32.checkGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        boolean skipProduct = alpha == 0 || k == 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long ci = cOff + (long) i * ldc + j;
                double r;
                if (skipProduct) {
                    r = 0;
                } else {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? a.getAtIndex(FLOAT, aOff + (long) p * lda + i)
                                : a.getAtIndex(FLOAT, aOff + (long) i * lda + p);
                        float bv = transB ? b.getAtIndex(FLOAT, bOff + (long) j * ldb + p)
                                : b.getAtIndex(FLOAT, bOff + (long) p * ldb + j);
                        s += (double) av * bv;
                    }
                    r = alpha * s;
                }
                if (beta != 0) {
                    r += (double) beta * c.getAtIndex(FLOAT, ci);
                }
                c.setAtIndex(FLOAT, ci, (float) r);
            }
        }
    }
}
