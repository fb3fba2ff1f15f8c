package org.nibble.models.train;

import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.engine.data.BatchSampler;
import org.nibble.engine.data.Corpus;
import org.nibble.engine.io.SafeTensors;
import org.nibble.models.Param;
import org.nibble.models.gpt.Gpt;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.Ops;
import org.nibble.models.gpt.Placement;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains a {@link Gpt} on a {@link Corpus}: seeded batches, AdamW with warmup + cosine schedule and global-norm
 * clipping, one step scope per step (closed at the end, so off-heap memory stays flat), validation on fixed batches,
 * non-finite detection naming the step and the layer, and safetensors checkpoints that resume the exact same loss
 * trajectory (batch {@code i} depends only on the seed and {@code i}; optimizer moments and the step are saved).
 *
 * <p>Same seed and thread count give bit-identical losses.
 */
public final class Trainer implements AutoCloseable {
    /** Format tag written into checkpoint metadata. */
    public static final String FORMAT = "nibble-gpt/1";

    /** What one step did. */
    public record StepResult(long step, double loss, double lr, double gradNorm, double[] blockRms,
                             double[] blockGradNorm) {
    }

    private final Gpt model;
    private final TrainConfig tc;
    private final AdamW opt;
    private final BatchSampler train, val;
    private final String dataName;
    private long step;

    /** A fresh run: the model is initialised from {@code tc.seed()}. */
    public Trainer(GptConfig gc, TrainConfig tc, Corpus corpus) {
        this(new Gpt(gc, tc.seed()), tc, corpus);
    }

    private Trainer(Gpt model, TrainConfig tc, Corpus corpus) {
        this.model = model;
        this.tc = tc;
        this.opt = new AdamW(model.params(), tc);
        int len = model.config().ctx();
        this.train = new BatchSampler(corpus.train(), tc.batch(), len, tc.seed());
        this.val = new BatchSampler(corpus.validation(), tc.batch(), len, tc.seed() ^ 0x5EED_5EEDL);
        this.dataName = corpus.name();
    }

    public Gpt model() {
        return model;
    }

    public TrainConfig trainConfig() {
        return tc;
    }

    /** Completed steps. */
    public long step() {
        return step;
    }

    /** Tokens per step (batch x ctx). */
    public long tokensPerStep() {
        return (long) tc.batch() * model.config().ctx();
    }

    /** Runs one optimizer step. */
    public StepResult step(boolean diagnostics) {
        long t = step + 1;
        BatchSampler.Batch b = train.get(step);
        model.zeroGrad();
        model.setStep(step);
        double loss;
        double[] rms;
        try (Scope s = Scope.open("step")) {
            loss = model.forward(b.tokens(), b.targets(), b.batch(), b.len(), s);
            rms = blockRms();
            if (!Double.isFinite(loss)) {
                throw new NonFiniteException(t, firstNonFiniteBlock(rms), "loss is " + loss
                        + "; first non-finite activation");
            }
            model.backward(s);
        }
        List<Param> ps = model.params();
        double total = 0;
        int layers = model.config().layers();
        double[] blockSq = new double[layers];
        for (Param p : ps) {
            double sq = Ops.sumOfSquares((int) p.size(), p.grad().segment(), 0);
            if (!Double.isFinite(sq)) {
                throw new NonFiniteException(t, p.name(), "non-finite gradient");
            }
            total += sq;
            int blk = blockIndex(p.name());
            if (blk >= 0) {
                blockSq[blk] += sq;
            }
        }
        double norm = Math.sqrt(total);
        float scale = tc.clip() > 0 && norm > tc.clip() ? (float) (tc.clip() / (norm + 1e-6)) : 1f;
        double lr = tc.lrAt(step);
        opt.step(lr, scale, t);
        step = t;
        double[] blockNorm = null;
        if (diagnostics) {
            blockNorm = new double[layers];
            for (int l = 0; l < layers; l++) {
                blockNorm[l] = Math.sqrt(blockSq[l]);
            }
        }
        return new StepResult(t, loss, lr, norm, diagnostics ? rms : null, blockNorm);
    }

    /** Mean validation loss over {@code evalBatches} fixed batches. */
    public double evaluate() {
        double sum = 0;
        model.setTraining(false);
        try {
            for (int i = 0; i < tc.evalBatches(); i++) {
                BatchSampler.Batch b = val.get(i);
                try (Scope s = Scope.open("eval")) {
                    sum += model.forward(b.tokens(), b.targets(), b.batch(), b.len(), s);
                }
            }
        } finally {
            model.setTraining(true);
        }
        return sum / tc.evalBatches();
    }

