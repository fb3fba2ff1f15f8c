package org.nibble.models.norm;

import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;

import java.util.List;

/**
 * A normalization layer over the last axis of tensors shaped {@code [..., dim]}. Per-token norms normalize every
 * row independently; batch-statistic norms (PowerNorm, Unified) take per-channel statistics over the non-padded rows
 * and have train/eval modes. Every norm multiplies its output by {@link NormOptions#scale()}.
 */
public interface Norm extends Layer {
    /** The names {@link #create} accepts. */
    List<String> NAMES = List.of("layernorm", "rmsnorm", "srmsnorm", "crmsnorm", "l1", "l1-nc", "int-l1",
            "powernorm", "unified", "dyt", "bhyt");

    /** The factory name of this norm. */
    String kind();

    /** Width of the normalized axis. */
    int dim();

    /**
     * Forward with a padding mask: {@code padMask} holds one value per row of {@code x} (any shape with that many
     * elements; non-zero = padding). Per-token norms ignore it; batch-statistic norms exclude padded rows from their
     * statistics. {@code padMask} may be null.
     */
    default Tensor forward(Tensor x, Tensor padMask, Scope step) {
        return forward(x, step);
    }

    /** Switches train/eval mode (only batch-statistic norms behave differently). */
    default void train(boolean on) {
    }

    /** True in train mode (the default). */
    default boolean training() {
        return true;
    }

    /**
     * Creates a norm by name ({@link #NAMES}); parameters are allocated in {@code o.params()}.
     *
     * @throws IllegalArgumentException for an unknown name (the message lists the valid names) or bad dim
     */
    static Norm create(String name, int dim, NormOptions o) {
        if (o == null) {
            throw new NullPointerException("o: expected NormOptions, got null");
        }
        if (dim < 1) {
            throw new IllegalArgumentException("dim: expected >= 1, got " + dim);
        }
        if (o.params() == null) {
            throw new IllegalArgumentException("o.params: expected the parameter Scope (NormOptions.params(scope)), "
                    + "got null");
        }
        String n = name == null ? "" : name.trim().toLowerCase(java.util.Locale.ROOT);
        return switch (n) {
            case "layernorm" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.LAYERNORM, dim, o, true);
            case "rmsnorm" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.RMSNORM, dim, o, true);
            case "srmsnorm" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.RMSNORM, dim, o, false);
            case "crmsnorm" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.CRMSNORM, dim, o, true);
            case "l1" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.L1, dim, o, true);
            case "l1-nc" -> new RowNormLayer(n, org.nibble.kernels.norm.NormKind.L1_NONCENTRED, dim, o, true);
            case "int-l1" -> new IntL1NormLayer(dim, o);
            case "powernorm" -> new PowerNorm(dim, o);
            case "unified" -> new UnifiedNorm(dim, o);
            case "dyt" -> new DyTNorm(dim, o);
            case "bhyt" -> new BHyTNorm(dim, o);
            default -> throw new IllegalArgumentException("norm: expected one of " + NAMES + ", got '" + name + "'");
        };
    }

    /** {@link #create(String, int, NormOptions)} with parameters in {@code params}. */
    static Norm create(String name, int dim, NormOptions o, Scope params) {
        return create(name, dim, o.params(params));
    }
}
