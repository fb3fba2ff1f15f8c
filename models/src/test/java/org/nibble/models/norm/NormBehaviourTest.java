package org.nibble.models.norm;

import org.junit.jupiter.api.Test;
import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.models.Param;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Integer L1 layer accuracy, the known identities, BHyT's approximate mode, and bad-input behaviour. */
class NormBehaviourTest {

    static float[] gaussian(SplittableRandom rng, int n, double mean, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (mean + std * rng.nextGaussian());
        }
        return v;
    }

    static double[] l1Row(double[] x, double[] g, double[] b, double eps) {
        int d = x.length;
        double mu = 0, a = 0;
        for (double v : x) {
            mu += v / d;
        }
        for (double v : x) {
            a += Math.abs(v - mu) / d;
        }
        double r = 1 / (a + eps);
        double[] y = new double[d];
        for (int i = 0; i < d; i++) {
            y[i] = g[i] * (x[i] - mu) * r + b[i];
        }
        return y;
    }

    static double relErr(double[] ref, float[] got) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            num += (ref[i] - got[i]) * (ref[i] - got[i]);
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    @Test
    void intL1LayerStaysWithinQuantizationErrorOfTheFloatL1Norm() {
        SplittableRandom rng = new SplittableRandom(21);
        for (int d : new int[]{1, 2, 7, 64, 384, 1000}) {
            int rows = 3;
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                Norm n = Norm.create("int-l1", d, NormOptions.defaults().params(params));
                Param gamma = n.params().get(0), beta = n.params().get(1);
                gamma.value().copyFrom(gaussian(rng, d, 1, 0.2));
                beta.value().copyFrom(gaussian(rng, d, 0, 0.2));
                float[] gf = gamma.value().toFloatArray(), bf = beta.value().toFloatArray();
                double[] g = new double[d], b = new double[d];
                for (int i = 0; i < d; i++) {
                    g[i] = gf[i];
                    b[i] = bf[i];
                }
                float[] xf = gaussian(rng, rows * d, 0.4, 1.3), wf = gaussian(rng, rows * d, 0, 1);
                float[] y = n.forward(s.fromArray(xf, rows, d), s).toFloatArray();
                float[] dx = n.backward(s.fromArray(wf, rows, d), s).toFloatArray();
                double[] fdx = new double[rows * d], dg = new double[d], db = new double[d];
                for (int r = 0; r < rows; r++) {
                    double[] x = new double[d], w = new double[d];
                    double maxAbs = 0;
                    for (int i = 0; i < d; i++) {
                        x[i] = xf[r * d + i];
                        w[i] = wf[r * d + i];
                        maxAbs = Math.max(maxAbs, Math.abs(x[i]));
                    }
                    double[] yr = l1Row(x, g, b, 1e-5);
                    double mu = 0, a = 0;
                    for (double v : x) {
                        mu += v / d;
                    }
                    for (double v : x) {
                        a += Math.abs(v - mu) / d;
                    }
                    // input step s = max|x|/127 moves x̂ by at most ~s/σ1 (x - μ both shift); output step 8/127
                    double inErr = d == 1 ? 0 : 2 * (maxAbs / 127) / a;
                    for (int i = 0; i < d; i++) {
                        double tol = Math.abs(g[i]) * (0.5 * 8 / 127 + inErr) + 1e-5;
                        if (!(Math.abs(yr[i] - y[r * d + i]) <= tol)) {
                            fail("int-l1 d=" + d + " y[" + r + "," + i + "]: " + y[r * d + i] + " vs float L1 " + yr[i]
                                    + " (tol " + tol + ")");
                        }
                        dg[i] += w[i] * (yr[i] - b[i]) / g[i];
                        db[i] += w[i];
                    }
                    for (int i = 0; i < d; i++) {
                        double keep = x[i], h = 1e-6;
                        x[i] = keep + h;
                        double[] p = l1Row(x, g, b, 1e-5);
                        x[i] = keep - h;
                        double[] m = l1Row(x, g, b, 1e-5);
                        x[i] = keep;
                        double sum = 0;
                        for (int j = 0; j < d; j++) {
                            sum += w[j] * (p[j] - m[j]) / (2 * h);
                        }
                        fdx[r * d + i] = sum;
                    }
                }
                // error budget: 5 % of the gradient, plus 2 % of r·|γ⊙dy| (the size of each term of dx; the requantized
                // x̂ and g carry ~1/127 relative error each), which matters where dx ≈ 0 (d = 2: x̂ = ±1 is constant)
                double err = 0, ref = 0, terms = 0;
                for (int r = 0; r < rows; r++) {
                    double mu = 0, a = 0;
                    for (int i = 0; i < d; i++) {
                        mu += xf[r * d + i] / (double) d;
                    }
                    for (int i = 0; i < d; i++) {
                        a += Math.abs(xf[r * d + i] - mu) / d;
                    }
                    for (int i = 0; i < d; i++) {
                        int k = r * d + i;
                        err += (fdx[k] - dx[k]) * (fdx[k] - dx[k]);
                        ref += fdx[k] * fdx[k];
                        double t = wf[k] * g[i] / (a + 1e-5);
                        terms += d == 1 ? 0 : t * t;
                    }
                }
                assertTrue(Math.sqrt(err) <= 0.05 * Math.sqrt(ref) + 0.02 * Math.sqrt(terms) + 1e-6, "int-l1 d=" + d
                        + " dx error " + Math.sqrt(err) + " vs the float L1 gradient of norm " + Math.sqrt(ref));
                assertTrue(relErr(dg, gamma.grad().toFloatArray()) < 0.05, "int-l1 d=" + d + " dgamma");
                assertTrue(relErr(db, beta.grad().toFloatArray()) < 1e-5, "int-l1 d=" + d + " dbeta");
            }
        }
    }

    @Test
    void layerNormOnZeroMeanRowsEqualsRmsNorm() {
        SplittableRandom rng = new SplittableRandom(22);
        for (int d : new int[]{2, 7, 64, 384, 1000}) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                NormOptions o = NormOptions.defaults().params(params).eps(1e-6f).bias(false);
                Norm ln = Norm.create("layernorm", d, o), rms = Norm.create("rmsnorm", d, o);
                float[] x = zeroMeanRows(rng, 3, d);
                float[] a = ln.forward(s.fromArray(x, 3, d), s).toFloatArray();
                float[] b = rms.forward(s.fromArray(x, 3, d), s).toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    assertEquals(b[i], a[i], 2e-5 * (1 + Math.abs(b[i])), "d=" + d + " i=" + i);
                }
            }
        }
    }

    static float[] zeroMeanRows(SplittableRandom rng, int rows, int d) {
        float[] x = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            double[] v = new double[d];
            double m = 0;
            for (int i = 0; i < d; i++) {
                v[i] = 2 + 1.5 * rng.nextGaussian();
                m += v[i] / d;
            }
            for (int i = 0; i < d; i++) {
                x[r * d + i] = (float) (v[i] - m);
            }
        }
        return x;
    }

    @Test
    void crmsNormOnTheCompressedVectorEqualsRmsNormOnTheFullZeroMeanVector() {
        SplittableRandom rng = new SplittableRandom(23);
        for (int d : new int[]{2, 7, 64, 384, 1000}) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                NormOptions o = NormOptions.defaults().params(params).eps(1e-6f);
                Norm rms = Norm.create("rmsnorm", d, o), crms = Norm.create("crmsnorm", d - 1, o);
                float[] x = zeroMeanRows(rng, 3, d);
                float[] xc = new float[3 * (d - 1)];
                for (int r = 0; r < 3; r++) {
                    System.arraycopy(x, r * d, xc, r * (d - 1), d - 1);
                }
                float[] yf = rms.forward(s.fromArray(x, 3, d), s).toFloatArray();
                float[] yc = crms.forward(s.fromArray(xc, 3, d - 1), s).toFloatArray();
                // backward: the compressed coordinates x' with x_d = −Σx' ⇒ dx'_j = dx_j − dx_d (dy_d = 0)
                float[] dy = gaussian(rng, 3 * d, 0, 1), dyc = new float[3 * (d - 1)];
                for (int r = 0; r < 3; r++) {
                    dy[r * d + d - 1] = 0;
                    System.arraycopy(dy, r * d, dyc, r * (d - 1), d - 1);
                }
                float[] dxf = rms.backward(s.fromArray(dy, 3, d), s).toFloatArray();
                float[] dxc = crms.backward(s.fromArray(dyc, 3, d - 1), s).toFloatArray();
                for (int r = 0; r < 3; r++) {
                    for (int i = 0; i < d - 1; i++) {
                        float full = yf[r * d + i], comp = yc[r * (d - 1) + i];
                        assertEquals(full, comp, 2e-5 * (1 + Math.abs(full)), "y d=" + d);
                        double chain = dxf[r * d + i] - dxf[r * d + d - 1];
                        assertEquals(chain, dxc[r * (d - 1) + i], 1e-4 * (1 + Math.abs(chain)), "dx d=" + d);
                    }
                }
            }
        }
    }

    @Test
    void bhytApproximateModeGradientsIncludingTheVarianceInput() {
        SplittableRandom rng = new SplittableRandom(24);
        int d = 64, rows = 3;
        try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
            BHyTNorm n = (BHyTNorm) Norm.create("bhyt", d, NormOptions.defaults().params(params).bhytLambda(3f));
            float[] gf = gaussian(rng, d, 1, 0.2);
            n.params().get(1).value().copyFrom(gf);
            float[] xf = gaussian(rng, rows * d, 0.1, 2), wf = gaussian(rng, rows * d, 0, 1);
            float[] v = {1.5f, 4f, 0.7f};
            // v2 = v1 + c·λ²/κ² from a v1
            Tensor v2 = BHyTNorm.approxVariance(s.fromArray(new float[]{1.4f, 3.9f, 0.6f}, rows), 0.5f, 2f, 10f, s);
            assertEquals(1.4f + 0.5f * 4 / 100, v2.getFloat(0), 1e-6);
            n.forwardApprox(s.fromArray(xf, rows, d), s.fromArray(v, rows), s);
            float[] dx = n.backward(s.fromArray(wf, rows, d), s).toFloatArray();
            float[] dv = n.varianceGrad().toFloatArray();
            float dl = n.lambda().grad().getFloat(0);
            double lam = 3, kappa = 10, eps = 1e-6;
            double dlRef = 0;
            for (int r = 0; r < rows; r++) {
                final int row = r;
                java.util.function.BiFunction<double[], Double, Double> loss = (p, lv) -> {
                    double a = lv / (kappa * Math.sqrt(p[d] + eps)), l = 0;
                    for (int i = 0; i < d; i++) {
                        l += wf[row * d + i] * gf[i] * Math.tanh(a * p[i]);
                    }
                    return l;
                };
                double[] p = new double[d + 1];
                for (int i = 0; i < d; i++) {
                    p[i] = xf[r * d + i];
                }
                p[d] = v[r];
                for (int i = 0; i <= d; i++) {
                    double keep = p[i], h = 1e-6;
                    p[i] = keep + h;
                    double lp = loss.apply(p, lam);
                    p[i] = keep - h;
                    double lm = loss.apply(p, lam);
                    p[i] = keep;
                    double fd = (lp - lm) / (2 * h);
                    float got = i < d ? dx[r * d + i] : dv[r];
                    assertEquals(fd, got, 1e-4 * (1 + Math.abs(fd)), "bhyt approx row " + r + " input " + i);
                }
                dlRef += (loss.apply(p, lam + 1e-6) - loss.apply(p, lam - 1e-6)) / 2e-6;
            }
            assertEquals(dlRef, dl, 1e-4 * (1 + Math.abs(dlRef)), "bhyt dlambda");
        }
    }

    @Test
    void attnCoefficientIsTheScaledFrobeniusNorm() {
        try (Scope s = Scope.open("s")) {
            // wv = [[1,0],[0,2]] (dv=2, d=2), wo = identity ⇒ W_O W_V = wv, ‖·‖² = 5; T = 10, d = 2 ⇒ 0.25
            Tensor wv = s.fromArray(new float[]{1, 0, 0, 2}, 2, 2), wo = s.fromArray(new float[]{1, 0, 0, 1}, 2, 2);
            assertEquals(0.25f, BHyTNorm.attnCoefficient(wv, wo, 10), 1e-7);
        }
    }

    @Test
    void tanhNormsStayBoundedForHugeOutliers() {
        for (String name : new String[]{"dyt", "bhyt"}) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                Norm n = Norm.create(name, 16, NormOptions.defaults().params(params));
                float[] x = gaussian(new SplittableRandom(5), 32, 0, 1);
                x[3] = 1e6f;
                x[20] = -4e7f;
                float[] y = n.forward(s.fromArray(x, 2, 16), s).toFloatArray();
                for (float v : y) {
                    assertTrue(Math.abs(v) <= 1f, name + " bounded: " + v);
                }
                float[] dx = n.backward(s.fromArray(gaussian(new SplittableRandom(6), 32, 0, 1), 2, 16), s)
                        .toFloatArray();
                for (float v : dx) {
                    assertTrue(Float.isFinite(v), name + " finite gradient");
                }
            }
        }
    }

    @Test
    void nonFiniteRowsGiveAClearErrorNamingTheNormAndRow() {
        for (String name : Norm.NAMES) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                Norm n = Norm.create(name, 8, NormOptions.defaults().params(params));
                float[] x = gaussian(new SplittableRandom(7), 24, 0, 1);
                x[8 + 3] = Float.NaN;
                ArithmeticException e = assertThrows(ArithmeticException.class,
                        () -> n.forward(s.fromArray(x, 3, 8), s), name);
                assertTrue(e.getMessage().contains(name) && e.getMessage().contains("row 1"), e.getMessage());
                // Inf: a clear error or a finite (defined) output, never a silent NaN
                x[8 + 3] = Float.POSITIVE_INFINITY;
                try {
                    float[] y = n.forward(s.fromArray(x, 3, 8), s).toFloatArray();
                    for (float v : y) {
                        assertTrue(Float.isFinite(v), name + ": Inf input gave " + v);
                    }
                } catch (ArithmeticException expected) {
                    assertTrue(expected.getMessage().contains(name), expected.getMessage());
                }
                // NaN gradient
                float[] ok = gaussian(new SplittableRandom(8), 24, 0, 1);
                n.forward(s.fromArray(ok, 3, 8), s);
                float[] dy = gaussian(new SplittableRandom(9), 24, 0, 1);
                dy[16] = Float.NaN;
                ArithmeticException g = assertThrows(ArithmeticException.class,
                        () -> n.backward(s.fromArray(dy, 3, 8), s), name + " NaN dy");
                assertTrue(g.getMessage().contains(name) && g.getMessage().contains("row 2"), g.getMessage());
            }
        }
    }

    @Test
    void constantRowsAreHandledByEpsilon() {
        for (String name : Norm.NAMES) {
            try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
                Norm n = Norm.create(name, 8, NormOptions.defaults().params(params));
                float[] x = new float[24];
                java.util.Arrays.fill(x, 0, 8, 2.5f);   // constant row
                // row 1: all zero; row 2: constant negative
                java.util.Arrays.fill(x, 16, 24, -1f);
                float[] y = n.forward(s.fromArray(x, 3, 8), s).toFloatArray();
                float[] dx = n.backward(s.fromArray(gaussian(new SplittableRandom(1), 24, 0, 1), 3, 8), s)
                        .toFloatArray();
                for (int i = 0; i < 24; i++) {
                    assertTrue(Float.isFinite(y[i]) && Float.isFinite(dx[i]), name + " finite at " + i);
                }
            }
        }
    }

    @Test
    void wrongShapesAndNamesGiveClearErrors() {
        try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
            for (String name : Norm.NAMES) {
                Norm n = Norm.create(name, 8, NormOptions.defaults().params(params));
                assertEquals(name, n.kind());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> n.forward(s.zeros(DType.F32, 2, 7), s), name);
                assertTrue(e.getMessage().contains(name) && e.getMessage().contains("expected 8")
                        && e.getMessage().contains("got 7"), e.getMessage());
                assertThrows(IllegalStateException.class, () -> n.backward(s.zeros(DType.F32, 2, 8), s),
                        name + ": backward before forward");
                n.forward(s.fromArray(gaussian(new SplittableRandom(2), 16, 0, 1), 2, 8), s);
                assertThrows(IllegalArgumentException.class, () -> n.backward(s.zeros(DType.F32, 3, 8), s),
                        name + ": dy shape");
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Norm.create("batchnorm", 8, NormOptions.defaults().params(params)));
            assertTrue(e.getMessage().contains("layernorm") && e.getMessage().contains("batchnorm"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Norm.create("layernorm", 8, NormOptions.defaults()));
            assertThrows(IllegalArgumentException.class, () -> Norm.create("powernorm", 8,
                    NormOptions.defaults().params(params).groupNum(3)));
        }
    }

    @Test
    void layerNormScalingMultipliesTheOutput() {
        try (Scope params = Scope.open("p"); Scope s = Scope.open("s")) {
            float[] x = gaussian(new SplittableRandom(3), 16, 0.5, 2);
            for (String name : Norm.NAMES) {
                Norm a = Norm.create(name, 8, NormOptions.defaults().params(params));
                Norm b = Norm.create(name, 8, NormOptions.defaults().params(params).scale(0.5f));
                float[] ya = a.forward(s.fromArray(x, 2, 8), s).toFloatArray();
                float[] yb = b.forward(s.fromArray(x, 2, 8), s).toFloatArray();
                for (int i = 0; i < 16; i++) {
                    assertEquals(0.5f * ya[i], yb[i], 1e-6 * (1 + Math.abs(ya[i])), name);
                }
            }
        }
    }
}
