package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.norm.NormKind;
import org.nibble.kernels.norm.RowNorm;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * The per-token float norms over {@link RowNorm}: LayerNorm, RMSNorm, SRMSNorm (RMSNorm without gain), CRMSNorm
 * (input: the d−1 kept coordinates of a zero-mean d-vector, papers.md §5), L1 LayerNorm and its non-centred variant
 * (papers.md §1.6). Forward saves the input and the per-row statistics in the step scope.
 */
final class RowNormLayer implements Norm {
    private final String kind;
    private final NormKind nk;
    private final int dim;
    private final float eps;
    private final float scale;
    private final Param gamma;
    private final Param beta;
    private Tensor x, stat, rstd;

    RowNormLayer(String kind, NormKind nk, int dim, NormOptions o, boolean gain) {
        this.kind = kind;
        this.nk = nk;
        this.dim = dim;
        boolean rms = nk == NormKind.RMSNORM || nk == NormKind.CRMSNORM;
        this.eps = o.epsOr(rms ? 1e-6f : 1e-5f);
        this.scale = o.scale();
        this.gamma = gain ? NormSupport.param(o, kind, "gamma", 1f, dim) : null;
        boolean bias = gain && o.biasOr(!rms);
        this.beta = bias ? NormSupport.param(o, kind, "beta", 0f, dim) : null;
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public Tensor forward(Tensor input, Scope step) {
        Tensor xc = NormSupport.rows(kind, "x", input, dim, step);
        int rows = NormSupport.rowCount(xc, dim);
        Tensor y = step.zeros(DType.F32, xc.shape());
        Tensor st = step.zeros(DType.F32, Math.max(rows, 1));
        Tensor rs = step.zeros(DType.F32, Math.max(rows, 1));
        try {
            RowNorm.forward(nk, rows, dim, eps, xc.segment(), xc.offset(), dim,
                    gamma == null ? null : gamma.value().segment(), 0, beta == null ? null : beta.value().segment(), 0,
                    y.segment(), 0, dim, st.segment(), 0, rs.segment(), 0);
        } catch (ArithmeticException e) {
            throw relabel(e);
        }
        NormSupport.scaleInPlace(y, scale);
        this.x = xc;
        this.stat = st;
        this.rstd = rs;
        return y;
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        Tensor dy = NormSupport.scaled(NormSupport.grad(kind, dyIn, x, dim, step), scale, step);
        int rows = NormSupport.rowCount(x, dim);
        Tensor dx = step.zeros(DType.F32, x.shape());
        try {
            RowNorm.backward(nk, rows, dim, x.segment(), x.offset(), dim,
                    gamma == null ? null : gamma.value().segment(), 0, stat.segment(), 0, rstd.segment(), 0,
                    dy.segment(), dy.offset(), dim, dx.segment(), 0, dim,
                    gamma == null ? null : gamma.grad().segment(), 0, beta == null ? null : beta.grad().segment(), 0);
        } catch (ArithmeticException e) {
            throw relabel(e);
        }
        return dx;
    }

    /** The kernel names its kind (e.g. rmsnorm); the layer's name (e.g. srmsnorm) may differ. */
    private ArithmeticException relabel(ArithmeticException e) {
        String m = e.getMessage();
        if (m != null && m.startsWith(kind + ":")) {
            return e;
        }
        return new ArithmeticException(kind + ": " + m);
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(2);
        if (gamma != null) {
            ps.add(gamma);
        }
        if (beta != null) {
            ps.add(beta);
        }
        return ps;
    }
}
