package org.nibble.models.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nibble.engine.Scope;
import org.nibble.models.Param;
import org.nibble.models.gpt.Gpt;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.Placement;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code embedBits = 8}: the tied LM head's matmuls as 8-bit ShiftQuant (issue 6). */
class EmbedBitsTest {
    private static final GptConfig FP32 = GptConfig.of(2, 32, 4, 16, Placement.PERI, "layernorm");
    private static final GptConfig HEAD8 = FP32.withEmbedBits(8);

    private static int[] tokens(int n, int salt) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (i * 37 + salt * 11 + 5) % 256;
        }
        return t;
    }

    /** ||a - b|| / ||a|| in double. */
    private static double relErr(float[] a, float[] b) {
        double num = 0, den = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            num += d * d;
            den += (double) a[i] * a[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void headLogitsAndGradientsStayCloseToFp32() {
        int b = 2, t = 16;
        int[] x = tokens(b * t, 1), y = tokens(b * t, 2);
        try (Gpt ref = new Gpt(FP32, 7); Gpt q = new Gpt(HEAD8, 7); Scope s = Scope.open("t")) {
            assertEquals("fp32", ref.headLabel());
            assertEquals("shiftquant-8", q.headLabel());
            assertEquals(ref.linearLabel(), q.linearLabel(), "only the head changes");
            ref.forward(x, null, b, t, s);
            q.forward(x, null, b, t, s);
            float[] lr = ref.logits().toFloatArray(), lq = q.logits().toFloatArray();
            double e = relErr(lr, lq);
            assertTrue(e > 0, "8-bit head logits differ from FP32");
            assertTrue(e < 0.02, "relative logits error " + e);

            // gradient of the tied embedding (head + lookup scatter) through the quantized backward
            double lossRef = ref.forward(x, y, b, t, s);
            double lossQ = q.forward(x, y, b, t, s);
            assertEquals(lossRef, lossQ, 0.02 * Math.abs(lossRef));
            ref.zeroGrad();
            q.zeroGrad();
            ref.backward(s);
            q.backward(s);
            Param gr = ref.params().getFirst(), gq = q.params().getFirst();
            assertEquals("wte", gr.name());
            double ge = relErr(gr.grad().toFloatArray(), gq.grad().toFloatArray());
            assertTrue(ge > 0 && ge < 0.1, "relative wte gradient error " + ge);
        }
    }

    @Test
    void trainingIsDeterministicAndResumesBitIdentically(@TempDir Path dir) throws IOException {
        var c = TrainerTest.smallCorpus();
        TrainConfig tc = TrainConfig.of(6, 4, 3e-3, 9);
        double[] a = new double[6], b = new double[6], fp = new double[6];
        try (Trainer tr = new Trainer(HEAD8, tc, c)) {
            for (int i = 0; i < 6; i++) {
                a[i] = tr.step(false).loss();
            }
        }
        try (Trainer tr = new Trainer(FP32, tc, c)) {
            for (int i = 0; i < 6; i++) {
                fp[i] = tr.step(false).loss();
            }
        }
        Path ck = dir.resolve("head8.safetensors");
        try (Trainer tr = new Trainer(HEAD8, tc, c)) {
            for (int i = 0; i < 3; i++) {
                b[i] = tr.step(false).loss();
            }
            tr.save(ck);
        }
        try (Trainer tr = Trainer.resume(ck, c)) {
            assertEquals(HEAD8, tr.model().config(), "embedBits restored from the checkpoint");
            assertEquals("shiftquant-8", tr.model().headLabel());
            for (int i = 3; i < 6; i++) {
                b[i] = tr.step(false).loss();
            }
        }
        assertArrayEquals(a, b, 0.0, "same seed and resume give bit-identical losses");
        assertTrue(a[5] != fp[5], "the 8-bit head changes the trajectory");
        assertEquals(fp[5], a[5], 0.01 * fp[5], "but stays close to FP32");
    }

    @Test
    void badEmbedBitsIsRejectedClearly() {
        var e = assertThrows(IllegalArgumentException.class, () -> FP32.withEmbedBits(4));
        assertTrue(e.getMessage().contains("embedBits") && e.getMessage().contains("32")
                && e.getMessage().contains("8") && e.getMessage().contains("got 4"), e.getMessage());
        assertEquals(32, FP32.embedBits(), "FP32 head by default");
    }
}
