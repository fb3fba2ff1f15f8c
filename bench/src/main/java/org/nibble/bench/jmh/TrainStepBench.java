package org.nibble.bench.jmh;

import org.nibble.engine.data.Corpus;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.Placement;
import org.nibble.models.train.TrainConfig;
import org.nibble.models.train.Trainer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One full training step (forward, backward, clipping, AdamW) of a byte-level Peri-LN GPT on Europarl, FP32 against
 * ShiftQuant 6-bit and 4-bit Linear layers. Default shape = llm.c's CPU reference config (4 layers, width 256,
 * ctx 128, batch 16: llm.c does 2,007 tokens/s on the AVX-512 machine); tokens/s = batch * ctx / (time per step).
 * Not in the default set (a step takes about a second). The setup checks that a first step gives a finite loss near
 * ln(256).
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TrainStepBench {
    /** Baseline implementation of the ratio column. */
    public static final String BASELINE = "fp32";

    @Param({"4"})
    public int layers;
    @Param({"256"})
    public int dim;
    @Param({"128"})
    public int ctx;
    @Param({"16"})
    public int batch;

    private Trainer fp32, sq6, sq4;

    @Setup(Level.Trial)
    public void setup() {
        Corpus c = Corpus.europarl(Corpus.DEFAULT_VAL_FRACTION);
        GptConfig g = GptConfig.of(layers, dim, 4, ctx, Placement.PERI, "layernorm");
        TrainConfig t = TrainConfig.of(1_000_000, batch, 1e-3, 1);
        fp32 = new Trainer(g, t, c);
        sq6 = new Trainer(g.withBits(6), t, c);
        sq4 = new Trainer(g.withBits(4), t, c);
        for (Trainer tr : new Trainer[]{fp32, sq6, sq4}) {
            BenchChecks.close("first-step loss", tr.step(false).loss(), Math.log(256), 0.05);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        fp32.close();
        sq6.close();
        sq4.close();
    }

    @Benchmark
    public double step_fp32() {
        return fp32.step(false).loss();
    }

    @Benchmark
    public double step_sq6() {
        return sq6.step(false).loss();
    }

    @Benchmark
    public double step_sq4() {
        return sq4.step(false).loss();
    }

    /**
     * Training FLOPs per step: 3x the forward (backward = 2x forward). Forward per token: 2 * 12 L C^2 (Linear
     * layers), 2 * 2 * T * C * L (attention scores and context over the full T x T block) and 2 * 256 * C (head).
     */
    public static double flops(String op, Map<String, String> p) {
        double l = Double.parseDouble(p.get("layers")), c = Double.parseDouble(p.get("dim"));
        double t = Double.parseDouble(p.get("ctx")), b = Double.parseDouble(p.get("batch"));
        double fwd = 24 * l * c * c + 4 * t * c * l + 512 * c;
        return 3 * fwd * t * b;
    }
}
