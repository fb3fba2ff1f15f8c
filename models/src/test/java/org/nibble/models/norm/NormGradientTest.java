package org.nibble.models.norm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Param;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Gradient checks of every per-token norm against central finite differences of an independent double-precision
 * reference forward (written from papers.md, not from the code under test), for the input and every parameter.
 */
class NormGradientTest {
    static final int[] WIDTHS = {1, 2, 7, 64, 384, 1000};

    /** Parameters of the reference, by suffix (gamma, beta, alpha, lambda); null = absent. */
    record Ref(String name, int d, double eps, double scale, double kappa, Map<String, double[]> p) {
        double[] get(String k) {
            return p.get(k);
        }
    }

    /** Double-precision reference of one row (papers.md §0, §1.6, §5, §9). */
    static double[] refRow(Ref ref, double[] x) {
        int d = x.length;
        double[] g = ref.get("gamma"), b = ref.get("beta");
        double[] y = new double[d];
        double mean = 0, sq = 0, sum = 0;
        for (double v : x) {
            sum += v;
            sq += v * v;
        }
        mean = sum / d;
        switch (ref.name()) {
            case "dyt" -> {
                double a = ref.get("alpha")[0];
                for (int i = 0; i < d; i++) {
                    y[i] = Math.tanh(a * x[i]);
                }
            }
            case "bhyt" -> {
                double a = ref.get("lambda")[0] / (ref.kappa() * Math.sqrt(sq / d + ref.eps()));
                for (int i = 0; i < d; i++) {
                    y[i] = Math.tanh(a * x[i]);
                }
            }
            default -> {
                double c = 0, r;
                switch (ref.name()) {
                    case "layernorm" -> {
                        c = mean;
                        double v = 0;
                        for (double xi : x) {
                            v += (xi - c) * (xi - c);
                        }
                        r = 1 / Math.sqrt(v / d + ref.eps());
                    }
                    case "rmsnorm", "srmsnorm" -> r = 1 / Math.sqrt(sq / d + ref.eps());
                    case "crmsnorm" -> r = 1 / Math.sqrt((sq + sum * sum) / (d + 1) + ref.eps());
                    case "l1" -> {
                        c = mean;
                        double a = 0;
                        for (double xi : x) {
                            a += Math.abs(xi - c);
                        }
                        r = 1 / (a / d + ref.eps());
                    }
                    case "l1-nc" -> {
                        double a = 0;
                        for (double xi : x) {
                            a += Math.abs(xi);
                        }
                        r = 1 / (a / d + ref.eps());
                    }
                    default -> throw new IllegalArgumentException(ref.name());
                }
                for (int i = 0; i < d; i++) {
                    y[i] = (x[i] - c) * r;
                }
            }
        }
        for (int i = 0; i < d; i++) {
            y[i] = ref.scale() * ((g == null ? y[i] : g[i] * y[i]) + (b == null ? 0 : b[i]));
        }
        return y;
    }

    static double loss(Ref ref, double[][] x, double[][] w) {
        double l = 0;
        for (int r = 0; r < x.length; r++) {
            double[] y = refRow(ref, x[r]);
            for (int i = 0; i < y.length; i++) {
                l += w[r][i] * y[i];
            }
        }
        return l;
    }

