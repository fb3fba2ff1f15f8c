package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Rng;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.random.RandomGenerator;


/**
 * A GPT decoder: token embedding + learned positions, {@code L} blocks in the configured placement, a final norm
 * (absent for Post-LN, whose blocks end in a norm), an LM head tied to the token embedding and the mean
 * cross-entropy loss.
 *
 * <p>The tied head's three matmuls (logits {@code xf wte^T}, {@code dxf = dlogits wte}, {@code dwte += dlogits^T xf})
 * run through a {@link LinearMath} of their own, exactly like a Linear layer with W = wte (out = vocab, in = C):
 * FP32 for {@code embedBits = 32}, 8-bit ShiftQuant (papers.md 1.5) for {@code embedBits = 8}. The embedding lookup
 * (and its gradient scatter) stays an exact gather on the FP32 master weights.
 *
 * <p>Parameters live in the model's own scope (closed by {@link #close()}); a step's activations live in the step
 * scope passed to {@link #forward} and {@link #backward}.
 *
 * <p>Initialization (papers.md 3, 4): every Linear and both embeddings N(0, 0.02), biases 0, norm gains 1. The output
 * projections of attention and MLP get GPT-2's depth-scaled std 0.02/sqrt(2L) for PRE, PERI and MIX; LNS uses the
 * plain 0.02 (the LNS paper: scaled init diminishes its gain) and so does POST (the original Post-LN Transformer).
 * The Mix-LN repository's unusual embedding std sqrt(2/5) (papers.md 3) is not reproduced: all placements share the
 * 0.02 embedding init (as the LNS repository does) so comparisons differ only in the placement.
 */
public final class Gpt implements AutoCloseable {
    /** Standard deviation of the weight init. */
    public static final double INIT_STD = 0.02;

    private final GptConfig cfg;
    private final Scope paramScope;
    private final Param wte, wpe;
    private final Layer embedNorm, finalNorm;
    private final List<Block> blocks = new ArrayList<>();
    private final List<Param> params = new ArrayList<>();
    private final LinearMath math, headMath;
    private final RoundingClock clock;
    private final int headId;

    // step state
    private int[] tokens;
    private int batch, len;
    private Tensor xf, logits;

    /** A freshly initialized model; {@code seed} fixes the init (and the ShiftQuant rounding streams). */
    public Gpt(GptConfig cfg, long seed) {
        this.cfg = cfg;
        this.math = LinearMath.forBits(cfg.bits(), cfg.gradBits());
        this.headMath = LinearMath.forBits(cfg.embedBits(), cfg.embedBits());
        this.clock = new RoundingClock(seed);
        this.paramScope = Scope.open("params");
        RandomGenerator rng = Rng.of(seed);
        int c = cfg.dim();
        wte = new Param("wte", paramScope, cfg.vocab(), c);
        wte.value().fillNormal(rng, 0, INIT_STD);
        wpe = new Param("wpe", paramScope, cfg.ctx(), c);
        wpe.value().fillNormal(rng, 0, INIT_STD);
        params.add(wte);
        params.add(wpe);
        Placement p = cfg.placement();
        embedNorm = p == Placement.PERI && cfg.embedNorm() ? Norms.create(cfg.norm(), c, "ln_embed", paramScope)
                : null;
        if (embedNorm != null) {
            params.addAll(embedNorm.params());
        }
        boolean scaled = p == Placement.PRE || p == Placement.PERI || p == Placement.MIX;
        double projStd = scaled ? INIT_STD / Math.sqrt(2.0 * cfg.layers()) : INIT_STD;
        for (int l = 0; l < cfg.layers(); l++) {
            Placement kind = p == Placement.MIX ? (l < cfg.mixPostBlocks() ? Placement.POST : Placement.PRE) : p;
            Block b = new Block("blocks." + l, kind, l + 1, cfg, INIT_STD, projStd, rng, paramScope, math, clock);
            blocks.add(b);
            params.addAll(b.params());
        }
        finalNorm = p == Placement.POST ? null : Norms.create(cfg.norm(), c, "ln_f", paramScope);
        // registered after the blocks, so the blocks' rounding streams do not depend on embedBits
        headId = clock.register();
        if (finalNorm != null) {
            params.addAll(finalNorm.params());
        }
    }

