package org.nibble.bench;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.nibble.engine.Scope;
import org.nibble.engine.data.Corpus;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.train.NonFiniteException;
import org.nibble.models.train.TrainConfig;
import org.nibble.models.train.Trainer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Runs one training variant: progress bar, metrics.csv, summary.json, loss.png, checkpoint. */
final class TrainRun {
    /** The outcome of one run. */
    record Result(String label, GptConfig gpt, TrainConfig train, long steps, List<double[]> trainCurve,
                  List<double[]> valCurve, double finalVal, double tokensPerSecond, long peakBytes, double seconds,
                  String failure) {
    }

    private TrainRun() {
    }

    /**
     * Trains (fresh, or continuing {@code resume}) until {@code train.steps()}, evaluating every
     * {@code train.evalEvery()} steps and at the end; writes everything into {@code out}.
     */
    static Result run(String label, GptConfig gc, TrainConfig tc, Corpus corpus, Path resume, int resumeSteps,
                      Path out, boolean diagnostics, int checkpointEvery, PrintStream log) throws IOException {
        Files.createDirectories(out);
        Scope.resetPeak();
        Trainer t = resume != null ? Trainer.resume(resume, corpus, resumeSteps) : new Trainer(gc, tc, corpus);
        try (t) {
            gc = t.model().config();
            tc = t.trainConfig();
            log.printf(Locale.ROOT, "%s: %d layers, width %d, %d heads, ctx %d, placement %s, norm %s, %s, "
                            + "head %s; %,d parameters; batch %d, %d steps, lr %.3g, seed %d, %d threads; data %s "
                            + "(%,d train / %,d validation bytes)%n", label, gc.layers(), gc.dim(), gc.heads(),
                    gc.ctx(), gc.placement().id(), gc.norm(), t.model().linearLabel(), t.model().headLabel(),
                    t.model().parameterCount(), tc.batch(), tc.steps(), tc.lr(), tc.seed(),
                    org.nibble.kernels.Parallel.threads(), corpus.name(), corpus.train().length,
                    corpus.validation().length);
            Path csv = out.resolve("metrics.csv");
            boolean append = resume != null && Files.exists(csv);
            List<double[]> trainCurve = new ArrayList<>(), valCurve = new ArrayList<>();
            if (append) {
                // a resumed run continues the earlier curves (rows up to the checkpoint's step)
                for (String line : Files.readAllLines(csv).subList(1, Files.readAllLines(csv).size())) {
                    String[] f = line.split(",", -1);
                    try {
                        long st = Long.parseLong(f[0]);
                        if (st > t.step()) {
                            continue;
                        }
                        trainCurve.add(new double[]{st, Double.parseDouble(f[1])});
                        if (!f[2].isEmpty()) {
                            valCurve.add(new double[]{st, Double.parseDouble(f[2])});
                        }
                    } catch (RuntimeException ignored) {
                        // a partial last line of an interrupted run
                    }
                }
            }
            double stepSeconds = 0, lastVal = Double.NaN;
            long tokens = 0;
            String failure = null;
            long t0 = System.nanoTime();
            try (BufferedWriter w = Files.newBufferedWriter(csv, append
                    ? new StandardOpenOption[]{StandardOpenOption.APPEND}
                    : new StandardOpenOption[]{StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING});
                 ProgressBar bar = new ProgressBarBuilder().setTaskName(label).setInitialMax(tc.steps())
                         .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).setMaxRenderedLength(120)
                         .startsFrom(t.step(), java.time.Duration.ZERO).build()) {
                if (!append) {
                    StringBuilder h = new StringBuilder("step,loss,val_loss,lr,grad_norm,tokens_per_s");
                    if (diagnostics) {
                        for (int l = 0; l < gc.layers(); l++) {
                            h.append(",act_rms_").append(l);
                        }
                        for (int l = 0; l < gc.layers(); l++) {
                            h.append(",grad_norm_").append(l);
                        }
                    }
                    w.write(h.append('\n').toString());
                }
                while (t.step() < tc.steps()) {
                    long s0 = System.nanoTime();
                    Trainer.StepResult r;
                    try {
                        r = t.step(diagnostics);
                    } catch (NonFiniteException e) {
                        failure = e.getMessage();
                        break;
                    }
                    stepSeconds += (System.nanoTime() - s0) / 1e9;
                    tokens += t.tokensPerStep();
                    double tps = tokens / stepSeconds;
                    trainCurve.add(new double[]{r.step(), r.loss()});
                    double val = Double.NaN;
                    boolean last = t.step() == tc.steps();
                    if (last || (tc.evalEvery() > 0 && r.step() % tc.evalEvery() == 0)) {
                        val = t.evaluate();
                        lastVal = val;
                        valCurve.add(new double[]{r.step(), val});
                    }
                    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%d,%.6f,%s,%.6g,%.6g,%.1f",
                            r.step(), r.loss(), Double.isNaN(val) ? "" : String.format(Locale.ROOT, "%.6f", val),
                            r.lr(), r.gradNorm(), tps));
                    if (diagnostics) {
                        for (double v : r.blockRms()) {
                            line.append(String.format(Locale.ROOT, ",%.6g", v));
                        }
                        for (double v : r.blockGradNorm()) {
                            line.append(String.format(Locale.ROOT, ",%.6g", v));
                        }
                    }
                    w.write(line.append('\n').toString());
                    bar.stepTo(r.step());
                    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f%s %,.0f tok/s", r.loss(),
                            Double.isNaN(lastVal) ? "" : String.format(Locale.ROOT, " val %.4f", lastVal), tps));
                    if (checkpointEvery > 0 && r.step() % checkpointEvery == 0 && !last) {
                        t.save(out.resolve("checkpoint.safetensors"));
                    }
                }
            }
            if (failure == null && Double.isNaN(lastVal)) {
                lastVal = t.evaluate(); // nothing left to train (e.g. resuming a finished run): still report it
                valCurve.add(new double[]{t.step(), lastVal});
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (failure == null) {
                t.save(out.resolve("checkpoint.safetensors"));
            } else {
                log.println("STOPPED: " + failure);
            }
            double tps = stepSeconds > 0 ? tokens / stepSeconds : 0;
            Result res = new Result(label, gc, tc, t.step(), trainCurve, valCurve, lastVal, tps, Scope.peakBytes(),
                    seconds, failure);
            writeSummary(out.resolve("summary.json"), res, corpus);
            List<LossPlot.Curve> curves = new ArrayList<>();
            addCurves(curves, res);
            LossPlot.write(out.resolve("loss.png"), label, curves);
            return res;
        }
    }

    static void addCurves(List<LossPlot.Curve> curves, Result r) {
        curves.add(curve(r.label() + " train", r.trainCurve(), false));
        curves.add(curve(r.label() + " val", r.valCurve(), true));
    }

    private static LossPlot.Curve curve(String label, List<double[]> pts, boolean dashed) {
        double[] x = new double[pts.size()], y = new double[pts.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = pts.get(i)[0];
            y[i] = pts.get(i)[1];
        }
        return new LossPlot.Curve(label, x, y, dashed);
    }

    private static void writeSummary(Path f, Result r, Corpus corpus) throws IOException {
        GptConfig g = r.gpt();
        TrainConfig t = r.train();
        String json = String.format(Locale.ROOT, """
                {
                  "label": "%s",
                  "model": {"layers": %d, "dim": %d, "heads": %d, "ctx": %d, "vocab": %d, "placement": "%s", \
                "norm": "%s", "bits": %d, "grad_bits": %d, "embed_bits": %d, "embed_norm": %s, "mix_alpha": %s},
                  "train": {"steps": %d, "batch": %d, "lr": %s, "warmup": %d, "weight_decay": %s, "clip": %s, \
                "seed": %d, "threads": %d},
                  "data": {"name": "%s", "train_bytes": %d, "validation_bytes": %d},
                  "steps_done": %d,
                  "final_train_loss": %s,
                  "final_val_loss": %s,
                  "tokens_per_second": %.1f,
                  "peak_offheap_bytes": %d,
                  "wall_seconds": %.2f,
                  "failure": %s
                }
                """, esc(r.label()), g.layers(), g.dim(), g.heads(), g.ctx(), g.vocab(), g.placement().id(), esc(g.norm()),
                g.bits(), g.effectiveGradBits(), g.embedBits(), g.embedNorm(), num(g.mixAlpha()), t.steps(), t.batch(),
                num(t.lr()), t.warmup(),
                num(t.weightDecay()), num(t.clip()), t.seed(), org.nibble.kernels.Parallel.threads(),
                esc(corpus.name()), corpus.train().length, corpus.validation().length, r.steps(),
                num(r.trainCurve().isEmpty() ? Double.NaN : r.trainCurve().getLast()[1]), num(r.finalVal()),
                r.tokensPerSecond(), r.peakBytes(), r.seconds(),
                r.failure() == null ? "null" : "\"" + esc(r.failure()) + "\"");
        Files.writeString(f, json);
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String esc(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
