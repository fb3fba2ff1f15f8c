package org.nibble.models.norm;

import org.junit.jupiter.api.Test;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Param;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * PowerNorm and Unified Normalization: exact-mode gradients against finite differences of a double reference with
 * padding masks, and the official approximate backward, running statistics and eval mode against an independent
 * double simulation of papers.md §6 / §7 over several steps.
 */
class BatchNormTest {
    static final int[] WIDTHS = {1, 2, 7, 64, 384, 1000};
    static final double EPS = 1e-5;

    // ------------------------------------------------------------------ reference pieces (double)

    /** GroupScaling1D: per row and group, a = x/sqrt(mean_group(x²) + 1e-5). */
    static double[][] groupScale(double[][] x, int groups) {
        int rows = x.length, c = x[0].length, gw = c / groups;
        double[][] a = new double[rows][c];
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < groups; g++) {
                double m = 0;
                for (int i = g * gw; i < (g + 1) * gw; i++) {
                    m += x[r][i] * x[r][i];
                }
                double s = 1 / Math.sqrt(m / gw + 1e-5);
                for (int i = g * gw; i < (g + 1) * gw; i++) {
                    a[r][i] = x[r][i] * s;
                }
            }
        }
        return a;
    }

    static double[] x2(double[][] a, boolean[] pad) {
        int c = a[0].length, n = 0;
        double[] m = new double[c];
        for (int r = 0; r < a.length; r++) {
            if (!pad[r]) {
                n++;
                for (int i = 0; i < c; i++) {
                    m[i] += a[r][i] * a[r][i];
                }
            }
        }
        for (int i = 0; i < c; i++) {
            m[i] /= n;
        }
        return m;
    }

    /** y = γ a/sqrt(var+ε) + β. */
    static double[][] affine(double[][] a, double[] var, double[] g, double[] b) {
        double[][] y = new double[a.length][a[0].length];
        for (int r = 0; r < a.length; r++) {
            for (int i = 0; i < a[0].length; i++) {
                y[r][i] = g[i] * a[r][i] / Math.sqrt(var[i] + EPS) + b[i];
            }
        }
        return y;
    }

    interface Fwd {
        double[][] apply(double[][] x, double[] g, double[] b);
    }

    static double loss(double[][] y, double[][] w) {
        double l = 0;
        for (int r = 0; r < y.length; r++) {
            for (int i = 0; i < y[0].length; i++) {
                l += w[r][i] * y[r][i];
            }
        }
        return l;
    }

    static void check(String what, double[] expected, float[] actual, double rtol, double atol) {
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= rtol * scale + atol)) {
                fail(what + "[" + i + "]: layer " + actual[i] + " vs reference " + expected[i] + " (scale " + scale
                        + ")");
            }
        }
    }

    static double[] flat(double[][] m) {
        double[] f = new double[m.length * m[0].length];
        for (int r = 0; r < m.length; r++) {
            System.arraycopy(m[r], 0, f, r * m[0].length, m[0].length);
        }
        return f;
    }

    static float[] toFloat(double[][] m) {
        double[] f = flat(m);
        float[] o = new float[f.length];
        for (int i = 0; i < f.length; i++) {
            o[i] = (float) f[i];
        }
        return o;
    }

    static double[][] randomRows(SplittableRandom rng, int rows, int c, double mean, double std) {
        double[][] m = new double[rows][c];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < c; i++) {
                m[r][i] = (float) (mean + std * rng.nextGaussian());
            }
        }
        return m;
    }

    static double[] values(Param p) {
        float[] v = p.value().toFloatArray();
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    static void randomizeParams(Norm n, SplittableRandom rng) {
        for (Param p : n.params()) {
            float[] v = p.value().toFloatArray();
            boolean gain = p.name().endsWith("gamma");
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) ((gain ? 1 : 0) + 0.3 * rng.nextGaussian());
            }
            p.value().copyFrom(v);
        }
    }

    /** Runs forward+backward on the layer and checks dx, dγ, dβ against central differences of {@code ref}. */
    static void gradCheck(String what, Norm n, double[][] x, boolean[] pad, Fwd ref, SplittableRandom rng,
                          Scope step) {
        int rows = x.length, c = x[0].length;
        n.params().forEach(Param::zeroGrad);
        double[][] w = randomRows(rng, rows, c, 0, 1);
        float[] mask = new float[rows];
        for (int r = 0; r < rows; r++) {
            mask[r] = pad[r] ? 1 : 0;
        }
        Tensor y = n.forward(step.fromArray(toFloat(x), rows, c), step.fromArray(mask, rows), step);
        double[] g = values(n.params().get(0)), b = values(n.params().get(1));
        check(what + " y", flat(ref.apply(x, g, b)), y.toFloatArray(), 1e-5, 1e-5);
        Tensor dx = n.backward(step.fromArray(toFloat(w), rows, c), step);
        double[] fd = new double[rows * c];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < c; i++) {
                double keep = x[r][i], h = 1e-6 * Math.max(1, Math.abs(keep));
                x[r][i] = keep + h;
                double lp = loss(ref.apply(x, g, b), w);
                x[r][i] = keep - h;
                double lm = loss(ref.apply(x, g, b), w);
                x[r][i] = keep;
                fd[r * c + i] = (lp - lm) / (2 * h);
            }
        }
        check(what + " dx", fd, dx.toFloatArray(), 2e-4, 2e-5);
        double[][] ps = {g, b};
        for (int k = 0; k < 2; k++) {
            double[] p = ps[k];
            double[] pfd = new double[c];
            for (int i = 0; i < c; i++) {
                double keep = p[i], h = 1e-6 * Math.max(1, Math.abs(keep));
                p[i] = keep + h;
                double lp = loss(ref.apply(x, g, b), w);
                p[i] = keep - h;
                double lm = loss(ref.apply(x, g, b), w);
                p[i] = keep;
                pfd[i] = (lp - lm) / (2 * h);
            }
            check(what + (k == 0 ? " dgamma" : " dbeta"), pfd, n.params().get(k).grad().toFloatArray(), 2e-4, 2e-5);
        }
    }

    static final boolean[] PAD5 = {false, true, false, false, true};

    // ------------------------------------------------------------------ exact-mode gradient checks

    @Test
    void powerNormExactGradientsWithPaddingMasks() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int d : WIDTHS) {
            int groups = d % 2 == 0 ? 2 : 1;
            for (boolean warm : new boolean[]{true, false}) {
                try (Scope params = Scope.open("p"); Scope step = Scope.open("s")) {
                    NormOptions o = NormOptions.defaults().params(params).exactBackward(true).groupNum(groups);
                    if (!warm) {
                        o.warmupIters(0); // first step already uses running_phi (= 1): a constant statistic
                    }
                    Norm n = Norm.create("powernorm", d, o);
                    randomizeParams(n, rng);
                    double[][] x = randomRows(rng, 5, d, 0.3, 1.2);
                    Fwd ref = (xx, g, b) -> {
                        double[][] a = groupScale(xx, groups);
                        double[] var = warm ? x2(a, PAD5) : ones(d);
                        return affine(a, var, g, b);
                    };
                    gradCheck("powernorm d=" + d + " warm=" + warm, n, x, PAD5, ref, rng, step);
                }
            }
        }
    }

    @Test
    void unifiedExactGradientsWithPaddingMasksInBatchAndWindowRegimes() {
        SplittableRandom rng = new SplittableRandom(2);
        for (int d : WIDTHS) {
            try (Scope params = Scope.open("p"); Scope step = Scope.open("s")) {
                Norm n = Norm.create("unified", d, NormOptions.defaults().params(params).exactBackward(true)
                        .warmupIters(0).windowSize(2));
                randomizeParams(n, rng);
                // step 1 (t <= W): batch statistic
                double[][] x1 = randomRows(rng, 5, d, 0.3, 1.2);
                gradCheck("unified d=" + d + " t=1", n, x1, PAD5, (xx, g, b) -> affine(xx, x2(xx, PAD5), g, b), rng,
                        step);
                // step 2 (t <= W): batch statistic; remember its x2 for the window
                double[][] x2b = randomRows(rng, 5, d, 0.3, 1.2);
                double[] prev = x2(x2b, PAD5);
                gradCheck("unified d=" + d + " t=2", n, x2b, PAD5, (xx, g, b) -> affine(xx, x2(xx, PAD5), g, b), rng,
                        step);
                // step 3 (t > W): geometric mean of the window {x2 of step 2, x2 of this batch}
                double[][] x3 = randomRows(rng, 5, d, 0.3, 1.2);
                gradCheck("unified d=" + d + " t=3", n, x3, PAD5, (xx, g, b) -> {
                    double[] cur = x2(xx, PAD5), var = new double[d];
                    for (int i = 0; i < d; i++) {
                        var[i] = Math.sqrt(cur[i] * prev[i]);
                    }
                    return affine(xx, var, g, b);
                }, rng, step);
            }
        }
    }

    static double[] ones(int d) {
        double[] o = new double[d];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    // ------------------------------------------------------------------ official behaviour over several steps

    /** Independent double simulation of papers.md §6 (MaskPowerNorm, training mode). */
    static final class PowerSim {
        final int c, groups, warmup;
        final double afwd = 0.9, abkw = 0.9;
        final double[] phi, ema;
        long t;
        double[][] z;
        double[] x2;

        PowerSim(int c, int groups, int warmup) {
            this.c = c;
            this.groups = groups;
            this.warmup = warmup;
            phi = ones(c);
            ema = new double[c];
        }

        double[][] forward(double[][] x, boolean[] pad, double[] g, double[] b) {
            double[][] a = groupScale(x, groups);
            t++;
            x2 = x2(a, pad);
            double[] var = t <= warmup ? x2.clone() : phi.clone();
            z = new double[a.length][c];
            for (int r = 0; r < a.length; r++) {
                for (int i = 0; i < c; i++) {
                    z[r][i] = a[r][i] / Math.sqrt(var[i] + EPS);
                }
            }
            for (int i = 0; i < c; i++) {
                if (t < warmup) {
                    phi[i] = phi[i] * (t - 1) / t + x2[i] / t;
                }
                phi[i] = afwd * phi[i] + (1 - afwd) * x2[i];
            }
            return affine(a, var, g, b);
        }

        /** Returns dL/d(GroupScaling output) (the official PowerFunction backward). */
        double[][] backward(double[][] dy, double[] g) {
            int rows = dy.length;
            double[][] gh = new double[rows][c], dx = new double[rows][c];
            double[] m = new double[c];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < c; i++) {
                    gh[r][i] = dy[r][i] * g[i] - (1 - abkw) * ema[i] * z[r][i];
                    m[i] += gh[r][i] * z[r][i] / rows;
                }
            }
            for (int i = 0; i < c; i++) {
                ema[i] += m[i];
            }
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < c; i++) {
                    dx[r][i] = gh[r][i] / Math.sqrt(x2[i] + EPS);
                }
            }
            return dx;
        }
    }

    /** Chain rule through GroupScaling1D by central differences of the double reference (one row at a time). */
    static double[][] groupScaleBackward(double[][] x, double[][] da, int groups) {
        int rows = x.length, c = x[0].length;
        double[][] dx = new double[rows][c];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < c; i++) {
                double keep = x[r][i], h = 1e-6 * Math.max(1, Math.abs(keep));
                x[r][i] = keep + h;
                double[] ap = groupScale(new double[][]{x[r]}, groups)[0];
                x[r][i] = keep - h;
                double[] am = groupScale(new double[][]{x[r]}, groups)[0];
                x[r][i] = keep;
                double s = 0;
                for (int j = 0; j < c; j++) {
                    s += da[r][j] * (ap[j] - am[j]) / (2 * h);
                }
                dx[r][i] = s;
            }
        }
        return dx;
    }

    @Test
    void powerNormOfficialBackwardMatchesSimulationAcrossWarmup() {
        SplittableRandom rng = new SplittableRandom(3);
        int d = 12, groups = 3;
        try (Scope params = Scope.open("p")) {
            Norm n = Norm.create("powernorm", d, NormOptions.defaults().params(params).groupNum(groups)
                    .warmupIters(2));
            randomizeParams(n, rng);
            double[] g = values(n.params().get(0)), b = values(n.params().get(1));
            PowerSim sim = new PowerSim(d, groups, 2);
            for (int step = 1; step <= 5; step++) {
                try (Scope s = Scope.open("s")) {
                    double[][] x = randomRows(rng, 5, d, 0.2, 1.5), dy = randomRows(rng, 5, d, 0, 1);
                    float[] mask = {0, 1, 0, 0, 1};
                    Tensor y = n.forward(s.fromArray(toFloat(x), 5, d), s.fromArray(mask, 5), s);
                    check("powernorm step " + step + " y", flat(sim.forward(x, PAD5, g, b)), y.toFloatArray(), 1e-5,
                            1e-5);
                    Tensor dx = n.backward(s.fromArray(toFloat(dy), 5, d), s);
                    double[][] ref = groupScaleBackward(x, sim.backward(dy, g), groups);
                    check("powernorm step " + step + " dx", flat(ref), dx.toFloatArray(), 1e-4, 1e-5);
                }
            }
            // eval mode: y = γ·gp(x)/sqrt(running_phi + ε) + β
            n.train(false);
            try (Scope s = Scope.open("s")) {
                double[][] x = randomRows(rng, 3, d, 0.2, 1.5);
                Tensor y = n.forward(s.fromArray(toFloat(x), 3, d), s);
                check("powernorm eval y", flat(affine(groupScale(x, groups), sim.phi, g, b)), y.toFloatArray(), 1e-5,
                        1e-5);
            }
        }
    }

    /** Independent double simulation of papers.md §7 (UN1d, training mode). */
    static final class UnifiedSim {
        final int c, window, warmup;
        final boolean filtration;
        final double m = 0.9;
        final double[] runningVar, ema;
        final double[][] bx2, bgz;
        long t;
        boolean skip, early;
        int slot;
        double[] var, r;
        double[][] z;

        UnifiedSim(int c, int window, int warmup, boolean filtration) {
            this.c = c;
            this.window = window;
            this.warmup = warmup;
            this.filtration = filtration;
            runningVar = ones(c);
            ema = new double[c];
            bx2 = new double[window][c];
            bgz = new double[window][c];
        }

        double[][] forward(double[][] x, boolean[] pad, double[] g, double[] b) {
            t++;
            skip = window <= 1;
            double[] cur = x2(x, pad);
            double mean = 0, sq = 0;
            int n = window * c;
            for (double[] row : bx2) {
                for (double v : row) {
                    mean += Math.sqrt(v) / n;
                }
            }
            for (double[] row : bx2) {
                for (double v : row) {
                    sq += (Math.sqrt(v) - mean) * (Math.sqrt(v) - mean);
                }
            }
            double recorded = sq / (n - 1);
            slot = (int) (t % window);
            bx2[slot] = cur.clone();
            if (t >= warmup && filtration) {
                for (int i = 0; i < c; i++) {
                    double am = 0, gm = 0;
                    for (double[] row : bx2) {
                        am += row[i] / window;
                        gm += Math.log(row[i]) / window;
                    }
                    if (am - Math.exp(gm) > recorded * window) {
                        skip = true;
                    }
                }
                if (skip) {
                    bx2[slot] = runningVar.clone();
                }
            }
            early = t <= window || t < warmup || skip;
            var = new double[c];
            r = new double[c];
            for (int i = 0; i < c; i++) {
                double lg = 0;
                for (double[] row : bx2) {
                    lg += Math.log(row[i]) / window;
                }
                var[i] = early ? cur[i] : Math.exp(lg);
                double rc = Math.sqrt(var[i] + EPS) / Math.sqrt(runningVar[i] + EPS);
                r[i] = (t <= Math.max(1000, warmup) || skip) ? 1 : Math.min(5, Math.max(0.2, rc));
            }
            z = new double[x.length][c];
            for (int row = 0; row < x.length; row++) {
                for (int i = 0; i < c; i++) {
                    z[row][i] = x[row][i] / Math.sqrt(var[i] + EPS);
                }
            }
            for (int i = 0; i < c; i++) {
                runningVar[i] = m * runningVar[i] + (1 - m) * var[i];
            }
            return affine(x, var, g, b);
        }

        double[][] backward(double[][] dy, double[] g) {
            int rows = dy.length;
            double[][] gg = new double[rows][c], dx = new double[rows][c];
            double[] gz = new double[c];
            for (int row = 0; row < rows; row++) {
                for (int i = 0; i < c; i++) {
                    gg[row][i] = dy[row][i] * g[i] * r[i];
                    gz[i] += gg[row][i] * z[row][i] / rows;
                }
            }
            bgz[slot] = skip ? ema.clone() : gz.clone();
            double[] mg = new double[c];
            for (int i = 0; i < c; i++) {
                if (early) {
                    mg[i] = gz[i];
                } else {
                    for (double[] row : bgz) {
                        mg[i] += row[i] / window;
                    }
                }
                ema[i] = ema[i] * m + (1 - m) * mg[i];
            }
            for (int row = 0; row < rows; row++) {
                for (int i = 0; i < c; i++) {
                    dx[row][i] = (gg[row][i] - (skip ? mg[i] : ema[i]) * z[row][i]) / Math.sqrt(var[i] + EPS);
                }
            }
            return dx;
        }
    }

    @Test
    void unifiedOfficialBackwardMatchesSimulationIncludingCompensationAndOutliers() {
        SplittableRandom rng = new SplittableRandom(4);
        int d = 6;
        try (Scope params = Scope.open("p")) {
            Norm n = Norm.create("unified", d, NormOptions.defaults().params(params).warmupIters(3).windowSize(3)
                    .outlierFiltration(true));
            randomizeParams(n, rng);
            double[] g = values(n.params().get(0)), b = values(n.params().get(1));
            UnifiedSim sim = new UnifiedSim(d, 3, 3, true);
            int skipsSeen = 0;
            for (int step = 1; step <= 1010; step++) {
                try (Scope s = Scope.open("s")) {
                    // every 50th batch is an outlier (scaled by 30) to trigger the filtration
                    double std = step % 50 == 0 ? 30 : 1 + 0.2 * rng.nextDouble();
                    double[][] x = randomRows(rng, 5, d, 0.1, std), dy = randomRows(rng, 5, d, 0, 1);
                    float[] mask = {0, 1, 0, 0, 1};
                    Tensor y = n.forward(s.fromArray(toFloat(x), 5, d), s.fromArray(mask, 5), s);
                    double[][] yr = sim.forward(x, PAD5, g, b);
                    skipsSeen += sim.skip ? 1 : 0;
                    Tensor dx = n.backward(s.fromArray(toFloat(dy), 5, d), s);
                    if (step <= 8 || step % 50 == 0 || step > 1000) {
                        check("unified step " + step + " y", flat(yr), y.toFloatArray(), 1e-4, 1e-5);
                        check("unified step " + step + " dx", flat(sim.backward(dy, g)), dx.toFloatArray(), 1e-4,
                                1e-5);
                    } else {
                        sim.backward(dy, g);
                    }
                }
            }
            assertTrue(skipsSeen > 0, "the outlier batches were filtered");
            assertEquals(skipsSeen, ((UnifiedNorm) n).skipped(), "skip count");
            n.train(false);
            try (Scope s = Scope.open("s")) {
                double[][] x = randomRows(rng, 2, d, 0.1, 1);
                check("unified eval y", flat(affine(x, sim.runningVar, g, b)),
                        n.forward(s.fromArray(toFloat(x), 2, d), s).toFloatArray(), 1e-4, 1e-5);
            }
        }
    }

    @Test
    void paddedRowsDoNotChangeTheStatistics() {
        for (String name : new String[]{"powernorm", "unified"}) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                float[] mask = {0, 1, 0};
                float[] x1 = {1, 2, 3, 4, 100, -50, 7, 8, 2, -1, 0.5f, 3};
                float[] x2 = x1.clone();
                x2[4] = -3;
                x2[5] = 9;
                x2[6] = 0;
                x2[7] = 1e3f;
                Norm a = Norm.create(name, 4, NormOptions.defaults().params(params));
                Norm b = Norm.create(name, 4, NormOptions.defaults().params(params));
                float[] y1 = a.forward(s.fromArray(x1, 3, 4), s.fromArray(mask, 3), s).toFloatArray();
                float[] y2 = b.forward(s.fromArray(x2, 3, 4), s.fromArray(mask, 3), s).toFloatArray();
                for (int i : new int[]{0, 1, 2, 3, 8, 9, 10, 11}) {
                    assertEquals(y1[i], y2[i], 1e-6, name + " valid output " + i);
                }
                assertThrows(IllegalArgumentException.class, () -> a.forward(s.fromArray(x1, 3, 4),
                        s.fromArray(new float[]{1, 1, 1}, 3), s), name + ": all-padding batch");
                assertThrows(IllegalArgumentException.class, () -> a.forward(s.fromArray(x1, 3, 4),
                        s.fromArray(new float[]{0, 0}, 2), s), name + ": mask size");
            }
        }
    }
}
