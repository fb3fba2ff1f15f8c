package org.nibble.models.bert;

import com.google.protobuf.CodedOutputStream;
import org.junit.jupiter.api.Test;
import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxGraph;
import org.nibble.engine.onnx.OnnxReader;
import org.nibble.kernels.GemmF32;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link Projections#f32}: weights packed straight from the file's bytes, as packing the plain matrix does. */
class ProjectionsTest {
    private static final int TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_FLOATS = 4, TENSOR_NAME = 8, TENSOR_RAW = 9;
    private static final int GRAPH_INITIALIZER = 5, MODEL_IR = 1, MODEL_GRAPH = 7, FLOAT = 1;

    /**
     * Fused refs whose column edges fall inside GEMM panels (widths 5, NR + 3, 2 NR, 3), weights stored as raw_data
     * and as float_data, and a depth of two K blocks: the forward pass equals, bit for bit, that of the same weights
     * concatenated into a plain [in, out] matrix and packed by the GEMM's own packing.
     */
    @Test
    void directPackingEqualsPackingThePlainMatrix() throws IOException {
        int nr = GemmF32.NR;
        for (int in : new int[]{7, GemmF32.KC + 9}) {
            int[] widths = {5, nr + 3, 2 * nr, 3};
            SplittableRandom rng = new SplittableRandom(in);
            ByteArrayOutputStream graph = new ByteArrayOutputStream();
            CodedOutputStream g = CodedOutputStream.newInstance(graph);
            List<float[]> weights = new ArrayList<>(), biases = new ArrayList<>();
            for (int r = 0; r < widths.length; r++) {
                float[] w = random(rng, in * widths[r]), b = random(rng, widths[r]);
                weights.add(w);
                biases.add(b);
                g.writeByteArray(GRAPH_INITIALIZER, tensor("w" + r, w, r % 2 == 0, in, widths[r]));
                g.writeByteArray(GRAPH_INITIALIZER, tensor("b" + r, b, r % 2 == 1, widths[r]));
            }
            g.flush();
            ByteArrayOutputStream model = new ByteArrayOutputStream();
            CodedOutputStream m = CodedOutputStream.newInstance(model);
            m.writeInt64(MODEL_IR, 8);
            m.writeByteArray(MODEL_GRAPH, graph.toByteArray());
            m.flush();
            OnnxGraph file = OnnxReader.read(model.toByteArray()).graph();
            List<BertGraph.LinearRef> refs = new ArrayList<>();
            int out = 0;
            for (int r = 0; r < widths.length; r++) {
                refs.add(new BertGraph.LinearRef("x", "y" + r, file.initializer("w" + r), null, null, null,
                        file.initializer("b" + r)));
                out += widths[r];
            }
            try (Arena a = Arena.ofShared(); Scope scope = Scope.open("projections test")) {
                MemorySegment w = a.allocate(4L * in * out), b = a.allocate(4L * out);
                int col = 0;
                for (int r = 0; r < widths.length; r++) {
                    for (int i = 0; i < in; i++) {
                        MemorySegment.copy(weights.get(r), i * widths[r], w, BertMath.F, 4L * (i * out + col),
                                widths[r]);
                    }
                    MemorySegment.copy(biases.get(r), 0, b, BertMath.F, 4L * col, widths[r]);
                    col += widths[r];
                }
                F32Projection plain = new F32Projection(in, out, w, b, scope);
                F32Projection direct = Projections.f32(scope, refs);
                assertEquals(plain.bytes(), direct.bytes(), "bytes held");
                for (int rows : new int[]{1, 2, 7, 13}) {
                    MemorySegment x = a.allocate(4L * rows * in);
                    MemorySegment.copy(random(rng, rows * in), 0, x, BertMath.F, 0, rows * in);
                    MemorySegment expected = a.allocate(4L * rows * out), actual = a.allocate(4L * rows * out);
                    plain.forward(x, rows, expected);
                    direct.forward(x, rows, actual);
                    assertEquals(-1, expected.mismatch(actual), "in " + in + ", " + rows + " rows: outputs differ");
                }
            }
        }
    }

    private static byte[] tensor(String name, float[] values, boolean raw, long... dims) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream t = CodedOutputStream.newInstance(bytes);
        for (long d : dims) {
            t.writeInt64(TENSOR_DIMS, d);
        }
        t.writeInt32(TENSOR_TYPE, FLOAT);
        t.writeString(TENSOR_NAME, name);
        ByteBuffer le = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            le.putFloat(v);
        }
        // raw_data, or float_data as one packed field
        t.writeByteArray(raw ? TENSOR_RAW : TENSOR_FLOATS, le.array());
        t.flush();
        return bytes.toByteArray();
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }
}