    public GptConfig config() {
        return cfg;
    }

    /** All parameters in a fixed order (embeddings, blocks in order, final norm). */
    public List<Param> params() {
        return Collections.unmodifiableList(params);
    }

    /** Number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (Param p : params) {
            n += p.size();
        }
        return n;
    }

    /** The blocks (for diagnostics). */
    public List<Block> blocks() {
        return Collections.unmodifiableList(blocks);
    }

    /** Label of the Linear arithmetic, e.g. {@code fp32}. */
    public String linearLabel() {
        return math.label();
    }

    /** Label of the tied LM head's arithmetic, {@code fp32} or {@code shiftquant-8}. */
    public String headLabel() {
        return headMath.label();
    }

    /**
     * Forward pass over {@code batch} sequences of {@code len} tokens ({@code tokens} row-major, values in
     * {@code [0, vocab)}). With {@code targets} returns the mean cross-entropy and keeps dL/dlogits for
     * {@link #backward}; without (null) returns NaN and keeps the logits ({@link #logits()}).
     */
    public double forward(int[] tokens, int[] targets, int batch, int len, Scope step) {
        if (len < 1 || len > cfg.ctx()) {
            throw new IllegalArgumentException("len: expected 1..ctx=" + cfg.ctx() + ", got " + len);
        }
        if (batch < 1 || tokens.length != batch * len) {
            throw new IllegalArgumentException("tokens: expected batch*len = " + batch + "*" + len + " ids, got "
                    + tokens.length);
        }
        this.tokens = tokens;
        this.batch = batch;
        this.len = len;
        int c = cfg.dim(), n = batch * len;
        Tensor x = step.zeros(DType.F32, batch, len, c);
        MemorySegment xs = x.segment(), te = wte.value().segment(), pe = wpe.value().segment();
        for (int i = 0; i < n; i++) {
            int tok = tokens[i];
            if (tok < 0 || tok >= cfg.vocab()) {
                throw new IllegalArgumentException("tokens[" + i + "]: expected 0 <= id < " + cfg.vocab() + ", got "
                        + tok);
            }
            Ops.add(c, te, (long) tok * c, pe, (long) (i % len) * c, xs, (long) i * c);
        }
        if (embedNorm != null) {
            x = embedNorm.forward(x, step);
        }
        for (Block b : blocks) {
            x = b.forward(x, step);
        }
        xf = finalNorm == null ? x : finalNorm.forward(x, step);
        logits = step.zeros(DType.F32, batch, len, cfg.vocab());
        headMath.forward(n, c, cfg.vocab(), xf, wte.value(), logits);
        if (targets == null) {
            return Double.NaN;
        }
        if (targets.length != n) {
            throw new IllegalArgumentException("targets: expected " + n + " ids, got " + targets.length);
        }
        return Ops.crossEntropy(n, cfg.vocab(), logits.segment(), 0, targets);
    }

    /** Logits {@code (B, T, V)} of the last forward without targets. */
    public Tensor logits() {
        return logits;
    }

