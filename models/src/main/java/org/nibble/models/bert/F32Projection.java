package org.nibble.models.bert;

import java.lang.foreign.MemorySegment;

/** FP32 weights stored [in, out] row-major, as in the ONNX file, plus a bias. */
final class F32Projection implements Projection {
    private final int in;
    private final int out;
    private final MemorySegment w;
    private final MemorySegment b;

    F32Projection(int in, int out, MemorySegment w, MemorySegment b) {
        this.in = in;
        this.out = out;
        this.w = w;
        this.b = b;
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    MemorySegment weight() {
        return w;
    }

    MemorySegment bias() {
        return b;
    }

    @Override
    public void forward(MemorySegment x, int rows, MemorySegment y) {
        Kernels.gemmBias(rows, out, in, x, in, w, out, b, y, out);
    }

    @Override
    public long bytes() {
        return w.byteSize() + b.byteSize();
    }
}
