package org.nibble.models.bert;

import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.engine.onnx.OnnxModel;
import org.nibble.engine.onnx.OnnxTensor;
import org.nibble.kernels.Attention;
import org.nibble.kernels.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.nibble.models.bert.BertMath.F;

/**
 * A BERT encoder (Post-LN: {@code x = LN(x + Attn(x)); x = LN(x + FFN(x))}, exact erf GELU) running the weights of
 * an ONNX file.
 *
 * <p>Batches are ragged: the sentences of a batch are packed one after the other (no padding rows), every dense
 * layer runs once over all their tokens, and attention runs per sentence and head over that sentence's tokens only,
 * which is what an attention mask over right padding computes, without spending work on the padding.
 */
public final class BertEncoder implements AutoCloseable {
    private final BertConfig cfg;
    private final Scope scope;
    private final Embedding word;
    private final Embedding position;
    private final Embedding type;
    private final MemorySegment embGamma;
    private final MemorySegment embBeta;
    private final List<Layer> layers;

    /** One encoder layer: fused query/key/value projection, output projection, feed-forward, two LayerNorms. */
    record Layer(Projection qkv, Projection o, MemorySegment g1, MemorySegment b1, Projection ffnIn,
                 Projection ffnOut, MemorySegment g2, MemorySegment b2) {
    }

    /** How the projections of the file are turned into {@link Projection}s. */
    @FunctionalInterface
    interface ProjectionFactory {
        /** A projection for {@code refs} fused along the output axis (query, key, value), or one ref. */
        Projection create(Scope scope, List<BertGraph.LinearRef> refs) throws OnnxFormatException;
    }

    private BertEncoder(BertConfig cfg, Scope scope, Embedding word, Embedding position, Embedding type,
                        MemorySegment embGamma, MemorySegment embBeta, List<Layer> layers) {
        this.cfg = cfg;
        this.scope = scope;
        this.word = word;
        this.position = position;
        this.type = type;
        this.embGamma = embGamma;
        this.embBeta = embBeta;
        this.layers = layers;
    }

    /** Builds an encoder from a BERT ONNX model, FP32 projections (or the file's own int8 ones). */
    public static BertEncoder fromOnnx(OnnxModel model) throws OnnxFormatException {
        return fromOnnx(model, Projections::fromFile);
    }

    static BertEncoder fromOnnx(OnnxModel model, ProjectionFactory factory) throws OnnxFormatException {
        return fromOnnx(model, factory, false);
    }

    /**
     * An encoder whose projections come from {@code factory}; with {@code int8WordRows} the word embedding table
     * (the largest tensor of a small BERT) is held as int8 rows ({@link Embedding#int8Rows}).
     */
    static BertEncoder fromOnnx(OnnxModel model, ProjectionFactory factory, boolean int8WordRows)
            throws OnnxFormatException {
        BertGraph.Spec spec = BertGraph.map(model);
        BertConfig cfg = spec.config();
        Scope scope = Scope.open("bert-weights");
        try {
            Embedding word = int8WordRows ? Embedding.int8Rows(scope, spec.word()) : Embedding.of(scope, spec.word());
            Embedding pos = Embedding.of(scope, spec.position());
            Embedding type = spec.type() == null ? null : Embedding.of(scope, spec.type());
            List<Layer> layers = new ArrayList<>();
            for (BertGraph.LayerRef l : spec.layers()) {
                layers.add(new Layer(factory.create(scope, List.of(l.q(), l.k(), l.v())),
                        factory.create(scope, List.of(l.o())), vec(scope, l.ln1().gamma()),
                        vec(scope, l.ln1().beta()), factory.create(scope, List.of(l.ffnIn())),
                        factory.create(scope, List.of(l.ffnOut())), vec(scope, l.ln2().gamma()),
                        vec(scope, l.ln2().beta())));
            }
            return new BertEncoder(cfg, scope, word, pos, type, vec(scope, spec.embLn().gamma()),
                    vec(scope, spec.embLn().beta()), List.copyOf(layers));
        } catch (RuntimeException | OnnxFormatException e) {
            scope.close();
            throw e;
        }
    }

    static MemorySegment vec(Scope scope, OnnxTensor t) {
        float[] v = t.floats();
        MemorySegment s = scope.allocate(4L * v.length);
        MemorySegment.copy(v, 0, s, F, 0, v.length);
        return s;
    }

    /** The model's shape. */
    public BertConfig config() {
        return cfg;
    }

    /** Bytes of all weights (embeddings, projections, norms) as held in memory. */
    public long weightBytes() {
        long heap = 0;
        for (Layer l : layers) {
            heap += l.qkv().heapBytes() + l.o().heapBytes() + l.ffnIn().heapBytes() + l.ffnOut().heapBytes();
        }
        return scope.allocatedBytes() + heap;
    }

