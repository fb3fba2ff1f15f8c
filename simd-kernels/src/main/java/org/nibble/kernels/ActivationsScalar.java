package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Scalar reference twin of {@link Activations}: same signatures, each function evaluated in double with
 * {@code Math} and rounded once to float. The readable spec and the test oracle.
 */
public final class ActivationsScalar {
    private ActivationsScalar() {
    }

    private static final double SQRT2 = Math.sqrt(2);
    private static final double INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
    private static final double GELU_C = 0.044715;

    /**
     * erf in double: {@code erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1*3*...*(2n+1))}, a series of positive
     * terms (no cancellation) that converges for every x; +-1 beyond |x| = 6 where erfc < 2e-17.
     */
    public static double erf(double x) {
        if (Double.isNaN(x)) {
            return x;
        }
        double a = Math.abs(x);
        if (a >= 6) {
            return Math.copySign(1.0, x);
        }
        double term = a, sum = a, z = a * a;
        for (int n = 1; term > 1e-17 * sum; n++) {
            term *= 2 * z / (2 * n + 1);
            sum += term;
        }
        return Math.copySign(2 / Math.sqrt(Math.PI) * Math.exp(-z) * sum, x);
    }

    static double geluErf(double x) {
        double xc = Math.max(x, -10);
        return xc * 0.5 * (1 + erf(xc / SQRT2));
    }

    static double geluErfGrad(double x) {
        double xc = Math.min(Math.max(x, -10), 10);
        return 0.5 * (1 + erf(xc / SQRT2)) + xc * INV_SQRT_2PI * Math.exp(-0.5 * xc * xc);
    }

    static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    static double geluTanh(double x) {
        double xc = Math.max(x, -20);
        return 0.5 * xc * (1 + Math.tanh(SQRT_2_OVER_PI * (xc + GELU_C * xc * xc * xc)));
    }

    static double geluTanhGrad(double x) {
        double xc = Math.min(Math.max(x, -9), 9);
        double t = Math.tanh(SQRT_2_OVER_PI * (xc + GELU_C * xc * xc * xc));
        return 0.5 * (1 + t) + 0.5 * xc * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * xc * xc);
    }

    static double silu(double x) {
        double xc = Math.max(x, -100);
        return xc * sigmoid(xc);
    }

    static double siluGrad(double x) {
        double xc = Math.min(Math.max(x, -80), 80);
        double s = sigmoid(xc);
        return s * (1 + xc * (1 - s));
    }

    static double elu(double x, double alpha) {
        return x > 0 ? x : alpha * Math.expm1(x);
    }

    static double eluGrad(double x, double alpha) {
        return x > 0 ? 1 : alpha * Math.exp(x);
    }

    private static float get(MemorySegment s, long off, int i) {
        return s.getAtIndex(FLOAT, off + i);
    }

    public static void exp(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) Math.exp(get(x, xOff, i)));
        }
    }

    public static void erf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) erf(get(x, xOff, i)));
        }
    }

    public static void geluErf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) geluErf(get(x, xOff, i)));
        }
    }

    public static void geluTanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) geluTanh(get(x, xOff, i)));
        }
    }

    public static void silu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) silu(get(x, xOff, i)));
        }
    }

    public static void elu(int n, float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, (float) elu(get(x, xOff, i), alpha));
        }
    }

    public static void selu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i,
                    (float) (Activations.SELU_SCALE * elu(get(x, xOff, i), Activations.SELU_ALPHA)));
        }
    }

    public static void geluErfBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                       MemorySegment dx, long dxOff) {
        for (int i = 0; i < n; i++) {
            dx.setAtIndex(FLOAT, dxOff + i, (float) (get(dy, dyOff, i) * geluErfGrad(get(x, xOff, i))));
        }
    }

    public static void geluTanhBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                        MemorySegment dx, long dxOff) {
        for (int i = 0; i < n; i++) {
            dx.setAtIndex(FLOAT, dxOff + i, (float) (get(dy, dyOff, i) * geluTanhGrad(get(x, xOff, i))));
        }
    }

    public static void siluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                    MemorySegment dx, long dxOff) {
        for (int i = 0; i < n; i++) {
            dx.setAtIndex(FLOAT, dxOff + i, (float) (get(dy, dyOff, i) * siluGrad(get(x, xOff, i))));
        }
    }

    public static void eluBackward(int n, float alpha, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                   MemorySegment dx, long dxOff) {
        for (int i = 0; i < n; i++) {
            dx.setAtIndex(FLOAT, dxOff + i, (float) (get(dy, dyOff, i) * eluGrad(get(x, xOff, i), alpha)));
        }
    }

    public static void seluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                    MemorySegment dx, long dxOff) {
        for (int i = 0; i < n; i++) {
            dx.setAtIndex(FLOAT, dxOff + i, (float) (get(dy, dyOff, i)
                    * Activations.SELU_SCALE * eluGrad(get(x, xOff, i), Activations.SELU_ALPHA)));
        }
    }
}
