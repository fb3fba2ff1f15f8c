package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Param;

import java.util.ArrayList;
import java.util.List;

/**
 * Shared machinery of the batch-statistic norms (PowerNorm, Unified Normalization): per-channel quadratic means over
 * the non-padded rows, {@code z = x/sqrt(var+ε)}, {@code y = γ⊙z + β}, and the exact backward used by
 * {@link NormOptions#exactBackward(boolean)}. Subclasses decide {@code var} and the official approximate backward.
 *
 * <p>Exact backward: with {@code s = sqrt(var+ε)}, {@code ρ = ∂var/∂x2} per channel (x2 = the batch quadratic mean
 * over the {@code Nv} valid rows) and {@code g = γ⊙dy}:
 * {@code dx_k = (g_k − [k valid]·z_k·ρ·Σ_all(g⊙z)/Nv) / s} (the sum runs over every row: padded rows are normalized
 * with the batch statistic too).
 */
abstract class BatchStatNorm implements Norm {
    final String kind;
    final int dim;
    final float eps;
    final float scale;
    final boolean exactBackward;
    final Param gamma;
    final Param beta;
    boolean training = true;

    // step state (what backward needs; z lives in the step scope)
    Tensor savedX, z;
    boolean[] pad;
    int rows, valid;

    BatchStatNorm(String kind, int dim, NormOptions o) {
        this.kind = kind;
        this.dim = dim;
        this.eps = o.epsOr(1e-5f);
        this.scale = o.scale();
        this.exactBackward = o.exactBackward();
        this.gamma = NormSupport.param(o, kind, "gamma", 1f, dim);
        this.beta = o.biasOr(true) ? NormSupport.param(o, kind, "beta", 0f, dim) : null;
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
    public void train(boolean on) {
        training = on;
    }

    @Override
    public boolean training() {
        return training;
    }

    @Override
    public Tensor forward(Tensor x, Scope step) {
        return forward(x, null, step);
    }

    /** Per-channel mean of a² over the non-padded rows (double). */
    double[] quadraticMean(float[] a) {
        double[] x2 = new double[dim];
        for (int r = 0; r < rows; r++) {
            if (!pad[r]) {
                for (int c = 0; c < dim; c++) {
                    double v = a[r * dim + c];
                    x2[c] += v * v;
                }
            }
        }
        for (int c = 0; c < dim; c++) {
            x2[c] /= valid;
        }
        return x2;
    }

    /** Counts valid rows and rejects non-finite inputs (naming the row) and all-padding batches. */
    void scan(float[] a, Tensor padMask) {
        pad = NormSupport.padRows(kind, padMask, rows);
        valid = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dim; c++) {
                if (!Float.isFinite(a[r * dim + c])) {
                    throw new ArithmeticException(kind + ": non-finite input x in row " + r + " (NaN or Inf)");
                }
            }
            valid += pad[r] ? 0 : 1;
        }
        if (valid == 0 && training) {
            throw new IllegalArgumentException(kind + ": every one of the " + rows
                    + " rows is padding; batch statistics need at least one valid row");
        }
    }

    /** z = a/sqrt(var+ε) saved in step; y = scale·(γ⊙z + β). */
    Tensor normalize(float[] a, double[] var, int[] shape, Scope step) {
        float[] zz = new float[a.length], y = new float[a.length];
        float[] g = gamma.value().toFloatArray(), b = beta == null ? new float[dim] : beta.value().toFloatArray();
        float[] inv = new float[dim];
        for (int c = 0; c < dim; c++) {
            inv[c] = (float) (1 / Math.sqrt(var[c] + eps));
        }
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dim; c++) {
                int e = r * dim + c;
                zz[e] = a[e] * inv[c];
                y[e] = scale * (g[c] * zz[e] + b[c]);
            }
        }
        z = step.fromArray(zz, shape);
        return step.fromArray(y, shape);
    }

    /** Accumulates dβ += Σ dy and dγ += Σ dy⊙w⊙z (w per channel; null = 1); returns g = γ⊙dy⊙w. */
    float[] paramGrads(float[] dy, float[] zz, double[] w) {
        float[] gv = gamma.value().toFloatArray();
        double[] dg = new double[dim], db = new double[dim];
        float[] g = new float[dy.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dim; c++) {
                int e = r * dim + c;
                double wc = w == null ? 1 : w[c];
                dg[c] += dy[e] * wc * zz[e];
                db[c] += dy[e];
                g[e] = (float) (dy[e] * gv[c] * wc);
            }
        }
        addGrad(gamma, dg);
        if (beta != null) {
            addGrad(beta, db);
        }
        return g;
    }

    static void addGrad(Param p, double[] d) {
        float[] cur = p.grad().toFloatArray();
        for (int i = 0; i < cur.length; i++) {
            cur[i] = (float) (cur[i] + d[i]);
        }
        p.grad().copyFrom(cur);
    }

    /** The exact input gradient (see the class comment); {@code rho == null} means ρ = 0 (constant statistic). */
    float[] exactDx(float[] g, float[] zz, double[] var, double[] rho) {
        double[] sgz = new double[dim];
        if (rho != null) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < dim; c++) {
                    sgz[c] += (double) g[r * dim + c] * zz[r * dim + c];
                }
            }
        }
        float[] dx = new float[g.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dim; c++) {
                int e = r * dim + c;
                double corr = rho == null || pad[r] ? 0 : zz[e] * rho[c] * sgz[c] / valid;
                dx[e] = (float) ((g[e] - corr) / Math.sqrt(var[c] + eps));
            }
        }
        return dx;
    }

    /** Mean over all rows of a⊙b per channel. */
    double[] meanProduct(float[] a, float[] b) {
        double[] m = new double[dim];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < dim; c++) {
                m[c] += (double) a[r * dim + c] * b[r * dim + c];
            }
        }
        for (int c = 0; c < dim; c++) {
            m[c] /= rows;
        }
        return m;
    }

    /** dy (scaled by the output scale) as a float array, checked against the saved input. */
    float[] dyArray(Tensor dyIn, Scope step) {
        Tensor dy = NormSupport.grad(kind, dyIn, savedX, dim, step);
        float[] d = dy.toFloatArray();
        for (int i = 0; i < d.length; i++) {
            if (!Float.isFinite(d[i])) {
                throw new ArithmeticException(kind + ": non-finite gradient dy in row " + i / dim);
            }
            d[i] *= scale;
        }
        return d;
    }

    static Tensor tensor(float[] v, int[] shape, Scope step) {
        return step.zeros(DType.F32, shape).copyFrom(v);
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