    private double[] blockRms() {
        var blocks = model.blocks();
        double[] r = new double[blocks.size()];
        for (int l = 0; l < r.length; l++) {
            r[l] = blocks.get(l).lastOutputRms();
        }
        return r;
    }

    private static String firstNonFiniteBlock(double[] rms) {
        for (int l = 0; l < rms.length; l++) {
            if (!Double.isFinite(rms[l])) {
                return "blocks." + l + " (output)";
            }
        }
        return "the LM head / cross-entropy";
    }

    private static int blockIndex(String name) {
        if (!name.startsWith("blocks.")) {
            return -1;
        }
        int dot = name.indexOf('.', 7);
        return Integer.parseInt(name.substring(7, dot));
    }

    // ------------------------------------------------------------------ checkpoints

    /**
     * Writes parameters, AdamW moments ({@code optim.m.NAME}, {@code optim.v.NAME}), the step and both configs
     * (metadata) as one safetensors file, atomically.
     */
    public void save(Path path) throws IOException {
        Map<String, Tensor> ts = new LinkedHashMap<>();
        for (Param p : model.params()) {
            ts.put(p.name(), p.value());
        }
        for (Param p : model.params()) {
            ts.put("optim.m." + p.name(), opt.m(p));
            ts.put("optim.v." + p.name(), opt.v(p));
        }
        GptConfig g = model.config();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("step", Long.toString(step));
        meta.put("data", dataName);
        meta.put("gpt.layers", Integer.toString(g.layers()));
        meta.put("gpt.dim", Integer.toString(g.dim()));
        meta.put("gpt.heads", Integer.toString(g.heads()));
        meta.put("gpt.ctx", Integer.toString(g.ctx()));
        meta.put("gpt.vocab", Integer.toString(g.vocab()));
        meta.put("gpt.placement", g.placement().id());
        meta.put("gpt.norm", g.norm());
        meta.put("gpt.bits", Integer.toString(g.bits()));
        meta.put("gpt.gradBits", Integer.toString(g.gradBits()));
        meta.put("gpt.embedBits", Integer.toString(g.embedBits()));
        meta.put("gpt.embedNorm", Boolean.toString(g.embedNorm()));
        meta.put("gpt.mixAlpha", Double.toString(g.mixAlpha()));
        meta.put("train.steps", Integer.toString(tc.steps()));
        meta.put("train.batch", Integer.toString(tc.batch()));
        meta.put("train.lr", Double.toString(tc.lr()));
        meta.put("train.minLrRatio", Double.toString(tc.minLrRatio()));
        meta.put("train.warmup", Integer.toString(tc.warmup()));
        meta.put("train.weightDecay", Double.toString(tc.weightDecay()));
        meta.put("train.beta1", Double.toString(tc.beta1()));
        meta.put("train.beta2", Double.toString(tc.beta2()));
        meta.put("train.eps", Double.toString(tc.eps()));
        meta.put("train.clip", Double.toString(tc.clip()));
        meta.put("train.seed", Long.toString(tc.seed()));
        meta.put("train.evalEvery", Integer.toString(tc.evalEvery()));
        meta.put("train.evalBatches", Integer.toString(tc.evalBatches()));
        SafeTensors.write(path, ts, meta);
    }

    /** A checkpoint's configs and step, read from its metadata. */
    public record CheckpointInfo(GptConfig gpt, TrainConfig train, long step, String data) {
    }

