package org.nibble.models;

import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

import java.util.List;

/**
 * A differentiable layer. {@link #forward} saves what {@link #backward} needs in the step scope; backward returns
 * the gradient with respect to the input and accumulates parameter gradients into {@link Param#grad()}. Nothing a
 * layer allocates during a step outlives the step scope.
 */
public interface Layer {
    /** Computes the output for {@code x}; tensors it allocates live in {@code step}. */
    Tensor forward(Tensor x, Scope step);

    /** Given dL/d(output), returns dL/d(input) and accumulates dL/d(params). Must follow a {@link #forward}. */
    Tensor backward(Tensor dy, Scope step);

    /** The trainable parameters (empty for parameter-free layers). */
    List<Param> params();
}