    static double[][] rowsOf(float[] flat, int rows, int d) {
        double[][] m = new double[rows][d];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < d; i++) {
                m[r][i] = flat[r * d + i];
            }
        }
        return m;
    }

    static void assertGrad(String what, double[] expected, float[] actual, double rtol, double atol) {
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= rtol * scale + atol)) {
                fail(what + "[" + i + "]: analytic " + actual[i] + " vs finite difference " + expected[i]
                        + " (scale " + scale + ")");
            }
        }
    }

    /** Randomizes the parameters (away from their init) and mirrors them into a reference. */
    static Ref randomize(Norm n, String name, int d, double eps, double scale, SplittableRandom rng) {
        Map<String, double[]> p = new HashMap<>();
        for (Param q : n.params()) {
            String key = q.name().substring(q.name().lastIndexOf('.') + 1);
            float[] v = q.value().toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] = switch (key) {
                    case "gamma" -> (float) (1 + 0.3 * rng.nextGaussian());
                    case "beta" -> (float) (0.3 * rng.nextGaussian());
                    case "alpha" -> 0.7f;
                    case "lambda" -> 2.5f;
                    default -> throw new IllegalStateException(key);
                };
            }
            q.value().copyFrom(v);
            double[] dv = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                dv[i] = v[i];
            }
            p.put(key, dv);
        }
        return new Ref(name, d, eps, scale, 10, p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"layernorm", "rmsnorm", "srmsnorm", "crmsnorm", "l1", "l1-nc", "dyt", "bhyt"})
    void gradientsMatchFiniteDifferences(String name) {
        SplittableRandom rng = new SplittableRandom(name.hashCode());
        for (int d : WIDTHS) {
            int rows = d >= 384 ? 2 : 3;
            double eps = 1e-5, scale = d % 2 == 0 ? 0.7 : 1.0;
            try (Scope params = Scope.open("params"); Scope step = Scope.open("step")) {
                Norm n = Norm.create(name, d, NormOptions.defaults().params(params).eps((float) eps)
                        .scale((float) scale));
                Ref ref = randomize(n, name, d, eps, scale, rng);
                float[] xf = new float[rows * d], wf = new float[rows * d];
                for (int i = 0; i < xf.length; i++) {
                    xf[i] = (float) (0.5 + 1.5 * rng.nextGaussian());
                    wf[i] = (float) rng.nextGaussian();
                }
                Tensor x = step.fromArray(xf, rows, d);
                Tensor y = n.forward(x, step);
                double[][] xr = rowsOf(xf, rows, d), w = rowsOf(wf, rows, d);
                // forward against the reference
                float[] yf = y.toFloatArray();
                for (int r = 0; r < rows; r++) {
                    double[] yr = refRow(ref, xr[r]);
                    for (int i = 0; i < d; i++) {
                        assertEquals(yr[i], yf[r * d + i], 2e-5 * (1 + Math.abs(yr[i])),
                                name + " d=" + d + " y[" + r + "," + i + "]");
                    }
                }
                Tensor dx = n.backward(step.fromArray(wf, rows, d), step);
                double[] fd = new double[rows * d];
                for (int r = 0; r < rows; r++) {
                    for (int i = 0; i < d; i++) {
                        double h = 1e-6 * Math.max(1, Math.abs(xr[r][i]));
                        double keep = xr[r][i];
                        xr[r][i] = keep + h;
                        double lp = dot(w[r], refRow(ref, xr[r]));
                        xr[r][i] = keep - h;
                        double lm = dot(w[r], refRow(ref, xr[r]));
                        xr[r][i] = keep;
                        fd[r * d + i] = (lp - lm) / (2 * h);
                    }
                }
                assertGrad(name + " d=" + d + " dx", fd, dx.toFloatArray(), 2e-4, 2e-5);
                for (Param q : n.params()) {
                    String key = q.name().substring(q.name().lastIndexOf('.') + 1);
                    double[] pv = ref.get(key);
                    double[] pfd = new double[pv.length];
                    for (int i = 0; i < pv.length; i++) {
                        double h = 1e-6 * Math.max(1, Math.abs(pv[i]));
                        double keep = pv[i];
                        pv[i] = keep + h;
                        double lp = loss(ref, xr, w);
                        pv[i] = keep - h;
                        double lm = loss(ref, xr, w);
                        pv[i] = keep;
                        pfd[i] = (lp - lm) / (2 * h);
                    }
                    assertGrad(name + " d=" + d + " d" + key, pfd, q.grad().toFloatArray(), 2e-4, 2e-5);
                }
            }
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** The layers accept any leading shape and non-contiguous views. */
    @Test
    void acceptsLeadingDimensionsAndViews() {
        try (Scope params = Scope.open("params"); Scope step = Scope.open("step")) {
            Norm n = Norm.create("layernorm", 8, NormOptions.defaults().params(params));
            Tensor x = step.zeros(org.nibble.engine.DType.F32, 2, 3, 8).fillNormal(new SplittableRandom(1), 0, 1);
            Tensor y = n.forward(x, step);
            assertEquals(3, y.rank());
            Tensor t = step.zeros(org.nibble.engine.DType.F32, 8, 4).fillNormal(new SplittableRandom(2), 0, 1)
                    .transpose(0, 1);
            float[] y1 = n.forward(t, step).toFloatArray();
            float[] y2 = n.forward(t.contiguous(), step).toFloatArray();
            assertTrue(java.util.Arrays.equals(y1, y2), "view and copy give the same output");
        }
    }
}
