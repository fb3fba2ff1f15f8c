package org.nibble.models.norm;

import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

/**
 * Unified Normalization as the official {@code UN1d} behaves (papers.md §7). Per channel, statistics over the
 * non-padded rows, no centring:
 * <pre>
 * train: t += 1; x2 = mean x² (non-pad rows);  skip = (W == 1)
 *        recorded = unbiased var of sqrt(buffer_x2) over all W·C entries (before inserting x2)
 *        buffer_x2[t mod W] = x2
 *        outlier filtration (t ≥ warmup, if on): am/gm = arithmetic/geometric mean over the window;
 *             any(am − gm > W·recorded) ⇒ skip, buffer_x2[t mod W] = running_var
 *        var = (t ≤ W or t < warmup or skip) ? x2 : geometric mean of buffer_x2
 *        r = sqrt(var+ε)/sqrt(running_var+ε), clamped to [1,1] if t ≤ max(1000, warmup) or skip, else [1/5, 5]
 *        z = x/sqrt(var+ε);  running_var = m·running_var + (1−m)·var;  y = γ z + β
 * backward: g = γ⊙dy⊙r;  gz = mean_all_rows(g⊙z);  buffer_gz[t mod W] = skip ? ema_gz : gz
 *        mean_gz = (t ≤ W or t < warmup or skip) ? gz : mean(buffer_gz);  ema_gz = m·ema_gz + (1−m)·mean_gz
 *        dx = (g − (skip ? mean_gz : ema_gz)⊙z)/sqrt(var+ε);  dγ = Σ dy⊙r⊙z;  dβ = Σ dy
 * eval:  z = x/sqrt(running_var + ε)
 * </pre>
 * running_var starts at 1, ema_gz and the buffers at 0. {@link NormOptions#exactBackward(boolean)} replaces the
 * backward by the exact gradient of the forward (no compensation r).
 */
final class UnifiedNorm extends BatchStatNorm {
    private final int window;
    private final int warmup;
    private final float momentum;
    private final boolean outlierFiltration;
    private final double[] runningVar, emaGz;
    private final double[][] bufX2, bufGz;
    private long iters, skips;

    // step state
    private double[] x2, var, r;
    private boolean skip, trainStep, early;
    private int slot;

    UnifiedNorm(int dim, NormOptions o) {
        super("unified", dim, o);
        this.window = o.windowSize();
        this.warmup = o.warmupItersOr(4000);
        this.momentum = o.momentum();
        this.outlierFiltration = o.outlierFiltration();
        this.runningVar = new double[dim];
        java.util.Arrays.fill(runningVar, 1.0);
        this.emaGz = new double[dim];
        this.bufX2 = new double[window][dim];
        this.bufGz = new double[window][dim];
    }

    /** Batches skipped by the outlier filtration so far. */
    long skipped() {
        return skips;
    }

    @Override
    public Tensor forward(Tensor x, Tensor padMask, Scope step) {
        Tensor xc = NormSupport.rows(kind, "x", x, dim, step);
        rows = NormSupport.rowCount(xc, dim);
        float[] a = xc.toFloatArray();
        scan(a, padMask);
        trainStep = training;
        if (!training) {
            var = runningVar.clone();
            Tensor y = normalize(a, var, xc.shape(), step);
            savedX = xc;
            return y;
        }
        iters++;
        skip = window <= 1;
        x2 = quadraticMean(a);
        double recorded = recordedVariance();
        slot = (int) (iters % window);
        bufX2[slot] = x2.clone();
        if (iters >= warmup && outlierFiltration) {
            boolean outlier = false;
            for (int c = 0; c < dim && !outlier; c++) {
                double am = 0, lg = 0;
                for (int k = 0; k < window; k++) {
                    am += bufX2[k][c];
                    lg += Math.log(bufX2[k][c]);
                }
                outlier = am / window - Math.exp(lg / window) > recorded * window;
            }
            if (outlier) {
                bufX2[slot] = runningVar.clone();
                skip = true;
                skips++;
            }
        }
        early = iters <= window || iters < warmup || skip;
        var = new double[dim];
        r = new double[dim];
        boolean clampOff = iters <= Math.max(1000, warmup) || skip;
        for (int c = 0; c < dim; c++) {
            if (early) {
                var[c] = x2[c];
            } else {
                double lg = 0;
                for (int k = 0; k < window; k++) {
                    lg += Math.log(bufX2[k][c]);
                }
                var[c] = Math.exp(lg / window);
            }
            double rc = Math.sqrt(var[c] + eps) / Math.sqrt(runningVar[c] + eps);
            r[c] = clampOff ? 1 : Math.min(5, Math.max(0.2, rc));
        }
        Tensor y = normalize(a, var, xc.shape(), step);
        for (int c = 0; c < dim; c++) {
            runningVar[c] = momentum * runningVar[c] + (1 - momentum) * var[c];
        }
        savedX = xc;
        return y;
    }

    /** torch.var(sqrt(buffer_x2)): unbiased variance over all W·C entries. */
    private double recordedVariance() {
        int n = window * dim;
        if (n < 2) {
            return Double.NaN;
        }
        double s = 0, ss = 0;
        for (double[] row : bufX2) {
            for (double v : row) {
                double q = Math.sqrt(v);
                s += q;
                ss += q * q;
            }
        }
        double mean = s / n;
        return (ss - n * mean * mean) / (n - 1);
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        float[] dy = dyArray(dyIn, step);
        float[] zz = z.toFloatArray();
        if (exactBackward || !trainStep) {
            float[] g = paramGrads(dy, zz, null);
            double[] rho = null;
            if (trainStep) {
                rho = new double[dim];
                for (int c = 0; c < dim; c++) {
                    // var = x2 (batch) or the geometric mean of the window, in which x2 has weight 1/W
                    rho[c] = early ? 1 : var[c] / (window * x2[c]);
                }
            }
            return tensor(exactDx(g, zz, var, rho), savedX.shape(), step);
        }
        float[] g = paramGrads(dy, zz, r);
        double[] gz = meanProduct(g, zz);
        bufGz[slot] = skip ? emaGz.clone() : gz.clone();
        double[] meanGz = new double[dim];
        for (int c = 0; c < dim; c++) {
            if (early) {
                meanGz[c] = gz[c];
            } else {
                for (int k = 0; k < window; k++) {
                    meanGz[c] += bufGz[k][c];
                }
                meanGz[c] /= window;
            }
            emaGz[c] = emaGz[c] * momentum + (1 - momentum) * meanGz[c];
        }
        float[] dx = new float[g.length];
        for (int row = 0; row < rows; row++) {
            for (int c = 0; c < dim; c++) {
                int e = row * dim + c;
                double k = skip ? meanGz[c] : emaGz[c];
                dx[e] = (float) ((g[e] - k * zz[e]) / Math.sqrt(var[c] + eps));
            }
        }
        return tensor(dx, savedX.shape(), step);
    }
}