    /** Bytes of the embedding tables (word, position, token type) as held in memory. */
    public long embeddingBytes() {
        return word.bytes() + position.bytes() + (type == null ? 0 : type.bytes());
    }

    /**
     * Runs the encoder on a batch of token id sequences (each with its {@code [CLS]} and {@code [SEP]}, all token
     * types 0) and returns the last hidden states, packed: sequence {@code s} occupies rows
     * {@code offsets[s] .. offsets[s+1]-1} of a {@code [sum of lengths, hidden]} row-major array.
     */
    public Output forward(List<int[]> batch) {
        int h = cfg.hidden();
        int[] offsets = new int[batch.size() + 1];
        int maxLen = 0;
        for (int s = 0; s < batch.size(); s++) {
            int[] ids = batch.get(s);
            if (ids.length == 0 || ids.length > cfg.maxPositions()) {
                throw new IllegalArgumentException("batch[" + s + "]: expected 1.." + cfg.maxPositions()
                        + " token ids, got " + ids.length);
            }
            for (int id : ids) {
                if (id < 0 || id >= cfg.vocab()) {
                    throw new IllegalArgumentException("batch[" + s + "]: token id " + id + " outside 0.."
                            + (cfg.vocab() - 1));
                }
            }
            offsets[s + 1] = offsets[s] + ids.length;
            maxLen = Math.max(maxLen, ids.length);
        }
        int n = offsets[batch.size()];
        float[] out = new float[n * h];
        if (n == 0) {
            return new Output(out, offsets, h);
        }
        Workspace ws = Workspace.get();
        MemorySegment x = ws.slot(0, 4L * n * h);
        MemorySegment qkv = ws.slot(1, 4L * n * 3 * h);
        MemorySegment ctx = ws.slot(2, 4L * n * h);
        MemorySegment tmp = ws.slot(3, 4L * n * h);
        MemorySegment ff = ws.slot(4, 4L * n * cfg.intermediate());
        MemorySegment rstd = ws.slot(5, 4L * n);
        embed(batch, offsets, x, rstd);
        for (Layer l : layers) {
            l.qkv().forward(x, n, qkv);
            attention(qkv, ctx, offsets, maxLen);
            l.o().forward(ctx, n, tmp);
            Kernels.addLayerNorm(tmp, x, x, n, h, l.g1(), l.b1(), cfg.eps(), rstd);
            l.ffnIn().forward(x, n, ff);
            Kernels.gelu(ff, n * cfg.intermediate());
            l.ffnOut().forward(ff, n, tmp);
            Kernels.addLayerNorm(tmp, x, x, n, h, l.g2(), l.b2(), cfg.eps(), rstd);
        }
        MemorySegment.copy(x, F, 0, out, 0, n * h);
        return new Output(out, offsets, h);
    }

    private void embed(List<int[]> batch, int[] offsets, MemorySegment x, MemorySegment rstd) {
        int h = cfg.hidden();
        float[] row = new float[h];
        float[] tmp = new float[h];
        for (int s = 0; s < batch.size(); s++) {
            int[] ids = batch.get(s);
            for (int p = 0; p < ids.length; p++) {
                word.row(ids[p], row);
                position.row(p, tmp);
                for (int j = 0; j < h; j++) {
                    row[j] += tmp[j];
                }
                if (type != null) {
                    type.row(0, tmp);
                    for (int j = 0; j < h; j++) {
                        row[j] += tmp[j];
                    }
                }
                MemorySegment.copy(row, 0, x, F, 4L * (offsets[s] + p) * h, h);
            }
        }
        Kernels.addLayerNorm(x, null, x, offsets[batch.size()], h, embGamma, embBeta, cfg.eps(), rstd);
    }

    /**
     * Scaled dot-product attention per (sentence, head) over the sentence's own tokens, read straight out of the
     * fused QKV rows ({@link Attention}: no packing, no per-head GEMM calls). Tasks are (sentence, head) pairs; tiny
     * sentences run on the calling thread (a few microseconds of work do not pay for waking another).
     */
    private void attention(MemorySegment qkv, MemorySegment ctx, int[] offsets, int maxLen) {
        int h = cfg.hidden(), d = cfg.headDim(), heads = cfg.heads();
        int tasks = (offsets.length - 1) * heads;
        float scale = (float) (1.0 / Math.sqrt(d));
        long flopsPerTask = 4L * maxLen * maxLen * d;
        int grain = (int) Math.max(1, Math.min(tasks, 1_000_000L / Math.max(1, flopsPerTask)));
        Parallel.forRange(0, tasks, grain, (lo, hi) -> {
            for (int t = lo; t < hi; t++) {
                int s = t / heads, head = t % heads;
                int len = offsets[s + 1] - offsets[s];
                long q0 = (long) offsets[s] * 3 * h + (long) head * d;
                Attention.forward(len, d, scale, qkv, q0, 3 * h, qkv, q0 + h, 3 * h, qkv, q0 + 2L * h, 3 * h, ctx,
                        (long) offsets[s] * h + (long) head * d, h);
            }
        });
    }

