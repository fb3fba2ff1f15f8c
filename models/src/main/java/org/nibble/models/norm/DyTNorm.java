package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.norm.DyT;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;

/** Dynamic Tanh {@code γ⊙tanh(α·x) + β} (papers.md §9.1): α one learnable scalar (init {@link NormOptions#dytAlpha()}). */
final class DyTNorm implements Norm {
    private static final String KIND = "dyt";
    private final int dim;
    private final float scale;
    private final Param alpha;
    private final Param gamma;
    private final Param beta;
    private Tensor x;

    DyTNorm(int dim, NormOptions o) {
        this.dim = dim;
        this.scale = o.scale();
        this.alpha = NormSupport.param(o, KIND, "alpha", o.dytAlpha(), 1);
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
        Tensor y = step.zeros(DType.F32, xc.shape());
        DyT.forward(rows, dim, alpha.value().getFloat(0), xc.segment(), xc.offset(), dim, gamma.value().segment(), 0,
                beta == null ? null : beta.value().segment(), 0, y.segment(), 0, dim);
        NormSupport.scaleInPlace(y, scale);
        this.x = xc;
        return y;
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        Tensor dy = NormSupport.scaled(NormSupport.grad(KIND, dyIn, x, dim, step), scale, step);
        int rows = NormSupport.rowCount(x, dim);
        Tensor dx = step.zeros(DType.F32, x.shape());
        DyT.backward(rows, dim, alpha.value().getFloat(0), x.segment(), x.offset(), dim, gamma.value().segment(), 0,
                dy.segment(), dy.offset(), dim, dx.segment(), 0, dim, gamma.grad().segment(), 0,
                beta == null ? null : beta.grad().segment(), 0, alpha.grad().segment(), 0);
        return dx;
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(List.of(alpha, gamma));
        if (beta != null) {
            ps.add(beta);
        }
        return ps;
    }
}
