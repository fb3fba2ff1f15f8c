package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.FloatOps;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;

/**
 * One transformer block in one placement (see {@link Placement} and papers.md 0.3, 2-4). Every norm is a separate
 * module with its own parameters. {@code kind} is the block's own form: a Mix-LN model has POST and PRE blocks.
 */
public final class Block implements Layer {
    private final Placement kind;
    private final float normScale;
    private final Attention attn;
    private final Mlp mlp;
    private final Layer n1, n2, n1out, n2out;
    private double lastRms;

    /**
     * @param kind      POST, PRE, PERI or LNS (MIX is resolved per block by the model)
     * @param index1    1-based block index (LNS scales both norm outputs by 1/sqrt(index1))
     */
    Block(String prefix, Placement kind, int index1, GptConfig cfg, double std, double projStd, RandomGenerator rng,
          Scope params, LinearMath math, RoundingClock clock) {
        if (kind == Placement.MIX) {
            throw new IllegalArgumentException("kind: expected a concrete block placement, got MIX");
        }
        this.kind = kind;
        this.normScale = kind == Placement.LNS ? (float) (1.0 / Math.sqrt(index1)) : 1f;
        int c = cfg.dim();
        this.n1 = Norms.create(cfg.norm(), c, prefix + ".ln1", params);
        this.attn = new Attention(prefix + ".attn", c, cfg.heads(), std, projStd, rng, params, math, clock);
        this.n1out = kind == Placement.PERI ? Norms.create(cfg.norm(), c, prefix + ".ln1out", params) : null;
        this.n2 = Norms.create(cfg.norm(), c, prefix + ".ln2", params);
        this.mlp = new Mlp(prefix + ".mlp", c, std, projStd, rng, params, math, clock);
        this.n2out = kind == Placement.PERI ? Norms.create(cfg.norm(), c, prefix + ".ln2out", params) : null;
    }

    /** The norm layers of this block (2 or 4). */
    List<Layer> norms() {
        List<Layer> ns = new ArrayList<>(List.of(n1, n2));
        if (n1out != null) {
            ns.add(n1out);
            ns.add(n2out);
        }
        return ns;
    }

    /** The block's placement form. */
    public Placement kind() {
        return kind;
    }

    @Override
    public Tensor forward(Tensor x, Scope step) {
        return forward(x, step, t -> attn.forward(t, step));
    }

    /** Forward for one token with the attention's KV cache (inference). */
    Tensor forwardCached(Tensor x, Tensor kCache, Tensor vCache, int pos, Scope step) {
        return forward(x, step, t -> attn.forwardCached(t, kCache, vCache, pos, step));
    }

    private Tensor forward(Tensor x, Scope step, UnaryOperator<Tensor> f1) {
        Tensor y = switch (kind) {
            case POST -> {
                Tensor h = n1.forward(add(x, f1.apply(x), step), step);
                yield n2.forward(add(h, mlp.forward(h, step), step), step);
            }
            case PRE, LNS -> {
                Tensor h = add(x, f1.apply(scale(n1.forward(x, step))), step);
                yield add(h, mlp.forward(scale(n2.forward(h, step)), step), step);
            }
            case PERI -> {
                Tensor h = add(x, n1out.forward(f1.apply(n1.forward(x, step)), step), step);
                yield add(h, n2out.forward(mlp.forward(n2.forward(h, step), step), step), step);
            }
            case MIX -> throw new AssertionError();
        };
        lastRms = rms(y);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy, Scope step) {
        return switch (kind) {
            case POST -> {
                Tensor db = n2.backward(dy, step);
                Tensor dh = add(db, mlp.backward(db, step), step);
                Tensor da = n1.backward(dh, step);
                yield add(da, attn.backward(da, step), step);
            }
            case PRE, LNS -> {
                Tensor dh = add(dy, n2.backward(scale(mlp.backward(dy, step)), step), step);
                yield add(dh, n1.backward(scale(attn.backward(dh, step)), step), step);
            }
            case PERI -> {
                Tensor dh = add(dy, n2.backward(mlp.backward(n2out.backward(dy, step), step), step), step);
                yield add(dh, n1.backward(attn.backward(n1out.backward(dh, step), step), step), step);
            }
            case MIX -> throw new AssertionError();
        };
    }

    /** RMS of the block output of the last forward (a curse-of-depth diagnostic). */
    public double lastOutputRms() {
        return lastRms;
    }

    private Tensor scale(Tensor t) {
        if (normScale != 1f) {
            FloatOps.scale((int) t.numel(), normScale, t.segment(), t.offset(), t.segment(), t.offset());
        }
        return t;
    }

    static Tensor add(Tensor a, Tensor b, Scope step) {
        Tensor out = step.zeros(DType.F32, a.shape());
        Ops.add((int) a.numel(), a.segment(), a.offset(), b.segment(), b.offset(), out.segment(), 0);
        return out;
    }

    static double rms(Tensor t) {
        int n = (int) t.numel();
        return n == 0 ? 0 : Math.sqrt(Ops.sumOfSquares(n, t.segment(), t.offset()) / n);
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(n1.params());
        ps.addAll(attn.params());
        if (n1out != null) {
            ps.addAll(n1out.params());
        }
        ps.addAll(n2.params());
        ps.addAll(mlp.params());
        if (n2out != null) {
            ps.addAll(n2out.params());
        }
        return ps;
    }
}
