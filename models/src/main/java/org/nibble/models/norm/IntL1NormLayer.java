package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.norm.IntL1Norm;
import org.nibble.models.Param;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/**
 * The fully-quantized L1 LayerNorm (papers.md §1.6) as a float-in/float-out layer: the input is quantized to int8
 * codes (symmetric per-row absmax, round to nearest), {@link IntL1Norm} normalizes in integers and requantizes x̂ at
 * the fixed scale {@link NormOptions#intOutScale()}, and the layer applies γ, β in float. Backward quantizes
 * {@code g = γ⊙dy} per row (absmax, round to nearest), runs the integer backward with the signs from the stored
 * codes, and passes the input gradient straight through the input quantizer (straight-through estimator);
 * {@code dγ = Σ dy⊙x̂}, {@code dβ = Σ dy} with the dequantized x̂.
 */
final class IntL1NormLayer implements Norm {
    private static final String KIND = "int-l1";
    private final int dim;
    private final float eps;
    private final float scale;
    private final float outScale;
    private final Param gamma;
    private final Param beta;
    private Tensor x, q, inScale, rowSum, rstd, codes;

    IntL1NormLayer(int dim, NormOptions o) {
        if (dim > IntL1Norm.MAX_WIDTH) {
            throw new IllegalArgumentException(KIND + ": dim expected <= " + IntL1Norm.MAX_WIDTH + ", got " + dim);
        }
        this.dim = dim;
        this.eps = o.epsOr(1e-5f);
        this.scale = o.scale();
        this.outScale = o.intOutScale();
        this.gamma = NormSupport.param(o, KIND, "gamma", 1f, dim);
        this.beta = o.biasOr(true) ? NormSupport.param(o, KIND, "beta", 0f, dim) : null;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Tensor forward(Tensor input, Scope step) {
        Tensor xc = NormSupport.rows(KIND, "x", input, dim, step);
        int rows = NormSupport.rowCount(xc, dim);
        int r1 = Math.max(rows, 1);
        Tensor qc = step.zeros(DType.I8, xc.shape()), s = step.zeros(DType.F32, r1);
        quantizeRows("input x", rows, xc.segment(), xc.offset(), qc.segment(), s.segment());
        Tensor out = step.zeros(DType.I8, xc.shape()), sums = step.zeros(DType.I32, r1), rs = step.zeros(DType.F32, r1);
        IntL1Norm.forward(rows, dim, true, eps, qc.segment(), 0, dim, s.segment(), 0, outScale, out.segment(), 0, dim,
                sums.segment(), 0, rs.segment(), 0);
        Tensor y = step.zeros(DType.F32, xc.shape());
        MemorySegment ys = y.segment(), os = out.segment(), gs = gamma.value().segment();
        MemorySegment bs = beta == null ? null : beta.value().segment();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < dim; i++) {
                long e = (long) r * dim + i;
                float xh = outScale * os.get(JAVA_BYTE, e);
                float v = xh * gs.getAtIndex(FLOAT, i) + (bs == null ? 0f : bs.getAtIndex(FLOAT, i));
                ys.setAtIndex(FLOAT, e, scale * v);
            }
        }
        this.x = xc;
        this.q = qc;
        this.inScale = s;
        this.rowSum = sums;
        this.rstd = rs;
        this.codes = out;
        return y;
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        Tensor dy = NormSupport.grad(KIND, dyIn, x, dim, step);
        int rows = NormSupport.rowCount(x, dim);
        Tensor g = step.zeros(DType.F32, x.shape());
        MemorySegment dys = dy.segment(), gs = g.segment(), gam = gamma.value().segment();
        MemorySegment dg = gamma.grad().segment(), db = beta == null ? null : beta.grad().segment();
        MemorySegment os = codes.segment();
        long dyo = dy.offset();
        double[] dgAcc = new double[dim], dbAcc = new double[dim];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < dim; i++) {
                long e = (long) r * dim + i;
                float d = scale * dys.getAtIndex(FLOAT, dyo + e);
                gs.setAtIndex(FLOAT, e, d * gam.getAtIndex(FLOAT, i));
                dgAcc[i] += (double) d * outScale * os.get(JAVA_BYTE, e);
                dbAcc[i] += d;
            }
        }
        for (int i = 0; i < dim && rows > 0; i++) {
            dg.setAtIndex(FLOAT, i, (float) (dg.getAtIndex(FLOAT, i) + dgAcc[i]));
            if (db != null) {
                db.setAtIndex(FLOAT, i, (float) (db.getAtIndex(FLOAT, i) + dbAcc[i]));
            }
        }
        int r1 = Math.max(rows, 1);
        Tensor gq = step.zeros(DType.I8, x.shape()), sg = step.zeros(DType.F32, r1);
        quantizeRows("gradient dy", rows, gs, 0, gq.segment(), sg.segment());
        Tensor dx = step.zeros(DType.F32, x.shape());
        IntL1Norm.backward(rows, dim, true, q.segment(), 0, dim, rowSum.segment(), 0, rstd.segment(), 0,
                codes.segment(), 0, dim, outScale, gq.segment(), 0, dim, sg.segment(), 0, dx.segment(), 0, dim);
        return dx;
    }

    /**
     * Symmetric per-row absmax quantization to int8 with round to nearest: {@code s = max|v|/127} (1 for a zero row,
     * whose codes are all 0), {@code code = rint(v/s)}.
     */
    private void quantizeRows(String what, int rows, MemorySegment v, long vOff, MemorySegment codes,
                              MemorySegment scales) {
        for (int r = 0; r < rows; r++) {
            long base = vOff + (long) r * dim;
            float m = 0;
            for (int i = 0; i < dim; i++) {
                m = Math.max(m, Math.abs(v.getAtIndex(FLOAT, base + i)));
            }
            if (!Float.isFinite(m)) {
                throw new ArithmeticException(KIND + ": non-finite " + what + " in row " + r + " (NaN or Inf)");
            }
            float s = m > 0 ? m / 127f : 1f;
            float inv = 1f / s;
            for (int i = 0; i < dim; i++) {
                float c = Math.round(v.getAtIndex(FLOAT, base + i) * inv);
                codes.set(JAVA_BYTE, (long) r * dim + i, (byte) Math.max(-127, Math.min(127, (int) c)));
            }
            scales.setAtIndex(FLOAT, r, m > 0 ? s : (what.startsWith("gradient") ? 0f : 1f));
        }
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(2);
        ps.add(gamma);
        if (beta != null) {
            ps.add(beta);
        }
        return ps;
    }
}
