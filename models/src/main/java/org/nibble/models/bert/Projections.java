package org.nibble.models.bert;

import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxTensor;

import java.lang.foreign.MemorySegment;
import java.util.List;

import static org.nibble.models.bert.BertMath.F;

/** Builds {@link Projection}s from the projections found in an ONNX file. */
final class Projections {
    private Projections() {
    }

    /** The file's own format: FP32 (fused along the output axis), or ORT's int8 with dynamic activations. */
    static Projection fromFile(Scope scope, List<BertGraph.LinearRef> refs) throws OnnxFormatException {
        if (refs.getFirst().weight() != null) {
            return f32(scope, refs);
        }
        return Int8Projection.of(scope, refs);
    }

    /** FP32 [in, out_total] weight with the refs' columns side by side, and their biases. */
    static F32Projection f32(Scope scope, List<BertGraph.LinearRef> refs) throws OnnxFormatException {
        int in = refs.getFirst().in();
        int out = 0;
        for (BertGraph.LinearRef r : refs) {
            if (r.weight() == null || r.in() != in) {
                throw new OnnxFormatException("fused projections need FP32 weights with the same input size");
            }
            out += r.out();
        }
        MemorySegment w = java.lang.foreign.Arena.ofAuto().allocate(4L * in * out, 64);
        MemorySegment b = scope.allocate(4L * out);
        int col = 0;
        for (BertGraph.LinearRef r : refs) {
            float[] wr = r.weight().floats();
            int o = r.out();
            for (int i = 0; i < in; i++) {
                MemorySegment.copy(wr, i * o, w, F, 4L * ((long) i * out + col), o);
            }
            MemorySegment.copy(r.bias().floats(), 0, b, F, 4L * col, o);
            col += o;
        }
        return new F32Projection(in, out, w, b, scope);
    }

    /** Fused FP32 weights [in, out] and bias of {@code refs} as float arrays (for the quantized variants). */
    static float[][] fusedArrays(List<BertGraph.LinearRef> refs) {
        int in = refs.getFirst().in();
        int out = 0;
        for (BertGraph.LinearRef r : refs) {
            out += r.out();
        }
        float[] w = new float[in * out];
        float[] b = new float[out];
        int col = 0;
        for (BertGraph.LinearRef r : refs) {
            OnnxTensor wt = r.weight();
            float[] wr = wt.floats();
            int o = r.out();
            for (int i = 0; i < in; i++) {
                System.arraycopy(wr, i * o, w, i * out + col, o);
            }
            System.arraycopy(r.bias().floats(), 0, b, col, o);
            col += o;
        }
        return new float[][]{w, b, {in, out}};
    }
}
