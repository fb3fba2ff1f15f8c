package org.nibble.kernels.quant;

/**
 * How a quantizer rounds {@code v = x / s} to an integer code (papers.md 1.3).
 */
public enum Rounding {
    /** Round half to even ({@code Math.rint}); forward tensors (weights, activations). */
    NEAREST_EVEN,
    /**
     * Stochastic rounding {@code floor(v + u)}, {@code u ~ U[0,1)}: unbiased, {@code E[q] = v}. Gradients. The uniform
     * {@code u} is a counter-based hash of (seed, row, column), so results depend only on the seed, never on threads.
     */
    STOCHASTIC
}
