package org.nibble.models;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

/**
 * A trainable parameter: an F32 value and its F32 gradient of the same shape, both in a long-lived scope.
 * Backward passes accumulate into {@link #grad()}; the optimizer consumes it and {@link #zeroGrad()} clears it.
 */
public final class Param {
    private final String name;
    private final Tensor value;
    private final Tensor grad;

    /** Allocates a zero value and a zero gradient of {@code shape} in {@code scope}. */
    public Param(String name, Scope scope, int... shape) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected a non-blank parameter name, got '" + name + "'");
        }
        this.name = name;
        this.value = scope.zeros(DType.F32, shape);
        this.grad = scope.zeros(DType.F32, shape);
    }

    /** Dotted name, e.g. {@code blocks.3.attn.qkv.weight}; used in checkpoints and error messages. */
    public String name() {
        return name;
    }

    /** The parameter value (F32, contiguous). */
    public Tensor value() {
        return value;
    }

    /** The accumulated gradient (F32, contiguous, same shape as the value). */
    public Tensor grad() {
        return grad;
    }

    /** Number of scalar parameters. */
    public long size() {
        return value.numel();
    }

    /** Sets the gradient to zero. */
    public void zeroGrad() {
        grad.fill(0f);
    }

    @Override
    public String toString() {
        return "Param[" + name + ", shape=" + java.util.Arrays.toString(value.shape()) + "]";
    }
}
