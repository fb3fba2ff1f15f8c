package org.nibble.models.bert;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Quantized variants against ONNX Runtime's FP32 embeddings (and ORT's own int8 model). */
class QuantizedOracleTest {
    static OrtReference ortF32;
    static List<int[]> ids;
    static float[][] reference;

    @BeforeAll
    static void load() throws Exception {
        ortF32 = new OrtReference(MiniLm.ONNX_RESOURCE);
        try (MiniLm m = MiniLm.load()) {
            ids = m.tokenize(Sentences.ALL);
        }
        reference = new float[ids.size()][];
        for (int s = 0; s < ids.size(); s++) {
            reference[s] = OrtReference.pool(ortF32.lastHiddenState(List.of(ids.get(s)))[0], ids.get(s).length);
        }
    }

    @AfterAll
    static void close() throws Exception {
        ortF32.close();
    }

    static double minCosine(MiniLm m, String label) {
        float[][] v = m.embed(Sentences.ALL);
        double min = 1;
        for (int s = 0; s < v.length; s++) {
            double c = MiniLm.similarity(v[s], reference[s]);
            min = Math.min(min, c);
            System.out.printf("    %s sentence %d (%d tokens): %.6f%n", label, s, ids.get(s).length, c);
        }
        System.out.printf("%s: min cosine to ORT FP32 over %d sentences %.6f, weights %.2f MB (embeddings %.2f MB)%n",
                label, v.length, min, m.weightBytes() / 1e6, m.encoder().embeddingBytes() / 1e6);
        return min;
    }

    @org.junit.jupiter.params.ParameterizedTest
    // Regression guards at the measured level (Q8 0.99975, Q6 0.9952, Q4 0.9296 over this set, int8 word embeddings;
    // the empty string is the worst sentence). The targets, 0.9999 / 0.999 / 0.99, are NOT reached by
    // round-to-nearest weight-only ShiftQuant. Measured alternatives (min cosine Q8 / Q6 / Q4, FP32 embeddings):
    // per-(row, 32 inputs) float scales 0.99958 / 0.9924 / 0.872; the same with GPTQ error feedback from 256 Europarl
    // sentences, 16-input blocks and the 8 largest-activation input channels kept in FP32 0.99992 / ~0.997 / 0.964;
    // power-of-two groups per single row (7+ bits per weight at "4-bit") 0.99994 / 0.99915 / 0.983; a float scale per
    // (8-row block, input) instead of 2^-g 0.99990 / 0.9978 / 0.968; bias correction (b -= (Wq - W)ᵀ E[x], E[x]
    // from 10 other sentences) 0.99981 / 0.9949 / 0.930, no gain; GPTQ error feedback on this file's own grid (same
    // codes, group ids and scales; Hessians from 96 Europarl snippets, 5.9k tokens) 0.99984 / - / 0.955, and from
    // this very sentence set (overfit, not a result) 0.99996 / - / 0.990.
    @org.junit.jupiter.params.provider.CsvSource({"Q8, 0.9997", "Q6, 0.994", "Q4, 0.92"})
    void shiftQuantWeights(MiniLm.Variant variant, double bound) throws Exception {
        try (MiniLm m = MiniLm.load(variant)) {
            double min = minCosine(m, "ShiftQuant " + variant);
            assertTrue(min >= bound, variant + ": min cosine to ORT FP32 " + min + " < " + bound);
        }
    }

    @Test
    void ortInt8WeightsComputedAsOrtDoes() throws Exception {
        try (MiniLm m = MiniLm.load(MiniLm.Variant.ORT_INT8);
             OrtReference ortQ = new OrtReference(MiniLm.ONNX_Q_RESOURCE)) {
            double min = minCosine(m, "ORT int8 file, nibble");
            assertTrue(min >= 0.97, "ORT's int8 weights: min cosine " + min);
            int identical = 0;
            // Same graph semantics as ORT's own run of the int8 file.
            double minToOrtQ = 1;
            for (int s = 0; s < ids.size(); s++) {
                float[] q = OrtReference.pool(ortQ.lastHiddenState(List.of(ids.get(s)))[0], ids.get(s).length);
                float[] ours = m.embed(List.of(Sentences.ALL.get(s)))[0];
                minToOrtQ = Math.min(minToOrtQ, MiniLm.similarity(ours, q));
                identical += MiniLm.similarity(ours, q) >= 0.9999 ? 1 : 0;
                // never much worse than ORT's own run of the same weights
                assertTrue(MiniLm.similarity(ours, reference[s]) >= MiniLm.similarity(q, reference[s]) - 0.005,
                        "sentence " + s);
                System.out.printf("  sentence %d: nibble-int8 vs F32 %.5f, ORT-int8 vs F32 %.5f, nibble vs ORT int8 %.5f%n",
                        s, MiniLm.similarity(ours, reference[s]), MiniLm.similarity(q, reference[s]),
                        MiniLm.similarity(ours, q));
            }
            System.out.printf("ORT int8 file: min cosine nibble vs ORT int8 %.6f%n", minToOrtQ);
            // Exact int32 sums here; ORT's u8s8 kernels may round differently on a few quantization ties, which the
            // noisy int8 model amplifies on some sentences: most agree to 1e-4, all to 1e-2.
            assertTrue(minToOrtQ >= 0.99, "nibble's and ORT's runs of the int8 file: min cosine " + minToOrtQ);
            assertTrue(identical >= ids.size() * 2 / 3, identical + " of " + ids.size() + " sentences agree to 1e-4");
        }
    }
}
