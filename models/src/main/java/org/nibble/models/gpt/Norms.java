package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.util.List;
import java.util.Locale;

/**
 * The norms the GPT model places in its blocks, made by name. Until the {@code org.nibble.models.norm} factory is
 * merged this offers LayerNorm (papers.md 0.1) and RMSNorm (0.2) on the {@link Ops} facade; every norm normalizes
 * the last axis of a contiguous tensor and has learnable per-feature parameters named {@code <prefix>.weight}
 * (and {@code <prefix>.bias} for LayerNorm).
 */
public final class Norms {
    private Norms() {
    }

    /** Norm names accepted by {@link #create}. */
    public static final List<String> NAMES = List.of("layernorm", "rmsnorm");

    /** Default epsilon inside the root (PyTorch LayerNorm's 1e-5; used for both norms). */
    public static final float EPS = 1e-5f;

    /**
     * A norm layer by name ({@code layernorm}/{@code ln}, {@code rmsnorm}/{@code rms}), gain 1 and bias 0, its
     * parameters allocated in {@code params}.
     */
    public static Layer create(String name, int dim, String prefix, Scope params) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        return switch (n) {
            case "layernorm", "ln" -> new Norm(true, dim, prefix, params);
            case "rmsnorm", "rms" -> new Norm(false, dim, prefix, params);
            default -> throw new IllegalArgumentException("norm: expected one of " + NAMES + ", got '" + name + "'");
        };
    }

    /** LayerNorm ({@code center}) or RMSNorm over the last axis. */
    static final class Norm implements Layer {
        private final boolean center;
        private final int dim;
        private final Param weight;
        private final Param bias;
        private Tensor x, mean, rstd;

        Norm(boolean center, int dim, String prefix, Scope params) {
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
                Ops.layerNorm(rows, dim, EPS, in.segment(), in.offset(), weight.value().segment(),
                        bias.value().segment(), y.segment(), 0, mean.segment(), rstd.segment());
            } else {
                Ops.rmsNorm(rows, dim, EPS, in.segment(), in.offset(), weight.value().segment(), y.segment(), 0,
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