    /** Reads the configs of a checkpoint without loading the tensors into a model. */
    public static CheckpointInfo info(Map<String, String> meta, Path path) throws IOException {
        if (!FORMAT.equals(meta.get("format"))) {
            throw new SafeTensors.SafeTensorsException(path + ": not a nibble GPT checkpoint (metadata format is "
                    + meta.get("format") + ", expected " + FORMAT + ")");
        }
        try {
            GptConfig g = new GptConfig(i(meta, "gpt.layers"), i(meta, "gpt.dim"), i(meta, "gpt.heads"),
                    i(meta, "gpt.ctx"), i(meta, "gpt.vocab"), Placement.parse(meta.get("gpt.placement")),
                    meta.get("gpt.norm"), i(meta, "gpt.bits"),
                    Integer.parseInt(meta.getOrDefault("gpt.gradBits", "0")),
                    Integer.parseInt(meta.getOrDefault("gpt.embedBits", "32")),
                    Boolean.parseBoolean(meta.get("gpt.embedNorm")),
                    d(meta, "gpt.mixAlpha"));
            TrainConfig t = new TrainConfig(i(meta, "train.steps"), i(meta, "train.batch"), d(meta, "train.lr"),
                    d(meta, "train.minLrRatio"), i(meta, "train.warmup"), d(meta, "train.weightDecay"),
                    d(meta, "train.beta1"), d(meta, "train.beta2"), d(meta, "train.eps"), d(meta, "train.clip"),
                    Long.parseLong(meta.get("train.seed")), i(meta, "train.evalEvery"),
                    i(meta, "train.evalBatches"));
            return new CheckpointInfo(g, t, Long.parseLong(meta.get("step")), meta.get("data"));
        } catch (RuntimeException e) {
            throw new SafeTensors.SafeTensorsException(path + ": corrupt nibble checkpoint metadata: " + e);
        }
    }

    /** Loads the model (and optimizer state) of a checkpoint; {@code corpus} supplies the batches to continue. */
    public static Trainer resume(Path path, Corpus corpus) throws IOException {
        return resume(path, corpus, 0);
    }

    /**
     * Like {@link #resume(Path, Corpus)}, but with {@code steps > 0} the run's total becomes {@code steps} (to extend a
     * finished run; the cosine schedule is stretched from the resumed step on, so the trajectory differs from a run
     * planned that long).
     */
    public static Trainer resume(Path path, Corpus corpus, int steps) throws IOException {
        try (Scope tmp = Scope.open("checkpoint")) {
            SafeTensors.Loaded l = SafeTensors.read(path, tmp);
            CheckpointInfo info = info(l.metadata(), path);
            TrainConfig t = info.train();
            if (steps > 0) {
                t = new TrainConfig(steps, t.batch(), t.lr(), t.minLrRatio(), t.warmup(), t.weightDecay(), t.beta1(),
                        t.beta2(), t.eps(), t.clip(), t.seed(), t.evalEvery(), t.evalBatches());
            }
            Trainer tr = new Trainer(info.gpt(), t, corpus);
            try {
                for (Param p : tr.model.params()) {
                    copy(path, l, p.name(), p.value());
                    copy(path, l, "optim.m." + p.name(), tr.opt.m(p));
                    copy(path, l, "optim.v." + p.name(), tr.opt.v(p));
                }
            } catch (IOException | RuntimeException e) {
                tr.close();
                throw e;
            }
            tr.step = info.step();
            return tr;
        }
    }

    /** Loads only the model of a checkpoint (for generation). */
    public static Gpt loadModel(Path path) throws IOException {
        try (Scope tmp = Scope.open("checkpoint")) {
            SafeTensors.Loaded l = SafeTensors.read(path, tmp);
            CheckpointInfo info = info(l.metadata(), path);
            Gpt g = new Gpt(info.gpt(), info.train().seed());
            try {
                for (Param p : g.params()) {
                    copy(path, l, p.name(), p.value());
                }
            } catch (IOException | RuntimeException e) {
                g.close();
                throw e;
            }
            return g;
        }
    }

    private static void copy(Path path, SafeTensors.Loaded l, String name, Tensor into) throws IOException {
        Tensor t = l.tensors().get(name);
        if (t == null) {
            throw new SafeTensors.SafeTensorsException(path + ": checkpoint lacks tensor " + name);
        }
        if (!java.util.Arrays.equals(t.shape(), into.shape()) || t.dtype() != into.dtype()) {
            throw new SafeTensors.SafeTensorsException(path + ": tensor " + name + " has shape "
                    + java.util.Arrays.toString(t.shape()) + " " + t.dtype() + ", expected "
                    + java.util.Arrays.toString(into.shape()) + " " + into.dtype());
        }
        java.lang.foreign.MemorySegment.copy(t.segment(), 0, into.segment(), 0, t.numel() * 4);
    }

    private static int i(Map<String, String> m, String k) {
        return Integer.parseInt(m.get(k));
    }

    private static double d(Map<String, String> m, String k) {
        return Double.parseDouble(m.get(k));
    }

    @Override
    public void close() {
        opt.close();
        model.close();
    }
}