    /** Backward pass of the last forward with targets; accumulates into every {@link Param#grad()}. */
    public void backward(Scope step) {
        int c = cfg.dim(), v = cfg.vocab(), n = batch * len;
        // tied head (logits holds dL/dlogits): dxf = dlogits wte ; dwte += dlogits^T xf
        Tensor dx = step.zeros(DType.F32, batch, len, c);
        headMath.backwardInput(n, c, v, logits, wte.value(), dx, clock.seed(headId, 0));
        headMath.backwardWeight(n, c, v, logits, xf, wte.grad(), clock.seed(headId, 1), step);
        if (finalNorm != null) {
            dx = finalNorm.backward(dx, step);
        }
        for (int l = blocks.size() - 1; l >= 0; l--) {
            dx = blocks.get(l).backward(dx, step);
        }
        if (embedNorm != null) {
            dx = embedNorm.backward(dx, step);
        }
        // embedding scatter in token order (deterministic)
        MemorySegment d = dx.segment(), gte = wte.grad().segment(), gpe = wpe.grad().segment();
        for (int i = 0; i < n; i++) {
            Ops.addInto(c, d, (long) i * c, gte, (long) tokens[i] * c);
            Ops.addInto(c, d, (long) i * c, gpe, (long) (i % len) * c);
        }
    }

    /**
     * Sets the training step that seeds the stochastic rounding of the backward pass (ShiftQuant mode), so a
     * resumed run rounds exactly like an uninterrupted one.
     */
    public void setStep(long step) {
        clock.setStep(step);
    }

    /**
     * Train or eval mode of the norms (only batch-statistic norms such as PowerNorm and Unified behave differently:
     * eval uses their running statistics and leaves them unchanged).
     */
    public void setTraining(boolean on) {
        List<Layer> ns = new ArrayList<>();
        if (embedNorm != null) {
            ns.add(embedNorm);
        }
        for (Block b : blocks) {
            ns.addAll(b.norms());
        }
        if (finalNorm != null) {
            ns.add(finalNorm);
        }
        for (Layer n : ns) {
            if (n instanceof org.nibble.models.norm.Norm norm) {
                norm.train(on);
            }
        }
    }

    /** Sets every parameter gradient to zero. */
    public void zeroGrad() {
        for (Param p : params) {
            p.zeroGrad();
        }
    }

    /**
     * Incremental decoding state with a KV cache: feed tokens one at a time with {@link Session#next(int)}, which
     * returns the logits of the next token.
     */
    public Session session() {
        return new Session();
    }

    /** A KV-cached decoding session; close it to free the cache. */
    public final class Session implements AutoCloseable {
        private final Scope cache = Scope.open("kv-cache");
        private final Tensor[] k = new Tensor[blocks.size()], v = new Tensor[blocks.size()];
        private int pos;

        private Session() {
            for (int l = 0; l < blocks.size(); l++) {
                k[l] = cache.zeros(DType.F32, cfg.ctx(), cfg.dim());
                v[l] = cache.zeros(DType.F32, cfg.ctx(), cfg.dim());
            }
        }

        /** Tokens consumed so far. */
        public int position() {
            return pos;
        }

        /** Consumes {@code token} and returns the next-token logits (a copy). */
        public float[] next(int token) {
            if (pos >= cfg.ctx()) {
                throw new IllegalStateException("context full: " + cfg.ctx() + " tokens");
            }
            if (token < 0 || token >= cfg.vocab()) {
                throw new IllegalArgumentException("token: expected 0 <= id < " + cfg.vocab() + ", got " + token);
            }
            int c = cfg.dim();
            try (Scope step = Scope.open("decode")) {
                Tensor x = step.zeros(DType.F32, 1, 1, c);
                Ops.add(c, wte.value().segment(), (long) token * c, wpe.value().segment(), (long) pos * c,
                        x.segment(), 0);
                if (embedNorm != null) {
                    x = embedNorm.forward(x, step);
                }
                for (int l = 0; l < blocks.size(); l++) {
                    x = blocks.get(l).forwardCached(x, k[l], v[l], pos, step);
                }
                if (finalNorm != null) {
                    x = finalNorm.forward(x, step);
                }
                Tensor lg = step.zeros(DType.F32, cfg.vocab());
                headMath.forward(1, c, cfg.vocab(), x, wte.value(), lg);
                pos++;
                return lg.toFloatArray();
            }
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    /** Frees the parameters. */
    @Override
    public void close() {
        paramScope.close();
    }
}
