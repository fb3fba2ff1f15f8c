package org.nibble.models.bert;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * all-MiniLM-L6-v2 against independent references: token ids against DJL's binding of the Hugging Face Rust
 * tokenizer, hidden states and embeddings against ONNX Runtime on the same ONNX file.
 */
class MiniLmOracleTest {
    static MiniLm model;
    static OrtReference ort;
    static List<int[]> ids;

    @BeforeAll
    static void load() throws Exception {
        model = MiniLm.load();
        ort = new OrtReference(MiniLm.ONNX_RESOURCE);
        ids = model.tokenize(Sentences.ALL);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
        ort.close();
    }

    @Test
    void tokenIdsEqualHuggingFace(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("tokenizer.json");
        try (InputStream in = MiniLm.class.getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            Files.copy(in, json);
        }
        try (HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(json)) {
            for (int s = 0; s < Sentences.ALL.size(); s++) {
                Encoding e = hf.encode(Sentences.ALL.get(s));
                long[] mask = e.getAttentionMask();
                long[] all = e.getIds();
                int len = 0;
                while (len < mask.length && mask[len] == 1) {
                    len++;
                }
                int[] expected = Arrays.stream(Arrays.copyOf(all, len)).mapToInt(x -> (int) x).toArray();
                assertArrayEquals(expected, ids.get(s), "sentence " + s + ": " + Sentences.ALL.get(s)
                        + "\n  ours " + model.tokenizer().tokens(Sentences.ALL.get(s)));
            }
        }
        assertEquals(128, ids.get(7).length, "the long sentence is truncated to 128 ids");
        assertArrayEquals(new int[]{101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102},
                ids.get(0));
    }

    @Test
    void hiddenStatesAndEmbeddingsMatchOrtOneByOne() throws Exception {
        for (int s = 0; s < ids.size(); s++) {
            float[][] ref = ort.lastHiddenState(List.of(ids.get(s)))[0];
            BertEncoder.Output ours = model.encoder().forward(List.of(ids.get(s)));
            compare(ours, 0, ref, ids.get(s).length, "sentence " + s);
        }
    }

    @Test
    void paddedBatchMatchesOrt() throws Exception {
        List<int[]> batch = new ArrayList<>(ids);
        float[][][] ref = ort.lastHiddenState(batch);
        BertEncoder.Output ours = model.encoder().forward(batch);
        for (int s = 0; s < batch.size(); s++) {
            compare(ours, s, ref[s], batch.get(s).length, "batch sentence " + s);
        }
        float[][] api = model.embed(Sentences.ALL);
        for (int s = 0; s < api.length; s++) {
            assertArrayEquals(ours.meanPooledNormalized(s), api[s], 1e-6f, "embed() is the pooled forward");
        }
    }

    @Test
    void knownEmbeddingOfTheFox() {
        // sentence-transformers' value (from langchain4j and ORT, shared/ecosystem.md section (a))
        float[] v = model.embed("The quick brown fox jumps over the lazy dog.");
        assertArrayEquals(new float[]{0.04393357f, 0.05893438f, 0.04817839f, 0.07754812f, 0.02674438f},
                Arrays.copyOf(v, 5), 2e-5f);
        assertTrue(model.similarity("A man is eating food.", "A man is eating a piece of bread.")
                > model.similarity("A man is eating food.", "The girl is carrying a baby."));
    }

    @Test
    void loadsFromFilesToo(@TempDir Path dir) throws Exception {
        Path onnx = dir.resolve("model.onnx"), json = dir.resolve("tokenizer.json");
        try (InputStream a = MiniLm.class.getResourceAsStream(MiniLm.ONNX_RESOURCE);
             InputStream b = MiniLm.class.getResourceAsStream(MiniLm.TOKENIZER_RESOURCE)) {
            Files.copy(a, onnx);
            Files.copy(b, json);
        }
        try (MiniLm m = MiniLm.load(onnx, json, MiniLm.Variant.F32)) {
            String s = "The quick brown fox jumps over the lazy dog.";
            assertArrayEquals(model.embed(s), m.embed(s), 1e-6f);
            assertEquals(384, m.dimension());
        }
        Path junk = dir.resolve("junk.onnx");
        Files.writeString(junk, "not a model");
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> MiniLm.load(junk, json, MiniLm.Variant.F32));
        assertTrue(e.getMessage().contains("junk.onnx"), e.getMessage());
    }

    static void compare(BertEncoder.Output ours, int s, float[][] ref, int len, String what) {
        double maxDiff = 0;
        for (int t = 0; t < len; t++) {
            float[] o = ours.token(s, t);
            for (int j = 0; j < o.length; j++) {
                maxDiff = Math.max(maxDiff, Math.abs(o[j] - ref[t][j]));
            }
        }
        assertTrue(maxDiff <= 1e-4, what + ": last_hidden_state max |diff| " + maxDiff + " > 1e-4");
        float[] pooled = ours.meanPooledNormalized(s);
        float[] refPooled = OrtReference.pool(ref, len);
        double cos = MiniLm.similarity(pooled, refPooled);
        double pmax = 0;
        for (int j = 0; j < pooled.length; j++) {
            pmax = Math.max(pmax, Math.abs(pooled[j] - refPooled[j]));
        }
        System.out.printf("%s: len %d, hidden max|diff| %.3g, pooled max|diff| %.3g, cosine %.9f%n", what, len,
                maxDiff, pmax, cos);
        assertTrue(cos >= 0.99999, what + ": cosine " + cos + " < 0.99999");
        assertTrue(pmax <= 1e-4, what + ": pooled max |diff| " + pmax + " > 1e-4");
    }
}
