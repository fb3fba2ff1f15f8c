package org.nibble.models.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nibble.engine.Scope;
import org.nibble.engine.data.Corpus;
import org.nibble.engine.io.SafeTensors;
import org.nibble.models.Param;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.Placement;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    private static final GptConfig TINY = GptConfig.of(2, 32, 4, 32, Placement.PERI, "layernorm");

    static Corpus smallCorpus() {
        List<byte[]> docs = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            docs.add(("The committee adopted report number " + i + " on the common agricultural policy, "
                    + "and the house voted " + (i % 7) + " times.").getBytes(StandardCharsets.UTF_8));
        }
        return Corpus.fromDocuments("synthetic", docs, 0.1);
    }

    private static double[] run(Trainer t, int steps) {
        double[] losses = new double[steps];
        for (int i = 0; i < steps; i++) {
            losses[i] = t.step(false).loss();
        }
        return losses;
    }

    @Test
    void sameSeedGivesBitIdenticalLosses() {
        Corpus c = smallCorpus();
        TrainConfig tc = TrainConfig.of(6, 4, 3e-3, 11);
        double[] a, b;
        try (Trainer t = new Trainer(TINY, tc, c)) {
            a = run(t, 6);
        }
        try (Trainer t = new Trainer(TINY, tc, c)) {
            b = run(t, 6);
        }
        assertArrayEquals(a, b, 0.0);
        try (Trainer t = new Trainer(TINY, TrainConfig.of(6, 4, 3e-3, 12), c)) {
            assertTrue(run(t, 6)[5] != a[5], "another seed gives another trajectory");
        }
    }

    @Test
    void resumeContinuesTheExactTrajectory(@TempDir Path dir) throws IOException {
        Corpus c = smallCorpus();
        for (Placement p : new Placement[]{Placement.PRE, Placement.MIX, Placement.PERI}) {
            // PERI runs ShiftQuant 4-bit (8-bit gradients): its stochastic rounding must also resume exactly
            GptConfig gc = p == Placement.PERI ? TINY.withBits(4).withGradBits(8)
                    : TINY.withPlacement(p).withNorm("rmsnorm");
            TrainConfig tc = TrainConfig.of(8, 4, 3e-3, 5);
            double[] straight;
            double valStraight;
            try (Trainer t = new Trainer(gc, tc, c)) {
                straight = run(t, 8);
                valStraight = t.evaluate();
            }
            Path ck = dir.resolve(p.id() + ".safetensors");
            double[] resumed = new double[8];
            try (Trainer t = new Trainer(gc, tc, c)) {
                System.arraycopy(run(t, 4), 0, resumed, 0, 4);
                t.save(ck);
            }
            double valResumed;
            try (Trainer t = Trainer.resume(ck, c)) {
                assertEquals(4, t.step());
                assertEquals(gc, t.model().config(), "config restored from the checkpoint");
                System.arraycopy(run(t, 4), 0, resumed, 4, 4);
                valResumed = t.evaluate();
            }
            assertArrayEquals(straight, resumed, 0.0, p + ": resumed losses");
            assertEquals(valStraight, valResumed, 0.0);
        }
    }

    @Test
    void foreignSafetensorsIsRejectedClearly(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("foreign.safetensors");
        try (Scope s = Scope.open("t")) {
            SafeTensors.write(f, Map.of("x", s.fromArray(new float[]{1, 2}, 2)), Map.of("format", "pt"));
        }
        var e = assertThrows(SafeTensors.SafeTensorsException.class, () -> Trainer.resume(f, smallCorpus()));
        assertTrue(e.getMessage().contains("not a nibble GPT checkpoint"), e.getMessage());
    }

    @Test
    void nonFiniteLossNamesStepAndLayer() {
        try (Trainer t = new Trainer(TINY, TrainConfig.of(5, 2, 1e-3, 3), smallCorpus())) {
            t.step(false);
            Param fc = t.model().params().stream().filter(p -> p.name().equals("blocks.1.mlp.fc.weight"))
                    .findFirst().orElseThrow();
            fc.value().fill(Float.NaN);
            var e = assertThrows(NonFiniteException.class, () -> t.step(false));
            assertEquals(2, e.step());
            assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("blocks.1"), e.getMessage());
            assertEquals(1, t.step(), "the failed step did not count");
        }
    }

    @Test
    void offHeapMemoryIsFlatAcrossSteps() {
        try (Trainer t = new Trainer(TINY, TrainConfig.of(12, 4, 1e-3, 3), smallCorpus())) {
            run(t, 2);
            long after2 = Scope.liveBytes();
            Scope.resetPeak();
            run(t, 8);
            assertEquals(after2, Scope.liveBytes(), "live bytes between steps");
            long peak = Scope.peakBytes();
            Scope.resetPeak();
            run(t, 2);
            assertTrue(Scope.peakBytes() <= peak, "peak does not grow");
        }
    }

    @Test
    void shiftQuantTrainingIsDeterministicAndTracksFp32() {
        Corpus c = smallCorpus();
        TrainConfig tc = TrainConfig.of(20, 4, 3e-3, 21);
        double[] fp32, q6, q6again;
        try (Trainer t = new Trainer(TINY, tc, c)) {
            fp32 = run(t, 20);
        }
        try (Trainer t = new Trainer(TINY.withBits(6), tc, c)) {
            assertEquals("shiftquant-6", t.model().linearLabel());
            q6 = run(t, 20);
        }
        try (Trainer t = new Trainer(TINY.withBits(6), tc, c)) {
            q6again = run(t, 20);
        }
        assertArrayEquals(q6, q6again, 0.0, "same seed, same ShiftQuant trajectory");
        double f = mean(fp32, 15, 20), q = mean(q6, 15, 20);
        assertTrue(q < mean(q6, 0, 5) - 1.0, "6-bit training learns: " + q);
        assertTrue(Math.abs(q - f) / f < 0.05, "6-bit within 5% of FP32 after 20 steps: " + q + " vs " + f);
    }

    private static double mean(double[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += a[i];
        }
        return s / (to - from);
    }

    @Test
    void factoryNormsTrainInEveryPlacement() {
        Corpus c = smallCorpus();
        for (String norm : new String[]{"l1", "dyt", "srmsnorm"}) {
            for (Placement p : new Placement[]{Placement.PRE, Placement.PERI}) {
                try (Trainer t = new Trainer(TINY.withNorm(norm).withPlacement(p), TrainConfig.of(4, 2, 3e-3, 9), c)) {
                    double[] l = run(t, 4);
                    assertTrue(norm.equals("srmsnorm") // parameter-free
                                    || t.model().params().stream().anyMatch(q -> q.name().startsWith("blocks.0.ln1.")),
                            norm + ": parameter names follow the block prefix");
                    for (double v : l) {
                        assertTrue(Double.isFinite(v) && v < 6, norm + "/" + p + ": " + v);
                    }
                }
            }
        }
    }

    @Test
    void learnsEuroparl() {
        Corpus c = Corpus.europarl(0.05);
        GptConfig gc = GptConfig.of(2, 64, 4, 64, Placement.PRE, "layernorm");
        try (Trainer t = new Trainer(gc, new TrainConfig(60, 8, 3e-3, 0.1, 6, 0.1, 0.9, 0.95, 1e-8, 1.0, 1, 0, 4), c)) {
            double before = t.evaluate();
            double[] l = run(t, 60);
            double after = t.evaluate();
            assertTrue(before > 5.0, "initial validation loss ~ln(256): " + before);
            assertTrue(after < 3.6, "validation loss after 60 steps: " + after + " (train " + l[59] + ")");
        }
    }
}
