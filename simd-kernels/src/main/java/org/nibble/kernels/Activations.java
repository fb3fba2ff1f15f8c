package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * Elementwise activation functions and their backward passes over F32 segments, Vector API implementation; the
 * twin with identical signatures is {@link ActivationsScalar} (double-precision {@code Math} reference).
 *
 * <p>Forward: {@code y[i] = f(x[i])}. Backward: {@code dx[i] = dy[i] * f'(x[i])} (the derivative is taken from the
 * forward input {@code x}). Offsets are element indices. {@code y} (or {@code dx}) may alias {@code x} (or {@code dy})
 * at the same offset. Large inputs run on all threads ({@link Parallel}); every element is independent, so the
 * result does not depend on the thread count.
 *
 * <p>Accuracy against the twin: exp and the sigmoid-based functions within a few ulp; erf-based GELU within
 * {@code 1.5e-7 * max(1, |x|)} absolute (the erf bound of {@link VectorMath#erf} times |x|/2 plus rounding).
 * Infinite inputs give the limits (GELU(-inf) = -0, GELU(+inf) = +inf, derivatives 0 or 1), NaN propagates: the
 * formulas clamp x where the function has reached its limit in float (GELU erf at -10 (+-10 in the derivative), GELU tanh at -20 (+-9), SiLU at -100 (+-80))
 * so that no {@code inf * 0} appears.
 */
public final class Activations {
    private Activations() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    /** Elements per parallel chunk: below 2 * GRAIN a call runs on the calling thread only. */
    static final int GRAIN = 1 << 15;

    /** SELU constants (Klambauer et al., "Self-Normalizing Neural Networks", 2017). */
    public static final float SELU_ALPHA = 1.6732632423543772f;
    public static final float SELU_SCALE = 1.0507009873554805f;

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2 / Math.PI);
    private static final float GELU_C = 0.044715f;

    static FloatVector geluErfV(FloatVector x) {
        FloatVector xc = x.max(-10f);
        FloatVector phi = VectorMath.erf(xc.mul(INV_SQRT2)).fma(0.5f, 0.5f);
        return xc.mul(phi);
    }

    static FloatVector geluErfGradV(FloatVector x) {
        FloatVector xc = x.max(-10f).min(10f);
        FloatVector cdf = VectorMath.erf(xc.mul(INV_SQRT2)).fma(0.5f, 0.5f);
        FloatVector pdf = VectorMath.exp(xc.mul(xc).mul(-0.5f)).mul(INV_SQRT_2PI);
        return xc.fma(pdf, cdf);
    }

    /** 2u = 2 sqrt(2/pi) (x + c x^3). */
    private static FloatVector twoU(FloatVector x) {
        FloatVector x2 = x.mul(x);
        return x2.fma(GELU_C, 1f).mul(x).mul(2 * SQRT_2_OVER_PI);
    }

    static FloatVector geluTanhV(FloatVector x) {
        FloatVector xc = x.max(-20f);
        return xc.mul(VectorMath.sigmoid(twoU(xc)));
    }

    static FloatVector geluTanhGradV(FloatVector x) {
        FloatVector xc = x.max(-9f).min(9f);
        // s = sigmoid(2u) = 1 / (1 + e), s (1 - s) = e s^2 with e = exp(-2u): no cancellation near s = 1
        FloatVector e = VectorMath.exp(twoU(xc).neg());
        FloatVector s = FloatVector.broadcast(S, 1f).div(e.add(1f));
        FloatVector sp = e.mul(s).mul(s);
        // d(2u)/dx = 2 sqrt(2/pi) (1 + 3c x^2)
        FloatVector du2 = xc.mul(xc).fma(3 * GELU_C, 1f).mul(2 * SQRT_2_OVER_PI);
        return xc.mul(sp).fma(du2, s);
    }

    static FloatVector siluV(FloatVector x) {
        FloatVector xc = x.max(-100f);
        return xc.mul(VectorMath.sigmoid(xc));
    }

    static FloatVector siluGradV(FloatVector x) {
        FloatVector xc = x.max(-80f).min(80f);
        // s (1 + x (1 - s)) with 1 - s = e s, e = exp(-x)
        FloatVector e = VectorMath.exp(xc.neg());
        FloatVector s = FloatVector.broadcast(S, 1f).div(e.add(1f));
        return xc.mul(e).fma(s, FloatVector.broadcast(S, 1f)).mul(s);
    }

    static FloatVector eluV(FloatVector x, float alpha) {
        FloatVector neg = VectorMath.expm1(x).mul(alpha);
        return neg.blend(x, x.compare(VectorOperators.GT, 0f));
    }

    static FloatVector eluGradV(FloatVector x, float alpha) {
        FloatVector neg = VectorMath.exp(x).mul(alpha);
        return neg.blend(FloatVector.broadcast(S, 1f), x.compare(VectorOperators.GT, 0f));
    }

    /** {@code y = e^x} (see {@link VectorMath#exp} for the error bound). */
    public static void exp(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> expRange(lo, hi, x, xb, y, yb));
    }

    private static void expRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            VectorMath.exp(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            VectorMath.exp(v).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** {@code y = erf(x)} (absolute error below 1.2e-7, see {@link VectorMath#erf}). */
    public static void erf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> erfRange(lo, hi, x, xb, y, yb));
    }

    private static void erfRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            VectorMath.erf(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            VectorMath.erf(v).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** Exact GELU as BERT uses: {@code y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))}. */
    public static void geluErf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> geluErfRange(lo, hi, x, xb, y, yb));
    }

    private static void geluErfRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            geluErfV(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            geluErfV(v).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** GELU, tanh approximation as GPT-2 uses: {@code y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))},
     * computed as the equivalent {@code x * sigmoid(2u)}. */
    public static void geluTanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> geluTanhRange(lo, hi, x, xb, y, yb));
    }

    private static void geluTanhRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            geluTanhV(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            geluTanhV(v).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** SiLU (swish): {@code y = x * sigmoid(x)}. */
    public static void silu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> siluRange(lo, hi, x, xb, y, yb));
    }

    private static void siluRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            siluV(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            siluV(v).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** ELU: {@code y = x} for {@code x > 0}, else {@code alpha (e^x - 1)}. */
    public static void elu(int n, float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> eluRange(lo, hi, alpha, x, xb, y, yb));
    }

    private static void eluRange(int lo, int hi, float alpha, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            eluV(v, alpha).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            eluV(v, alpha).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** SELU: {@code y = SELU_SCALE * elu(x, SELU_ALPHA)} (Klambauer et al. 2017 constants). */
    public static void selu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> seluRange(lo, hi, x, xb, y, yb));
    }

    private static void seluRange(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            eluV(v, SELU_ALPHA).mul(SELU_SCALE).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            eluV(v, SELU_ALPHA).mul(SELU_SCALE).intoMemorySegment(y, yb + 4L * i, ORDER, m);
        }
    }

    /** Backward of {@link #geluErf}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code Phi(x) + x phi(x)}. */
    public static void geluErfBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> geluErfBackwardRange(lo, hi, x, xb, dy, gb, dx, ob));
    }

    private static void geluErfBackwardRange(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            geluErfGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER, m);
            geluErfGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER, m);
        }
    }

    /** Backward of {@link #geluTanh}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code s + 2 x s (1 - s) u'(x)} with {@code s = sigmoid(2u)}. */
    public static void geluTanhBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> geluTanhBackwardRange(lo, hi, x, xb, dy, gb, dx, ob));
    }

    private static void geluTanhBackwardRange(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            geluTanhGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER, m);
            geluTanhGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER, m);
        }
    }

    /** Backward of {@link #silu}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code s (1 + x (1 - s))} with {@code s = sigmoid(x)}. */
    public static void siluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> siluBackwardRange(lo, hi, x, xb, dy, gb, dx, ob));
    }

    private static void siluBackwardRange(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            siluGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER, m);
            siluGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER, m);
        }
    }

    /** Backward of {@link #elu}: {@code dx = dy * f'(x)}, {@code f'(x) = }1 for {@code x > 0}, else {@code alpha e^x}. */
    public static void eluBackward(int n, float alpha, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> eluBackwardRange(lo, hi, alpha, x, xb, dy, gb, dx, ob));
    }

    private static void eluBackwardRange(int lo, int hi, float alpha, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            eluGradV(v, alpha).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER, m);
            eluGradV(v, alpha).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER, m);
        }
    }

    /** Backward of {@link #selu}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code SELU_SCALE} for {@code x > 0}, else {@code SELU_SCALE * SELU_ALPHA e^x}. */
    public static void seluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, n, GRAIN, (lo, hi) -> seluBackwardRange(lo, hi, x, xb, dy, gb, dx, ob));
    }

    private static void seluBackwardRange(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            eluGradV(v, SELU_ALPHA).mul(SELU_SCALE).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> m = S.indexInRange(i, hi);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, m);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER, m);
            eluGradV(v, SELU_ALPHA).mul(SELU_SCALE).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER, m);
        }
    }
}
