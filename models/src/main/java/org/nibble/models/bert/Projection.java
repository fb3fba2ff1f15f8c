package org.nibble.models.bert;

import java.lang.foreign.MemorySegment;

/** A dense layer {@code y = x W + b} of the encoder, in one of the weight formats. */
interface Projection {
    /** Input features. */
    int in();

    /** Output features. */
    int out();

    /**
     * {@code y[rows, out] = x[rows, in] · W + b}; {@code x} and {@code y} are row-major and contiguous (leading
     * dimensions {@link #in()} and {@link #out()}), offsets 0.
     */
    void forward(MemorySegment x, int rows, MemorySegment y);

    /** Bytes held by the weights and biases. */
    long bytes();

    /** Of {@link #bytes()}, those on the Java heap rather than in the encoder's scope. */
    default long heapBytes() {
        return 0;
    }
}
