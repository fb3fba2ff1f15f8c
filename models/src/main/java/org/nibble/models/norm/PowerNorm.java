package org.nibble.models.norm;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.norm.NormKind;
import org.nibble.kernels.norm.RowNorm;

/**
 * PowerNorm as the official {@code MaskPowerNorm} behaves (papers.md §6): GroupScaling1D pre-step (every row
 * divided by the RMS of each of {@code groupNum} channel groups, ε 1e-5, exact backward), then per channel:
 * <pre>
 * train: t += 1;  x2 = mean over non-pad rows of x²
 *        z = x / sqrt((t ≤ warmup ? x2 : running_phi) + ε)
 *        if t < warmup: running_phi = running_phi·(t−1)/t + x2/t      (cumulative mean ...)
 *        running_phi = α_f·running_phi + (1−α_f)·x2                    (... and this EMA every step)
 *        y = γ z + β
 * backward: g = γ⊙dy;  ĝ = g − (1−α_b)·ema_gz·z;  ema_gz += mean_all_rows(ĝ⊙z);  dx = ĝ / sqrt(x2 + ε)
 *           dγ = Σ dy⊙z;  dβ = Σ dy
 * eval:  z = x / sqrt(running_phi + ε)
 * </pre>
 * running_phi starts at 1, ema_gz at 0. With {@link NormOptions#exactBackward(boolean)} the backward is the exact
 * gradient of the forward instead (see {@link BatchStatNorm}).
 */
final class PowerNorm extends BatchStatNorm {
    private static final float GROUP_EPS = 1e-5f;
    private final int groups;
    private final int warmup;
    private final float afwd, abkw;
    private final double[] runningPhi;
    private final double[] emaGz;
    private long iters;

    // step state
    private Tensor gsRstd;
    private double[] x2, var;
    private boolean batchStat, trainStep;

    PowerNorm(int dim, NormOptions o) {
        super("powernorm", dim, o);
        if (dim % o.groupNum() != 0) {
            throw new IllegalArgumentException("powernorm: dim " + dim + " expected divisible by groupNum "
                    + o.groupNum());
        }
        this.groups = o.groupNum();
        this.warmup = o.warmupItersOr(10000);
        this.afwd = o.alphaFwd();
        this.abkw = o.alphaBkw();
        this.runningPhi = new double[dim];
        java.util.Arrays.fill(runningPhi, 1.0);
        this.emaGz = new double[dim];
    }

    /** Training iterations seen (the official {@code iters} buffer). */
    long iterations() {
        return iters;
    }

    /** A copy of running_phi. */
    double[] runningPhi() {
        return runningPhi.clone();
    }

    @Override
    public Tensor forward(Tensor x, Tensor padMask, Scope step) {
        Tensor xc = NormSupport.rows(kind, "x", x, dim, step);
        rows = NormSupport.rowCount(xc, dim);
        int gw = dim / groups;
        Tensor x0 = step.zeros(DType.F32, xc.shape());
        Tensor gr = step.zeros(DType.F32, Math.max(1, rows * groups));
        float[] raw = xc.toFloatArray();
        scan(raw, padMask);
        RowNorm.forward(NormKind.RMSNORM, rows * groups, gw, GROUP_EPS, xc.segment(), xc.offset(), gw, null, 0,
                null, 0, x0.segment(), 0, gw, null, 0, gr.segment(), 0);
        float[] a = x0.toFloatArray();
        trainStep = training;
        if (training) {
            iters++;
            x2 = quadraticMean(a);
            batchStat = iters <= warmup;
            var = batchStat ? x2.clone() : runningPhi.clone();
            for (int c = 0; c < dim; c++) {
                if (iters < warmup) {
                    runningPhi[c] = runningPhi[c] * (iters - 1) / iters + x2[c] / iters;
                }
                runningPhi[c] = afwd * runningPhi[c] + (1 - afwd) * x2[c];
            }
        } else {
            var = runningPhi.clone();
            batchStat = false;
        }
        Tensor y = normalize(a, var, xc.shape(), step);
        savedX = xc;
        gsRstd = gr;
        return y;
    }

    @Override
    public Tensor backward(Tensor dyIn, Scope step) {
        float[] dy = dyArray(dyIn, step);
        float[] zz = z.toFloatArray();
        float[] g = paramGrads(dy, zz, null);
        float[] dx0;
        if (exactBackward || !trainStep) {
            double[] rho = batchStat ? ones() : null;
            dx0 = exactDx(g, zz, var, rho);
        } else {
            // official approximate backward (papers.md §6): ĝ uses the EMA of mean(ĝ z); divides by the batch ψ_B
            float[] gh = new float[g.length];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < dim; c++) {
                    int e = r * dim + c;
                    gh[e] = (float) (g[e] - (1 - abkw) * emaGz[c] * zz[e]);
                }
            }
            double[] m = meanProduct(gh, zz);
            dx0 = new float[g.length];
            for (int c = 0; c < dim; c++) {
                emaGz[c] += m[c];
            }
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < dim; c++) {
                    dx0[r * dim + c] = (float) (gh[r * dim + c] / Math.sqrt(x2[c] + eps));
                }
            }
        }
        // GroupScaling1D backward: exact RMSNorm backward per (row, group)
        int gw = dim / groups;
        Tensor d0 = tensor(dx0, savedX.shape(), step);
        Tensor dx = step.zeros(DType.F32, savedX.shape());
        RowNorm.backward(NormKind.RMSNORM, rows * groups, gw, savedX.segment(), savedX.offset(), gw, null, 0, null, 0,
                gsRstd.segment(), 0, d0.segment(), 0, gw, dx.segment(), 0, gw, null, 0, null, 0);
        return dx;
    }

    private double[] ones() {
        double[] o = new double[dim];
        java.util.Arrays.fill(o, 1.0);
        return o;
    }
}
