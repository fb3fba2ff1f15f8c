package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A fully connected layer {@code y = x W^T + b} over the last axis; W is {@code out x in} (PyTorch layout), b has
 * {@code out} entries. The matmuls run through a {@link LinearMath} (FP32 or ShiftQuant).
 */
public final class Linear implements Layer {
    private final int in, out;
    private final Param weight, bias;
    private final LinearMath math;
    private final int id;
    private final RoundingClock clock;
    private Tensor x;

    /**
     * Weight ~ N(0, std^2), bias 0 (no bias when {@code withBias} is false). {@code clock} gives the stochastic
     * rounding seeds of the backward matmuls (a function of the run seed, the step and this layer's {@code id}).
     */
    public Linear(String prefix, int in, int out, boolean withBias, double std, RandomGenerator rng, Scope params,
                  LinearMath math, RoundingClock clock) {
        this.id = clock.register();
        this.clock = clock;
        this.in = in;
        this.out = out;
        this.math = math;
        this.weight = new Param(prefix + ".weight", params, out, in);
        weight.value().fillNormal(rng, 0, std);
        this.bias = withBias ? new Param(prefix + ".bias", params, out) : null;
    }

    @Override
    public Tensor forward(Tensor x, Scope step) {
        if (x.dim(-1) != in || !x.isContiguous()) {
            throw new IllegalArgumentException("x: expected a contiguous tensor with last dimension " + in
                    + ", got shape " + Arrays.toString(x.shape()));
        }
        this.x = x;
        int n = (int) (x.numel() / in);
        int[] shape = x.shape();
        shape[shape.length - 1] = out;
        Tensor y = step.zeros(DType.F32, shape);
        math.forward(n, in, out, x, weight.value(), y);
        if (bias != null) {
            var b = bias.value().segment();
            for (int r = 0; r < n; r++) {
                Ops.addInto(out, b, 0, y.segment(), (long) r * out);
            }
        }
        return y;
    }

    @Override
    public Tensor backward(Tensor dy, Scope step) {
        int n = (int) (x.numel() / in);
        Tensor dx = step.zeros(DType.F32, x.shape());
        math.backwardInput(n, in, out, dy, weight.value(), dx, clock.seed(id, 0));
        math.backwardWeight(n, in, out, dy, x, weight.grad(), clock.seed(id, 1), step);
        if (bias != null) {
            var db = bias.grad().segment();
            for (int r = 0; r < n; r++) {
                Ops.addInto(out, dy.segment(), dy.offset() + (long) r * out, db, 0);
            }
        }
        return dx;
    }

    @Override
    public List<Param> params() {
        return bias == null ? List.of(weight) : List.of(weight, bias);
    }

    public Param weight() {
        return weight;
    }
}
