package org.nibble.models.bert;

import java.lang.foreign.MemorySegment;

/**
 * The one place where the encoder chooses its compute kernels: every dense operation of {@link BertEncoder} goes
 * through here. Offsets are in elements; matrices are row-major with leading dimensions.
 */
final class Kernels {
    private Kernels() {
    }

    /** {@code C[m,n] = A[m,k] · B[k,n]}, offsets 0, parallel over rows. */
    static void gemm(int m, int n, int k, MemorySegment a, int lda, MemorySegment b, int ldb, MemorySegment c,
                     int ldc) {
        BertMath.gemm(false, m, n, k, a, 0, lda, b, 0, ldb, c, 0, ldc, true);
    }

    /** {@code C = A · B} or {@code A · Bᵀ} with offsets, single-threaded (inside a parallel attention task). */
    static void gemmSerial(boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                           MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        BertMath.gemm(transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, false);
    }

    static void addBias(MemorySegment y, int rows, int cols, MemorySegment bias) {
        BertMath.addBias(y, 0, rows, cols, cols, bias);
    }

    static void addLayerNorm(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                             MemorySegment gamma, MemorySegment beta, float eps) {
        BertMath.addLayerNorm(x, res, out, rows, cols, gamma, beta, eps);
    }

    static void gelu(MemorySegment x, long n) {
        BertMath.gelu(x, 0, n);
    }

    static void softmax(MemorySegment x, long off, int rows, int cols, int ld) {
        BertMath.softmax(x, off, rows, cols, ld);
    }

    static void scale(MemorySegment x, long off, int rows, int cols, int ld, float s) {
        BertMath.scale(x, off, rows, cols, ld, s);
    }
}
