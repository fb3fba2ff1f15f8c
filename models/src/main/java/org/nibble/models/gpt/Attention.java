package org.nibble.models.gpt;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Softmax;
import org.nibble.models.Layer;
import org.nibble.models.Param;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;


/**
 * Causal multi-head self-attention on {@code (B, T, C)}: {@code qkv = Linear(C, 3C)} (q, k, v in that order along the
 * output, head h owning columns {@code [h*hd, (h+1)*hd)} of each), per head {@code P = softmax_causal(q k^T / sqrt(hd))},
 * {@code ctx = P v}, then {@code Linear(C, C)}. Scores and context run through {@link Ops#gemm} on strided views of
 * the qkv buffer; the (batch, head) pairs run in parallel.
 */
public final class Attention implements Layer {
    private final int dim, heads, hd;
    private final Linear qkv, proj;
    private Tensor qkvOut, probs;
    private int batch, len;

    Attention(String prefix, int dim, int heads, double std, double projStd, RandomGenerator rng, Scope params,
              LinearMath math, RoundingClock clock) {
        this.dim = dim;
        this.heads = heads;
        this.hd = dim / heads;
        this.qkv = new Linear(prefix + ".qkv", dim, 3 * dim, true, std, rng, params, math, clock);
        this.proj = new Linear(prefix + ".proj", dim, dim, true, projStd, rng, params, math, clock);
    }

    @Override
    public Tensor forward(Tensor x, Scope step) {
        batch = x.dim(0);
        len = x.dim(1);
        qkvOut = qkv.forward(x, step);
        probs = step.zeros(DType.F32, batch, heads, len, len);
        Tensor ctx = step.zeros(DType.F32, batch, len, dim);
        MemorySegment q = qkvOut.segment(), p = probs.segment(), c = ctx.segment();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int T = len, C = dim;
        Parallel.forRange(0, batch * heads, (lo, hi) -> {
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / heads, h = bh % heads;
                long qo = (long) b * T * 3 * C + (long) h * hd, ko = qo + C, vo = qo + 2L * C;
                long po = (long) bh * T * T;
                Ops.gemm(false, true, T, T, hd, scale, q, qo, 3 * C, q, ko, 3 * C, 0f, p, po, T);
                // causal softmax in place: row t sees keys 0..t, masked entries become exactly 0
                Softmax.forwardCausal(T, T, 1f, 0, p, po, T, p, po, T);
                Ops.gemm(false, false, T, hd, T, 1f, p, po, T, q, vo, 3 * C, 0f, c, (long) b * T * C + (long) h * hd, C);
            }
        });
        return proj.forward(ctx, step);
    }

    @Override
    public Tensor backward(Tensor dy, Scope step) {
        Tensor dctx = proj.backward(dy, step);
        Tensor dqkv = step.zeros(DType.F32, batch, len, 3 * dim);
        Tensor dprobs = step.zeros(DType.F32, batch, heads, len, len);
        MemorySegment q = qkvOut.segment(), p = probs.segment(), dc = dctx.segment(), dq = dqkv.segment(),
                dp = dprobs.segment();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int T = len, C = dim;
        Parallel.forRange(0, batch * heads, (lo, hi) -> {
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / heads, h = bh % heads;
                long qo = (long) b * T * 3 * C + (long) h * hd, ko = qo + C, vo = qo + 2L * C;
                long co = (long) b * T * C + (long) h * hd;
                long po = (long) bh * T * T;
                // dP = dctx v^T ; dv = P^T dctx
                Ops.gemm(false, true, T, T, hd, 1f, dc, co, C, q, vo, 3 * C, 0f, dp, po, T);
                Ops.gemm(true, false, T, hd, T, 1f, p, po, T, dc, co, C, 0f, dq, vo, 3 * C);
                // dS = softmax backward over the causal prefix of each row (masked entries have P = 0)
                Softmax.backward(T, T, 1f, p, po, T, dp, po, T, dp, po, T);
                // dq = scale dS k ; dk = scale dS^T q
                Ops.gemm(false, false, T, hd, T, scale, dp, po, T, q, ko, 3 * C, 0f, dq, qo, 3 * C);
                Ops.gemm(true, false, T, hd, T, scale, dp, po, T, q, qo, 3 * C, 0f, dq, ko, 3 * C);
            }
        });
        return qkv.backward(dqkv, step);
    }

    /**
     * Inference for one new token at position {@code pos} with a KV cache: {@code x} is {@code (1, 1, C)},
     * {@code kCache}/{@code vCache} are {@code (ctx, C)} and get row {@code pos} written.
     */
    Tensor forwardCached(Tensor x, Tensor kCache, Tensor vCache, int pos, Scope step) {
        Tensor qkv1 = qkv.forward(x, step);
        MemorySegment s = qkv1.segment(), kc = kCache.segment(), vc = vCache.segment();
        MemorySegment.copy(s, 4L * dim, kc, 4L * pos * dim, 4L * dim);
        MemorySegment.copy(s, 8L * dim, vc, 4L * pos * dim, 4L * dim);
        Tensor ctx = step.zeros(DType.F32, 1, 1, dim);
        Tensor scores = step.zeros(DType.F32, pos + 1);
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int h = 0; h < heads; h++) {
            long ho = (long) h * hd;
            Ops.gemm(false, true, 1, pos + 1, hd, scale, s, ho, 3 * dim, kc, ho, dim, 0f, scores.segment(), 0,
                    pos + 1);
            Softmax.forward(1, pos + 1, 1f, scores.segment(), 0, pos + 1, scores.segment(), 0, pos + 1);
            Ops.gemm(false, false, 1, hd, pos + 1, 1f, scores.segment(), 0, pos + 1, vc, ho, dim, 0f,
                    ctx.segment(), ho, dim);
        }
        return proj.forward(ctx, step);
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(qkv.params());
        ps.addAll(proj.params());
        return ps;
    }
}
