package org.nibble.kernels.norm;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link BHyT} (same signatures; double math; single-threaded) and shared row helpers. */
public final class BHyTScalar {
    private BHyTScalar() {
    }

    /** See {@link BHyT#forward}. */
    public static void forward(int rows, int width, float lambda, float kappa, float eps, boolean exactVariance,
                               MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                               MemorySegment beta, long bOff, MemorySegment y, long yOff, int ldy,
                               MemorySegment var, long vOff) {
        checkForward(rows, width, lambda, kappa, eps, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy, var, vOff);
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * ldx;
            float v;
            if (exactVariance) {
                double q = 0;
                for (int i = 0; i < width; i++) {
                    double xv = x.getAtIndex(FLOAT, xr + i);
                    q += xv * xv;
                }
                v = (float) (q / width);
                var.setAtIndex(FLOAT, vOff + r, v);
            } else {
                v = var.getAtIndex(FLOAT, vOff + r);
            }
            checkVariance(r, v);
            double a = slope(lambda, kappa, eps, v);
            for (int i = 0; i < width; i++) {
                double xv = x.getAtIndex(FLOAT, xr + i);
                if (Double.isNaN(xv)) {
                    throw NormChecks.nonFinite("bhyt", "input x (NaN)", r);
                }
                double u = Math.tanh(a * xv);
                double out = (gamma == null ? u : u * gamma.getAtIndex(FLOAT, gOff + i))
                        + (beta == null ? 0 : beta.getAtIndex(FLOAT, bOff + i));
                y.setAtIndex(FLOAT, yOff + (long) r * ldy + i, (float) out);
            }
        }
    }

    /** See {@link BHyT#backward}. */
    public static void backward(int rows, int width, float lambda, float kappa, float eps, boolean exactVariance,
                                MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                                MemorySegment var, long vOff, MemorySegment dy, long dyOff, int lddy,
                                MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                                MemorySegment dbeta, long dbOff, MemorySegment dlambda, long dlOff,
                                MemorySegment dvar, long dvOff) {
        checkBackward(rows, width, lambda, kappa, eps, x, xOff, ldx, gamma, gOff, var, vOff, dy, dyOff, lddy, dx,
                dxOff, lddx, dgamma, dgOff, dbeta, dbOff, dlambda, dlOff, dvar, dvOff);
        double[] dg = new double[width], db = new double[width];
        double dl = 0;
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * ldx, dyr = dyOff + (long) r * lddy, dxr = dxOff + (long) r * lddx;
            float v = var.getAtIndex(FLOAT, vOff + r);
            double a = slope(lambda, kappa, eps, v);
            double t = 0;
            for (int i = 0; i < width; i++) {
                double xv = x.getAtIndex(FLOAT, xr + i), d = dy.getAtIndex(FLOAT, dyr + i);
                double u = Math.tanh(a * xv);
                double g = gamma == null ? d : d * gamma.getAtIndex(FLOAT, gOff + i);
                t += g * xv * (1 - u * u);
                dg[i] += d * u;
                db[i] += d;
            }
            if (!Double.isFinite(t)) {
                throw NormChecks.nonFinite("bhyt", "gradient dy or input x", r);
            }
            double k = exactVariance ? -t * a / (width * ((double) v + eps)) : 0;
            for (int i = 0; i < width; i++) {
                double xv = x.getAtIndex(FLOAT, xr + i), d = dy.getAtIndex(FLOAT, dyr + i);
                double u = Math.tanh(a * xv);
                double g = gamma == null ? d : d * gamma.getAtIndex(FLOAT, gOff + i);
                dx.setAtIndex(FLOAT, dxr + i, (float) (g * a * (1 - u * u) + k * xv));
            }
            if (!exactVariance && dvar != null) {
                dvar.setAtIndex(FLOAT, dvOff + r, (float) (-t * a / (2 * ((double) v + eps))));
            }
            dl += t / (kappa * Math.sqrt((double) v + eps));
        }
        DyTScalar.accumulate(width, dg, dgamma, dgOff);
        DyTScalar.accumulate(width, db, dbeta, dbOff);
        if (dlambda != null && rows > 0) {
            dlambda.setAtIndex(FLOAT, dlOff, (float) (dlambda.getAtIndex(FLOAT, dlOff) + dl));
        }
    }

    /** See {@link BHyT#approxVariance}. */
    public static void approxVariance(int rows, MemorySegment v1, long v1Off, float cAttn, float lambdaIn,
                                      float kappa, MemorySegment v2, long v2Off) {
        NormChecks.vector("v1", v1, v1Off, rows, 4);
        NormChecks.vector("v2", v2, v2Off, rows, 4);
        NormChecks.nonNegative("cAttn", cAttn);
        NormChecks.positive("kappa", kappa);
        float add = (float) ((double) cAttn * lambdaIn * lambdaIn / ((double) kappa * kappa));
        for (int r = 0; r < rows; r++) {
            v2.setAtIndex(FLOAT, v2Off + r, v1.getAtIndex(FLOAT, v1Off + r) + add);
        }
    }

    // ------------------------------------------------------------------ shared row math

    /** a = λ/(κ·sqrt(v + ε)). */
    static float slope(float lambda, float kappa, float eps, float v) {
        return (float) (lambda / (kappa * Math.sqrt((double) v + eps)));
    }

    /** k = −T·a/(d·(v+ε)): the coefficient of x in dx through v = mean(x²). */
    static float varianceCoefficient(int d, float a, float eps, float v, float t) {
        return (float) (-(double) t * a / (d * ((double) v + eps)));
    }

    /** dv = −T·a/(2(v+ε)). */
    static float varianceGradient(float a, float eps, float v, float t) {
        return (float) (-(double) t * a / (2 * ((double) v + eps)));
    }

    /** ∂a/∂λ · T = T/(κ·sqrt(v+ε)). */
    static double lambdaTerm(float kappa, float eps, float v, float t) {
        return t / (kappa * Math.sqrt((double) v + eps));
    }

    static void checkVariance(int row, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw NormChecks.nonFinite("bhyt", "variance " + v + " (input NaN/Inf or overflowing)", row);
        }
    }

    static void checkForward(int rows, int width, float lambda, float kappa, float eps, MemorySegment x, long xOff,
                             int ldx, MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                             MemorySegment y, long yOff, int ldy, MemorySegment var, long vOff) {
        checkCommon(width, lambda, kappa, eps);
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("y", y, yOff, rows, width, ldy, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        NormChecks.optVector("beta", beta, bOff, width, 4);
        NormChecks.vector("var", var, vOff, rows, 4);
    }

    static void checkBackward(int rows, int width, float lambda, float kappa, float eps, MemorySegment x, long xOff,
                              int ldx, MemorySegment gamma, long gOff, MemorySegment var, long vOff,
                              MemorySegment dy, long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx,
                              MemorySegment dgamma, long dgOff, MemorySegment dbeta, long dbOff,
                              MemorySegment dlambda, long dlOff, MemorySegment dvar, long dvOff) {
        checkCommon(width, lambda, kappa, eps);
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("dy", dy, dyOff, rows, width, lddy, 4);
        NormChecks.matrix("dx", dx, dxOff, rows, width, lddx, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        if ((gamma == null) != (dgamma == null)) {
            throw new IllegalArgumentException("dgamma: expected " + (gamma == null ? "null (no gain)"
                    : "a segment (the gain is given)") + ", got " + (dgamma == null ? "null" : "a segment"));
        }
        NormChecks.optVector("dgamma", dgamma, dgOff, width, 4);
        NormChecks.optVector("dbeta", dbeta, dbOff, width, 4);
        NormChecks.optVector("dlambda", dlambda, dlOff, 1, 4);
        NormChecks.vector("var", var, vOff, rows, 4);
        NormChecks.optVector("dvar", dvar, dvOff, rows, 4);
    }

    private static void checkCommon(int width, float lambda, float kappa, float eps) {
        if (width < 1) {
            throw new IllegalArgumentException("bhyt: width expected >= 1, got " + width);
        }
        if (!Float.isFinite(lambda)) {
            throw new IllegalArgumentException("lambda: expected a finite value, got " + lambda);
        }
        NormChecks.positive("kappa", kappa);
        NormChecks.positive("eps", eps);
    }
}
