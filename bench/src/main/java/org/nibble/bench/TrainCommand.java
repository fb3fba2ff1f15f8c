package org.nibble.bench;

import org.nibble.engine.data.Corpus;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.LinearMath;
import org.nibble.models.gpt.Norms;
import org.nibble.models.gpt.Placement;
import org.nibble.models.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code nibble train}: trains a byte-level GPT on Europarl (or {@code --data}), with a progress bar, validation,
 * metrics.csv, summary.json, a loss plot and a checkpoint; {@code --compare KEY=V1,V2,...} runs variants on the
 * same data and seed and prints one table.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a byte-level GPT on the CPU (Europarl by default) and compare placements / bit widths.",
                "Example: nibble train --compare bits=32,6,4 --placement peri"})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    NibbleCli.Common common;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--layers", description = "Transformer blocks (default: ${DEFAULT-VALUE}).")
    int layers = 4;
    @Option(names = "--dim", description = "Model width (default: ${DEFAULT-VALUE}).")
    int dim = 128;
    @Option(names = "--heads", description = "Attention heads (default: ${DEFAULT-VALUE}).")
    int heads = 4;
    @Option(names = "--ctx", description = "Context length in bytes (default: ${DEFAULT-VALUE}).")
    int ctx = 64;
    @Option(names = "--batch", description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batch = 16;
    @Option(names = "--steps", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
    int steps = 200;
    @Option(names = "--lr", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 2e-3;
    @Option(names = "--warmup", description = "Warmup steps (default: 10% of steps, at most 100).")
    Integer warmup;
    @Option(names = "--placement", description = "post, pre, peri, mix or lns (default: ${DEFAULT-VALUE}).")
    String placement = "peri";
    @Option(names = "--norm", description = "Norm: layernorm, rmsnorm, srmsnorm, crmsnorm, l1, l1-nc, int-l1, "
            + "powernorm, unified, dyt, bhyt (default: ${DEFAULT-VALUE}).")
    String norm = "layernorm";
    @Option(names = "--bits", description = "32 = FP32; 8, 6, 4 = ShiftQuant training (default: ${DEFAULT-VALUE}).")
    int bits = 32;
    @Option(names = "--grad-bits", description = "ShiftQuant width of the backward (gradient) matmuls "
            + "(default: same as --bits).")
    int gradBits;
    @Option(names = "--embed-bits", description = "Tied LM head (logits and its gradients): 32 = FP32, 8 = ShiftQuant "
            + "8-bit like the Linear layers; the embedding lookup stays FP32 (default: ${DEFAULT-VALUE}).")
    int embedBits = 32;
    @Option(names = "--seed", description = "Seed of init, batches and rounding (default: ${DEFAULT-VALUE}).")
    long seed = 1;
    @Option(names = "--data", paramLabel = "PATH", description = "Text file or folder instead of Europarl.")
    Path data;
    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("runs", "train");
    @Option(names = "--resume", paramLabel = "CHECKPOINT",
            description = "Continue a run from its checkpoint: model, optimizer and step come from the checkpoint; "
                    + "an explicit --steps extends the run (the schedule then stretches).")
    Path resume;
    @Option(names = "--eval-every", description = "Validation every N steps (default: steps/10).")
    Integer evalEvery;
    @Option(names = "--eval-batches", description = "Validation batches (default: ${DEFAULT-VALUE}).")
    int evalBatches = 8;
    @Option(names = "--checkpoint-every", description = "Also checkpoint every N steps (default: only at the end).")
    int checkpointEvery;
    @Option(names = "--diagnostics", description = "Record per-block activation RMS and gradient norm in metrics.csv.")
    boolean diagnostics;
    @Option(names = "--compare", paramLabel = "KEY=V1,V2,...",
            description = "Run variants on the same data and seed: bits=32,6,4 | placement=pre,peri,mix,lns,post | "
                    + "norm=layernorm,rmsnorm; prints one table and writes compare.png.")
    String compare;

    @Override
    public Integer call() throws IOException {
        if (embedBits != 32 && embedBits != 8) {
            throw new IllegalArgumentException("--embed-bits: expected 32 (FP32) or 8 (ShiftQuant), got " + embedBits);
        }
        Corpus corpus = data != null ? Corpus.fromPath(data, Corpus.DEFAULT_VAL_FRACTION)
                : Corpus.europarl(Corpus.DEFAULT_VAL_FRACTION);
        GptConfig base = new GptConfig(layers, dim, heads, ctx, GptConfig.BYTE_VOCAB, Placement.parse(placement),
                norm, bits, gradBits, embedBits, true, 0.25);
        TrainConfig tc = new TrainConfig(steps, batch, lr, 0.1,
                warmup != null ? warmup : Math.min(100, Math.max(1, steps / 10)), 0.1, 0.9, 0.95, 1e-8, 1.0, seed,
                evalEvery != null ? evalEvery : Math.max(1, steps / 10), evalBatches);
        if (compare == null) {
            check(base);
            int resumeSteps = resume != null && spec.commandLine().getParseResult().hasMatchedOption("--steps")
                    ? steps : 0;
            TrainRun.Result r = TrainRun.run(label(base), base, tc, corpus, resume, resumeSteps, out, diagnostics,
                    checkpointEvery, System.out);
            printTable(List.of(r));
            System.out.println("wrote " + out.resolve("metrics.csv") + ", summary.json, loss.png, "
                    + "checkpoint.safetensors");
            return r.failure() == null ? 0 : 3;
        }
        if (resume != null) {
            throw new IllegalArgumentException("--resume: cannot be combined with --compare");
        }
        List<GptConfig> variants = variants(base, compare);
        for (GptConfig v : variants) {
            check(v);
        }
        List<TrainRun.Result> results = new ArrayList<>();
        List<LossPlot.Curve> curves = new ArrayList<>();
        for (GptConfig v : variants) {
            String key = compare.substring(0, compare.indexOf('=')).trim();
            TrainRun.Result r = TrainRun.run(label(v), v, tc, corpus, null, 0,
                    out.resolve(key + "-" + value(v, key)), diagnostics, checkpointEvery, System.out);
            results.add(r);
            TrainRun.addCurves(curves, r);
        }
        LossPlot.write(out.resolve("compare.png"), "nibble train --compare " + compare, curves);
        printTable(results);
        System.out.println("wrote " + out.resolve("compare.png") + " and one folder per variant in " + out);
        return results.stream().allMatch(r -> r.failure() == null) ? 0 : 3;
    }

    private static void check(GptConfig c) {
        LinearMath.forBits(c.bits(), c.gradBits()); // fails early with a clear message when a bit width is unavailable
        try (var probe = org.nibble.engine.Scope.open("probe")) {
            Norms.create(c.norm(), 1, "probe", probe);
        }
    }

    static List<GptConfig> variants(GptConfig base, String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0 || eq == spec.length() - 1) {
            throw new IllegalArgumentException("--compare: expected KEY=V1,V2,... (bits, placement or norm), got '"
                    + spec + "'");
        }
        String key = spec.substring(0, eq).trim().toLowerCase(Locale.ROOT);
        List<GptConfig> out = new ArrayList<>();
        for (String v : spec.substring(eq + 1).split(",")) {
            String s = v.trim();
            out.add(switch (key) {
                case "bits" -> base.withBits(Integer.parseInt(s));
                case "placement" -> base.withPlacement(Placement.parse(s));
                case "norm" -> base.withNorm(s);
                default -> throw new IllegalArgumentException("--compare: expected key bits, placement or norm, got '"
                        + key + "'");
            });
        }
        return out;
    }

    private static String value(GptConfig c, String key) {
        return switch (key.toLowerCase(Locale.ROOT)) {
            case "bits" -> Integer.toString(c.bits());
            case "placement" -> c.placement().id();
            default -> c.norm();
        };
    }

    static String label(GptConfig c) {
        String q = (c.bits() == 32 ? "fp32" : "sq" + c.bits()
                + (c.effectiveGradBits() == c.bits() ? "" : "g" + c.effectiveGradBits()))
                + (c.embedBits() == 32 ? "" : "e" + c.embedBits());
        return q + "/" + c.placement().id() + "/" + c.norm();
    }

    static void printTable(List<TrainRun.Result> rs) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%-26s %8s %12s %10s %12s %14s %9s%n", "variant", "steps", "val loss",
                "gap", "tokens/s", "peak off-heap", "time");
        double ref = rs.getFirst().finalVal();
        for (TrainRun.Result r : rs) {
            String gap = r == rs.getFirst() ? "-" : String.format(Locale.ROOT, "%+.2f%%",
                    100 * (r.finalVal() - ref) / ref);
            System.out.printf(Locale.ROOT, "%-26s %8d %12.4f %10s %12.0f %11.1f MiB %8.1fs%s%n", r.label(), r.steps(),
                    r.finalVal(), gap, r.tokensPerSecond(), r.peakBytes() / 1048576.0, r.seconds(),
                    r.failure() == null ? "" : "  STOPPED");
        }
    }
}
