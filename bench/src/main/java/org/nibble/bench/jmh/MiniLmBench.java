package org.nibble.bench.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import org.nibble.engine.text.WordPieceTokenizer;
import org.nibble.kernels.Parallel;
import org.nibble.models.bert.BertEncoder;
import org.nibble.models.bert.MiniLm;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * all-MiniLM-L6-v2 forward pass (token ids to last hidden states; tokenization and pooling excluded for every
 * implementation) on a batch of {@code batch} sentences of {@code tokens} tokens each, with {@code threads} threads:
 * nibble FP32, nibble ShiftQuant Q8/Q6/Q4 weights, nibble running ONNX Runtime's int8 file, and ONNX Runtime itself
 * (FP32 and int8 files, same thread count) as the baseline. Scores are milliseconds per batch; divide by
 * {@code batch} for the latency per sentence. Each state checks its output against ORT FP32 once.
 *
 * <p>Not in the default set (each fork loads the model; the full grid takes several minutes):
 * {@code nibble bench MiniLmBench --param tokens=12 --param batch=1 --param threads=1}.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MiniLmBench {
    /** The ratio column compares every implementation to ONNX Runtime FP32. */
    public static final String BASELINE = "ortf32";

    @Param({"12", "128"})
    public int tokens;

    @Param({"1", "32"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    List<int[]> ids;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        Parallel.setThreads(threads);
        WordPieceTokenizer tok;
        try (InputStream in = MiniLm.class.getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            tok = WordPieceTokenizer.load(in);
        }
        String text = "The history of natural language processing generally started in the 1950s, although work "
                + "can be found from earlier periods. In 1950, Alan Turing published an article titled Computing "
                + "Machinery and Intelligence which proposed what is now called the Turing test as a criterion of "
                + "intelligence. ";
        int[] all = tok.encode(text.repeat(8), 512);
        ids = new ArrayList<>();
        for (int s = 0; s < batch; s++) {
            int[] one = new int[tokens];
            one[0] = all[0];
            // a different window of real words per sentence, then [SEP]
            System.arraycopy(all, 1 + (s * 7) % 200, one, 1, tokens - 2);
            one[tokens - 1] = all[all.length - 1];
            ids.add(one);
        }
    }

    /** A call to warm up. */
    @FunctionalInterface
    interface Call {
        Object run() throws Exception;
    }

    /**
     * Runs {@code call} 300 times or for 20 seconds, whichever comes first (at least 3 times), before measuring: a
     * forward pass is hundreds of kernel calls, more than the quick mode's short JMH warm-up lets the JIT compile.
     * Done for every implementation, ORT included.
     */
    static void warmUp(Call call) throws Exception {
        long end = System.nanoTime() + 20_000_000_000L;
        for (int i = 0; i < 3 || i < 300 && System.nanoTime() < end; i++) {
            call.run();
        }
    }

    /** A nibble model in one weight format. */
    public abstract static class Ours {
        MiniLm model;

        abstract MiniLm.Variant variant();

        @Setup(Level.Trial)
        public void load(MiniLmBench b, OrtF32 ref) throws Exception {
            model = MiniLm.load(variant());
            BertEncoder.Output o = model.encoder().forward(b.ids.subList(0, 1));
            float[][][] r = ref.run(b.ids.subList(0, 1));
            float[] ours = o.meanPooledNormalized(0);
            float[] theirs = Ort.pool(r[0], b.tokens);
            double cos = MiniLm.similarity(ours, theirs);
            BenchChecks.close(variant() + " cosine to ORT FP32", cos, 1.0, variant() == MiniLm.Variant.F32 ? 1e-5
                    : 0.1);
            warmUp(() -> model.encoder().forward(b.ids));
        }

        @TearDown(Level.Trial)
        public void close() {
            model.close();
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OursF32 extends Ours {
        @Override
        MiniLm.Variant variant() {
            return MiniLm.Variant.F32;
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OursQ8 extends Ours {
        @Override
        MiniLm.Variant variant() {
            return MiniLm.Variant.Q8;
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OursQ6 extends Ours {
        @Override
        MiniLm.Variant variant() {
            return MiniLm.Variant.Q6;
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OursQ4 extends Ours {
        @Override
        MiniLm.Variant variant() {
            return MiniLm.Variant.Q4;
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OursOrtInt8 extends Ours {
        @Override
        MiniLm.Variant variant() {
            return MiniLm.Variant.ORT_INT8;
        }
    }

    /** An ONNX Runtime session on a class-path model, with the benchmark's thread count. */
    public abstract static class Ort {
        final OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session;

        abstract String resource();

        @Setup(Level.Trial)
        public void load(MiniLmBench b) throws Exception {
            byte[] bytes;
            try (InputStream in = MiniLm.class.getResourceAsStream(resource())) {
                bytes = in.readAllBytes();
            }
            try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
                o.setIntraOpNumThreads(b.threads);
                o.setInterOpNumThreads(1);
                session = env.createSession(bytes, o);
            }
            float[][][] r = run(b.ids);
            BenchChecks.close(resource() + " output rows", r.length * r[0].length, b.batch * b.tokens, 0);
            warmUp(() -> run(b.ids));
        }

        float[][][] run(List<int[]> batch) throws OrtException {
            int len = batch.getFirst().length;
            long[][] ids = new long[batch.size()][];
            long[][] mask = new long[batch.size()][len];
            long[][] types = new long[batch.size()][len];
            for (int s = 0; s < ids.length; s++) {
                ids[s] = Arrays.stream(batch.get(s)).asLongStream().toArray();
                Arrays.fill(mask[s], 1);
            }
            try (OnnxTensor a = OnnxTensor.createTensor(env, ids);
                 OnnxTensor m = OnnxTensor.createTensor(env, mask);
                 OnnxTensor t = OnnxTensor.createTensor(env, types);
                 OrtSession.Result r = session.run(Map.of("input_ids", a, "attention_mask", m, "token_type_ids",
                         t))) {
                return (float[][][]) r.get(0).getValue();
            }
        }

        static float[] pool(float[][] hidden, int len) {
            int dim = hidden[0].length;
            double[] acc = new double[dim];
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < dim; j++) {
                    acc[j] += hidden[t][j];
                }
            }
            double n = 0;
            for (double v : acc) {
                n += v * v;
            }
            float[] v = new float[dim];
            for (int j = 0; j < dim; j++) {
                v[j] = (float) (acc[j] / Math.sqrt(n));
            }
            return v;
        }

        @TearDown(Level.Trial)
        public void close() throws OrtException {
            session.close();
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OrtF32 extends Ort {
        @Override
        String resource() {
            return MiniLm.ONNX_RESOURCE;
        }
    }

    @State(org.openjdk.jmh.annotations.Scope.Benchmark)
    public static class OrtInt8 extends Ort {
        @Override
        String resource() {
            return MiniLm.ONNX_Q_RESOURCE;
        }
    }

    @Benchmark
    public Object forward_f32(OursF32 s) {
        return s.model.encoder().forward(ids);
    }

    @Benchmark
    public Object forward_q8(OursQ8 s) {
        return s.model.encoder().forward(ids);
    }

    @Benchmark
    public Object forward_q6(OursQ6 s) {
        return s.model.encoder().forward(ids);
    }

    @Benchmark
    public Object forward_q4(OursQ4 s) {
        return s.model.encoder().forward(ids);
    }

    @Benchmark
    public Object forward_nibbleOnOrtInt8(OursOrtInt8 s) {
        return s.model.encoder().forward(ids);
    }

    @Benchmark
    public Object forward_ortf32(OrtF32 s) throws OrtException {
        return s.run(ids);
    }

    @Benchmark
    public Object forward_ortint8(OrtInt8 s) throws OrtException {
        return s.run(ids);
    }
}
