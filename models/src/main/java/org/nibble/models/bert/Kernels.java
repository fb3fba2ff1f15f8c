package org.nibble.models.bert;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Softmax;

import java.lang.foreign.MemorySegment;

/**
 * The one place where the encoder chooses its compute kernels: every dense operation of {@link BertEncoder} goes
 * through here, to the Vector API kernels of {@code org.nibble.kernels} ({@link BertMath} holds plain-loop
 * references of the same operations). Offsets are in elements; matrices are row-major with leading dimensions.
 */
final class Kernels {
    private Kernels() {
    }

    /** {@code C[m,n] = A[m,k] · B[k,n] + bias} (bias broadcast over rows; null for none), offsets 0. */
    static void gemmBias(int m, int n, int k, MemorySegment a, int lda, MemorySegment b, int ldb, MemorySegment bias,
                         MemorySegment c, int ldc) {
        if (bias != null) {
            for (int r = 0; r < m; r++) {
                MemorySegment.copy(bias, 0, c, 4L * r * ldc, 4L * n);
            }
        }
        GemmF32.gemm(false, false, m, n, k, 1f, a, 0, lda, b, 0, ldb, bias == null ? 0f : 1f, c, 0, ldc);
    }

    /** {@code C[m,n] = A[m,k] · B[n,k]ᵀ + bias} (bias broadcast over rows), offsets 0. */
    static void gemmBiasTransB(int m, int n, int k, MemorySegment a, int lda, MemorySegment b, int ldb,
                               MemorySegment bias, MemorySegment c, int ldc) {
        for (int r = 0; r < m; r++) {
            MemorySegment.copy(bias, 0, c, 4L * r * ldc, 4L * n);
        }
        GemmF32.gemm(false, true, m, n, k, 1f, a, 0, lda, b, 0, ldb, 1f, c, 0, ldc);
    }

    /** {@code C = A · op(B)} with offsets (inside a parallel attention task the GEMM runs inline). */
    static void gemm(boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                     MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        GemmF32.gemm(false, transB, m, n, k, 1f, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
    }

    /**
     * {@code out = LayerNorm(x + res)·γ + β} over rows of {@code cols} ({@link FastLayerNorm}, one fused kernel);
     * {@code res} may be null; {@code out} may alias either input. {@code rstd} is unused (kept for the callers).
     */
    static void addLayerNorm(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                             MemorySegment gamma, MemorySegment beta, float eps, MemorySegment rstd) {
        FastLayerNorm.forward(x, res, out, rows, cols, gamma, beta, eps);
    }

    /** Exact (erf) GELU in place ({@link FastGelu}: one rational erf, no exp). */
    static void gelu(MemorySegment x, int n) {
        FastGelu.forward(x, 0, n);
    }

    /** Row softmax of {@code scale · x} in place. */
    static void softmax(MemorySegment x, long off, int rows, int cols, int ld, float scale) {
        Softmax.forward(rows, cols, scale, x, off, ld, x, off, ld);
    }
}