    @Override
    public void close() {
        scope.close();
    }

    /**
     * Packed last hidden states of a batch.
     *
     * @param hidden  {@code [sum of lengths, dim]} row-major
     * @param offsets sequence {@code s} is rows {@code offsets[s] .. offsets[s+1]-1}
     * @param dim     hidden size
     */
    public record Output(float[] hidden, int[] offsets, int dim) {
        /** Number of sequences. */
        public int size() {
            return offsets.length - 1;
        }

        /** Hidden state of token {@code t} of sequence {@code s} (a copy). */
        public float[] token(int s, int t) {
            float[] v = new float[dim];
            System.arraycopy(hidden, (offsets[s] + t) * dim, v, 0, dim);
            return v;
        }

        /** Mean over the tokens of sequence {@code s}, L2-normalized (sentence-transformers pooling). */
        public float[] meanPooledNormalized(int s) {
            double[] acc = new double[dim];
            int len = offsets[s + 1] - offsets[s];
            for (int t = 0; t < len; t++) {
                int base = (offsets[s] + t) * dim;
                for (int j = 0; j < dim; j++) {
                    acc[j] += hidden[base + j];
                }
            }
            double norm = 0;
            for (int j = 0; j < dim; j++) {
                acc[j] /= len;
                norm += acc[j] * acc[j];
            }
            double inv = 1.0 / Math.max(Math.sqrt(norm), 1e-12);
            float[] v = new float[dim];
            for (int j = 0; j < dim; j++) {
                v[j] = (float) (acc[j] * inv);
            }
            return v;
        }
    }

    /**
     * An embedding table: FP32 rows; uint8 rows with one scale and zero point (ORT's quantized model); or int8 rows
     * with one symmetric scale per row ({@code rowScales}, made from FP32 rows by {@link #int8Rows}).
     */
    record Embedding(MemorySegment table, int dim, float scale, int zero, boolean quantized,
                     MemorySegment rowScales) {
        static Embedding of(Scope scope, BertGraph.TableRef ref) {
            OnnxTensor t = ref.table();
            int dim = (int) t.dims()[1];
            if (ref.scale() == null) {
                return new Embedding(t.toTensor(scope).segment(), dim, 1, 0, false, null);
            }
            long[] q = t.longs();
            MemorySegment s = scope.allocate(q.length);
            for (int e = 0; e < q.length; e++) {
                s.set(ValueLayout.JAVA_BYTE, e, (byte) q[e]);
            }
            return new Embedding(s, dim, ref.scale().scalarFloat(), (int) ref.zero().longs()[0], true, null);
        }

        /**
         * An FP32 table of the file as int8 rows, {@code code = rint(v / s_r)} with {@code s_r = max_j |v[r][j]| / 127}
         * per row (a quarter of the FP32 bytes; the table of the file must be FP32).
         */
        static Embedding int8Rows(Scope scope, BertGraph.TableRef ref) throws OnnxFormatException {
            if (ref.scale() != null) {
                throw new OnnxFormatException("int8 embedding rows need an FP32 table, got a quantized one");
            }
            OnnxTensor t = ref.table();
            int rows = (int) t.dims()[0], dim = (int) t.dims()[1];
            float[] v = t.floats();
            MemorySegment codes = scope.allocate((long) rows * dim);
            MemorySegment scales = scope.allocate(4L * rows);
            for (int r = 0; r < rows; r++) {
                float max = 0;
                for (int j = 0; j < dim; j++) {
                    max = Math.max(max, Math.abs(v[r * dim + j]));
                }
                float sr = max == 0 ? 1f : max / 127f;
                scales.setAtIndex(F, r, sr);
                for (int j = 0; j < dim; j++) {
                    codes.set(ValueLayout.JAVA_BYTE, (long) r * dim + j, (byte) Math.rint(v[r * dim + j] / sr));
                }
            }
            return new Embedding(codes, dim, 1, 0, true, scales);
        }

        void row(int r, float[] out) {
            if (!quantized) {
                MemorySegment.copy(table, F, 4L * r * dim, out, 0, dim);
                return;
            }
            long base = (long) r * dim;
            if (rowScales != null) {
                float sr = rowScales.getAtIndex(F, r);
                for (int j = 0; j < dim; j++) {
                    out[j] = table.get(ValueLayout.JAVA_BYTE, base + j) * sr;
                }
                return;
            }
            for (int j = 0; j < dim; j++) {
                out[j] = ((table.get(ValueLayout.JAVA_BYTE, base + j) & 0xFF) - zero) * scale;
            }
        }

        /** Bytes held. */
        long bytes() {
            return table.byteSize() + (rowScales == null ? 0 : rowScales.byteSize());
        }
    }
}
