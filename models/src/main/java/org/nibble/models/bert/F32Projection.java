package org.nibble.models.bert;

import java.lang.foreign.MemorySegment;

/** FP32 weights [in, out] (as in the ONNX file), packed once for the GEMM, plus a bias. */
final class F32Projection implements Projection {
    private final int in;
    private final int out;
    private final MemorySegment b;
    private final PackedWeights packed;

    /** {@code w} [in, out] row-major, packed into {@code scope} for the GEMM. */
    F32Projection(int in, int out, MemorySegment w, MemorySegment b, org.nibble.engine.Scope scope) {
        this(in, out, new PackedWeights(scope, w, in, out), b);
    }

    /** Weights already packed ({@code packed}, [in, out]) and a bias. */
    F32Projection(int in, int out, PackedWeights packed, MemorySegment b) {
        this.in = in;
        this.out = out;
        this.b = b;
        this.packed = packed;
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    MemorySegment bias() {
        return b;
    }

    @Override
    public void forward(MemorySegment x, int rows, MemorySegment y) {
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(b, 0, y, 4L * r * out, 4L * out);
        }
        packed.multiplyAdd(rows, x, y);
    }

    @Override
    public long bytes() {
        return packed.bytes() + b.byteSize();
    }
}
