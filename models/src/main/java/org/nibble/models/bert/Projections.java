package org.nibble.models.bert;

import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxTensor;
import org.nibble.kernels.GemmF32;

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
        MemorySegment b = scope.allocate(4L * out);
        // straight from the file's bytes into the GEMM panels, in runs that end at panel edges (bulk copies: cold
        // code at load time, where the vector packing loop ran interpreted, and no plain [in, out] copy in between:
        // that and a float array per matrix were 85 MB of memory touched once, more than the packed weights)
        PackedWeights packed = new PackedWeights(in, out, null, scope);
        int nr = GemmF32.NR, col = 0;
        for (BertGraph.LinearRef r : refs) {
            OnnxTensor w = r.weight();
            int o = r.out();
            for (int i = 0; i < in; i++) {
                for (int j = 0; j < o; ) {
                    int run = Math.min(o - j, nr - (col + j) % nr);
                    w.copyFloats((long) i * o + j, run, packed.buffer(), F, 4L * packed.offset(i, col + j));
                    j += run;
                }
            }
            r.bias().copyFloats(0, o, b, F, 4L * col);
            col += o;
        }
        return new F32Projection(in, out, packed, b);
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
