package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;
import org.nibble.models.Param;
import org.nibble.models.norm.Norm;
import org.nibble.models.norm.NormOptions;

import java.util.List;
import java.util.Locale;

/**
 * The norms the GPT model places in its blocks, made by name: every name of {@link Norm#NAMES}.
 *
 * <p>{@code layernorm} (papers.md 0.1, eps 1e-5) and {@code rmsnorm} (0.2, eps 1e-6) run on the {@link Ops} facade,
 * whose row reductions are sequential: their results do not depend on JIT state, which the trainer's bit-identical
 * determinism needs (a Vector API {@code reduceLanes} sums in a different order interpreted and compiled). All other
 * names come from the {@link Norm#create} factory ({@code org.nibble.models.norm}). Parameters are named
 * {@code <prefix>.weight} and {@code <prefix>.bias}.
 */
public final class Norms {
    private Norms() {
    }

    /** Norm names accepted by {@link #create}. */
    public static final List<String> NAMES = Norm.NAMES;

    /** LayerNorm epsilon inside the root (PyTorch's default). */
    public static final float LN_EPS = 1e-5f;
    /** RMSNorm epsilon (LLaMA-style code of the Mix-LN / LNS repositories, papers.md 0.2). */
    public static final float RMS_EPS = 1e-6f;

    /**
     * A norm layer by name ({@code layernorm}/{@code ln}, {@code rmsnorm}/{@code rms}), gain 1 and bias 0, its
     * parameters allocated in {@code params}.
     */
    public static Layer create(String name, int dim, String prefix, Scope params) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "layernorm", "ln" -> new RowNorm(true, dim, prefix, params);
            case "rmsnorm", "rms" -> new RowNorm(false, dim, prefix, params);
            default -> Norm.create(n, dim, NormOptions.defaults().prefix(prefix), params);
        };
    }

    /** LayerNorm ({@code center}) or RMSNorm over the last axis. */
    static final class RowNorm implements Layer {
        private final boolean center;
        private final int dim;
        private final Param weight;
        private final Param bias;
        private Tensor x, mean, rstd;

        RowNorm(boolean center, int dim, String prefix, Scope params) {
            this.center = center;
            this.dim = dim;
            this.weight = new Param(prefix + ".weight", params, dim);
            weight.value().fill(1f);
            this.bias = center ? new Param(prefix + ".bias", params, dim) : null;
        }

        @Override
        public Tensor forward(Tensor in, Scope step) {
            if (in.dim(-1) != dim || !in.isContiguous()) {
                throw new IllegalArgumentException("x: expected a contiguous tensor with last dimension " + dim
                        + ", got shape " + java.util.Arrays.toString(in.shape()));
            }
            x = in;
            int rows = (int) (in.numel() / dim);
            Tensor y = step.zeros(DType.F32, in.shape());
            mean = step.zeros(DType.F32, rows);
            rstd = step.zeros(DType.F32, rows);
            if (center) {
                Ops.layerNorm(rows, dim, LN_EPS, in.segment(), in.offset(), weight.value().segment(),
                        bias.value().segment(), y.segment(), 0, mean.segment(), rstd.segment());
            } else {
                Ops.rmsNorm(rows, dim, RMS_EPS, in.segment(), in.offset(), weight.value().segment(), y.segment(), 0,
                        rstd.segment());
            }
            return y;
        }

        @Override
        public Tensor backward(Tensor dy, Scope step) {
            int rows = (int) (x.numel() / dim);
            Tensor dx = step.zeros(DType.F32, x.shape());
            Ops.normBackward(center, rows, dim, x.segment(), x.offset(), weight.value().segment(), mean.segment(),
                    rstd.segment(), dy.segment(), dy.offset(), dx.segment(), 0, weight.grad().segment(),
                    center ? bias.grad().segment() : null);
            return dx;
        }

        @Override
        public List<Param> params() {
            return center ? List.of(weight, bias) : List.of(weight);
        }
    }
}
