package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.norm.BHyT;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * Bounded hyperbolic tangent {@code γ⊙tanh(λ·x/(κ·sqrt(v+ε)))} (papers.md §9.2). {@link #forward(Tensor, Scope)}
 * uses the exact per-token variance {@code v = mean(x²)} (BHyT_Star, and the block's first norm), which it keeps as
 * {@link #variance()}; {@link #forwardApprox} takes the block's approximate variance {@code v2} (see
 * {@link #approxVariance}) for the second norm, and its backward leaves {@code dL/dv2} in {@link #varianceGrad()}.
 */
public final class BHyTNorm implements Norm {
    private static final String KIND = "bhyt";
    private final int dim;
    private final float eps;
    private final float kappa;
    private final float scale;
    private final Param lambda;
    private final Param gamma;
    private final Param beta;
    private Tensor x, var, dvar;
    private boolean exact;

    BHyTNorm(int dim, NormOptions o) {
        this.dim = dim;
        this.eps = o.epsOr(1e-6f);
        this.kappa = o.bhytKappa();
        this.scale = o.scale();
        this.lambda = NormSupport.param(o, KIND, "lambda", o.bhytLambda(), 1);
        this.gamma = NormSupport.param(o, KIND, "gamma", 1f, dim);
        this.beta = o.biasOr(false) ? NormSupport.param(o, KIND, "beta", 0f, dim) : null;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public int dim() {
        return dim;
    }

    /** The learnable λ. */
    public Param lambda() {
        return lambda;
    }

    /** κ. */
    public float kappa() {
        return kappa;
    }

    @Override
    public Tensor forward(Tensor input, Scope step) {
        return run(input, null, step);
    }

    /**
     * Forward with a given per-row variance ({@code v} has one element per row): the block's second norm with
     * {@code v2 = v1 + c_attn·λ_in²/κ²}.
     */
    public Tensor forwardApprox(Tensor input, Tensor v, Scope step) {
        if (v == null) {
            throw new NullPointerException(KIND + ": v is null");
        }
        return run(input, v, step);
    }

    private Tensor run(Tensor input, Tensor v, Scope step) {
        Tensor xc = NormSupport.rows(KIND, "x", input, dim, step);
        int rows = NormSupport.rowCount(xc, dim);
        Tensor vv;
        if (v == null) {
            vv = step.zeros(DType.F32, Math.max(rows, 1));
        } else {
            if (v.numel() != rows || v.dtype() != DType.F32) {
                throw new IllegalArgumentException(KIND + ": v expected " + rows + " F32 values (one per row), got "
                        + v.numel() + " " + v.dtype());
            }
            vv = v.isContiguous() ? v : v.copy(step);
        }
        Tensor y = step.zeros(DType.F32, xc.shape());
        BHyT.forward(rows, dim, lambda.value().getFloat(0), kappa, eps, v == null, xc.segment(), xc.offset(), dim,
                gamma.value().segment(), 0, beta == null ? null : beta.value().segment(), 0, y.segment(), 0, dim,
                vv.segment(), vv.offset());
        NormSupport.scaleInPlace(y, scale);
        this.x = xc;
        this.var = vv;
        this.exact = v == null;
        this.dvar = null;
        return y;
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        Tensor dy = NormSupport.scaled(NormSupport.grad(KIND, dyIn, x, dim, step), scale, step);
        int rows = NormSupport.rowCount(x, dim);
        Tensor dx = step.zeros(DType.F32, x.shape());
        Tensor dv = exact ? null : step.zeros(DType.F32, Math.max(rows, 1));
        BHyT.backward(rows, dim, lambda.value().getFloat(0), kappa, eps, exact, x.segment(), x.offset(), dim,
                gamma.value().segment(), 0, var.segment(), var.offset(), dy.segment(), dy.offset(), dim,
                dx.segment(), 0, dim, gamma.grad().segment(), 0, beta == null ? null : beta.grad().segment(), 0,
                lambda.grad().segment(), 0, dv == null ? null : dv.segment(), 0);
        this.dvar = dv;
        return dx;
    }

    /** The per-row variance of the last forward (computed in exact mode, given in approximate mode). */
    public Tensor variance() {
        return var;
    }

    /** dL/dv per row after an approximate-mode backward (null after an exact-mode one). */
    public Tensor varianceGrad() {
        return dvar;
    }

    /** {@code v2 = v1 + cAttn·λ_in²/κ²} per row, in {@code step} (papers.md §9.2; λ_in treated as constant). */
    public static Tensor approxVariance(Tensor v1, float cAttn, float lambdaIn, float kappa, Scope step) {
        Tensor v1c = v1.isContiguous() ? v1 : v1.copy(step);
        Tensor v2 = step.zeros(DType.F32, v1.shape());
        BHyT.approxVariance((int) v1.numel(), v1c.segment(), v1c.offset(), cAttn, lambdaIn, kappa, v2.segment(), 0);
        return v2;
    }

    /**
     * {@code c_attn = ‖W_Vᵀ W_Oᵀ‖_F² / (T·d)} from the value projection {@code wv [dv, d]} and the output projection
     * {@code wo [d, dv]} (PyTorch (out, in) layout, GQA already expanded), for sequence length {@code seqLen}.
     * Plain double loops, O(d²·dv): meant to be recomputed every N steps, as the official training callback does.
     */
    public static float attnCoefficient(Tensor wv, Tensor wo, int seqLen) {
        if (wv.rank() != 2 || wo.rank() != 2 || wv.dim(0) != wo.dim(1) || wv.dim(1) != wo.dim(0)) {
            throw new IllegalArgumentException(KIND + ": expected wv [dv, d] and wo [d, dv], got "
                    + java.util.Arrays.toString(wv.shape()) + " and " + java.util.Arrays.toString(wo.shape()));
        }
        if (seqLen < 1) {
            throw new IllegalArgumentException("seqLen: expected >= 1, got " + seqLen);
        }
        int dv = wv.dim(0), d = wv.dim(1);
        float[] a = wv.toFloatArray(), b = wo.toFloatArray();
        double fro = 0;
        double[] row = new double[d];
        for (int i = 0; i < d; i++) { // row i of (W_O W_V): Σ_k wo[i,k]·wv[k,:]
            java.util.Arrays.fill(row, 0);
            for (int k = 0; k < dv; k++) {
                double w = b[i * dv + k];
                for (int j = 0; j < d; j++) {
                    row[j] += w * a[k * d + j];
                }
            }
            for (int j = 0; j < d; j++) {
                fro += row[j] * row[j];
            }
        }
        return (float) (fro / ((double) seqLen * d));
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>(List.of(lambda, gamma));
        if (beta != null) {
            ps.add(beta);
        }
        return ps;
    }
}
