package org.nibble.models.bert;

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
