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
 * {@code 1.5e-7 * max(1, |x|)} absolute (the erf bound of {@link VectorMath} times |x|/2 plus rounding).
 * Infinite inputs give the limits (GELU(-inf) = -0, GELU(+inf) = +inf, derivatives 0 or 1), NaN propagates: the
 * formulas clamp x where the function has reached its limit in float (GELU erf at -10 (+-10 in the derivative), GELU
 * tanh at -20 (+-9), SiLU at -100 (+-80))
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

    /** Floats per block of the multi-pass erf kernels; the scratch blocks stay in L1 between the passes. */
    private static final int BLOCK = 1024;

    /** Vectors covering {@code n} elements: parallel chunks are cut on vector boundaries, so only the last has a
     * tail. */
    private static int blocks(int n) {
        return (n + L - 1) / L;
    }

    /**
     * The large-argument part of erf over one block, in two passes so that each compiled loop stays within C2's
     * inlining budget (see {@link VectorMath}): with {@code a = min(|clamp(x) * scale|, 4)},
     * {@code e = exp(-a^2)}, then {@code big = 1 - e * Q(a - 2.5)}, the magnitude of erf for {@code |u| >= 1}.
     * BLOCK is a multiple of every species length, so the scratch arrays are read and written in whole vectors.
     */
    private static void erfLargePasses(int lo, int hi, float clampLo, float clampHi, float scale, MemorySegment x,
                                       long xb, float[] e, float[] big) {
        expPass(lo, hi, clampLo, clampHi, scale, x, xb, e);
        factorPass(lo, hi, clampLo, clampHi, scale, x, xb, e, big);
    }

    /** {@code e = exp(-a^2)}, {@code a = min(|clamp(x) * scale|, 4)}. */
    private static void expPass(int lo, int hi, float clampLo, float clampHi, float scale, MemorySegment x, long xb,
                                float[] e) {
        for (int i = lo; i < hi; i += L) {
            FloatVector a = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).max(clampLo).min(clampHi)
                    .mul(scale).abs().min(4f);
            VectorMath.exp(a.mul(a).neg()).intoArray(e, i - lo);
        }
    }

    /** {@code big = 1 - e * Q(a - 2.5)}. */
    private static void factorPass(int lo, int hi, float clampLo, float clampHi, float scale, MemorySegment x,
                                   long xb, float[] e, float[] big) {
        for (int i = lo; i < hi; i += L) {
            FloatVector a = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).max(clampLo).min(clampHi)
                    .mul(scale).abs().min(4f);
            FloatVector q = VectorMath.erfLargeFactor(a);
            FloatVector.fromArray(S, e, i - lo).neg().fma(q, FloatVector.broadcast(S, 1f)).intoArray(big, i - lo);
        }
    }

    /** erf(u) from the small-argument series, or +-big for |u| >= 1. */
    private static FloatVector erfOf(FloatVector u, FloatVector big) {
        FloatVector signed = big.reinterpretAsInts().or(u.reinterpretAsInts().and(0x80000000)).reinterpretAsFloats();
        return VectorMath.erfSmall(u).blend(signed, u.abs().compare(VectorOperators.GE, 1f));
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


    /** {@code y = erf(x)} (absolute error 5.6e-8 measured, see {@link VectorMath}). */
    public static void erf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> erfFull(lo, hi, xs, xb, ys, yb));
    }

    private static void erfFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        float[] e = new float[BLOCK], big = new float[BLOCK];
        for (int b = lo; b < hi; b += BLOCK) {
            int end = Math.min(hi, b + BLOCK);
            erfLargePasses(b, end, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, 1f, x, xb, e, big);
            erfFinishPass(b, end, x, xb, big, y, yb);
        }
    }

    private static void erfFinishPass(int lo, int hi, MemorySegment x, long xb, float[] big, MemorySegment y,
                                      long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector u = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            erfOf(u, FloatVector.fromArray(S, big, i - lo)).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** Exact GELU as BERT uses: {@code y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))}. */
    public static void geluErf(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> geluErfFull(lo, hi, xs, xb, ys, yb));
    }

    private static void geluErfFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        float[] e = new float[BLOCK], big = new float[BLOCK];
        for (int b = lo; b < hi; b += BLOCK) {
            int end = Math.min(hi, b + BLOCK);
            erfLargePasses(b, end, -10f, Float.POSITIVE_INFINITY, INV_SQRT2, x, xb, e, big);
            geluFinishPass(b, end, x, xb, big, y, yb);
        }
    }

    private static void geluFinishPass(int lo, int hi, MemorySegment x, long xb, float[] big, MemorySegment y,
                                       long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector xc = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).max(-10f);
            FloatVector phi = erfOf(xc.mul(INV_SQRT2), FloatVector.fromArray(S, big, i - lo)).fma(0.5f, 0.5f);
            xc.mul(phi).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** {@code y = e^x} (see {@link VectorMath#exp} for the error bound). */
    public static void exp(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> expFull(lo, hi, xs, xb, ys, yb));
    }

    private static void expFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            VectorMath.exp(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** GELU, tanh approximation as GPT-2 uses: {@code y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))},
     * computed as the equivalent {@code x * sigmoid(2u)}. */
    public static void geluTanh(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> geluTanhFull(lo, hi, xs, xb, ys, yb));
    }

    private static void geluTanhFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            geluTanhV(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** SiLU (swish): {@code y = x * sigmoid(x)}. */
    public static void silu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> siluFull(lo, hi, xs, xb, ys, yb));
    }

    private static void siluFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            siluV(v).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** ELU: {@code y = x} for {@code x > 0}, else {@code alpha (e^x - 1)}. */
    public static void elu(int n, float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, alpha, x, xOff, y, yOff, Activations::eluFull);
    }

    private static void eluFull(int lo, int hi, float alpha, MemorySegment x, long xb, MemorySegment y, long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            eluV(v, alpha).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** SELU: {@code y = SELU_SCALE * elu(x, SELU_ALPHA)} (Klambauer et al. 2017 constants). */
    public static void selu(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        unary(n, 0f, x, xOff, y, yOff, (lo, hi, a, xs, xb, ys, yb) -> seluFull(lo, hi, xs, xb, ys, yb));
    }

    private static void seluFull(int lo, int hi, MemorySegment x, long xb, MemorySegment y, long yb) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            eluV(v, SELU_ALPHA).mul(SELU_SCALE).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
    }

    /** Backward of {@link #geluErf}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code Phi(x) + x phi(x)}. */
    public static void geluErfBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        binary(n, 0f, x, xOff, dy, dyOff, dx, dxOff,
                (lo, hi, a, xs, xb, gs, gb, os, ob) -> geluErfBackwardFull(lo, hi, xs, xb, gs, gb, os, ob));
    }

    private static void geluErfBackwardFull(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                            MemorySegment dx, long ob) {
        float[] e = new float[BLOCK], big = new float[BLOCK];
        for (int b = lo; b < hi; b += BLOCK) {
            int end = Math.min(hi, b + BLOCK);
            erfLargePasses(b, end, -10f, 10f, INV_SQRT2, x, xb, e, big);
            densityPass(b, end, x, xb, e);
            geluGradFinishPass(b, end, x, xb, dy, gb, e, big, dx, ob);
        }
    }

    /** {@code e = x phi(x)}, the density term of the GELU derivative. */
    private static void densityPass(int lo, int hi, MemorySegment x, long xb, float[] e) {
        for (int i = lo; i < hi; i += L) {
            FloatVector xc = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).max(-10f).min(10f);
            VectorMath.exp(xc.mul(xc).mul(-0.5f)).mul(INV_SQRT_2PI).mul(xc).intoArray(e, i - lo);
        }
    }

    private static void geluGradFinishPass(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                           float[] e, float[] big, MemorySegment dx, long ob) {
        for (int i = lo; i < hi; i += L) {
            FloatVector xc = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).max(-10f).min(10f);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            FloatVector cdf = erfOf(xc.mul(INV_SQRT2), FloatVector.fromArray(S, big, i - lo)).fma(0.5f, 0.5f);
            cdf.add(FloatVector.fromArray(S, e, i - lo)).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
    }

    /** Backward of {@link #geluTanh}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code s + 2 x s (1 - s) u'(x)} with
     * {@code s = sigmoid(2u)}. */
    public static void geluTanhBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        binary(n, 0f, x, xOff, dy, dyOff, dx, dxOff,
                (lo, hi, a, xs, xb, gs, gb, os, ob) -> geluTanhBackwardFull(lo, hi, xs, xb, gs, gb, os, ob));
    }

    private static void geluTanhBackwardFull(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                           MemorySegment dx, long ob) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            geluTanhGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
    }

    /** Backward of {@link #silu}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code s (1 + x (1 - s))} with {@code s =
     * sigmoid(x)}. */
    public static void siluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        binary(n, 0f, x, xOff, dy, dyOff, dx, dxOff,
                (lo, hi, a, xs, xb, gs, gb, os, ob) -> siluBackwardFull(lo, hi, xs, xb, gs, gb, os, ob));
    }

    private static void siluBackwardFull(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                           MemorySegment dx, long ob) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            siluGradV(v).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
    }

    /** Backward of {@link #elu}: {@code dx = dy * f'(x)}, {@code f'(x) = }1 for {@code x > 0}, else {@code alpha
     * e^x}. */
    public static void eluBackward(int n, float alpha, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        binary(n, alpha, x, xOff, dy, dyOff, dx, dxOff, Activations::eluBackwardFull);
    }

    private static void eluBackwardFull(int lo, int hi, float alpha, MemorySegment x, long xb, MemorySegment dy,
            long gb,
                                           MemorySegment dx, long ob) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            eluGradV(v, alpha).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
    }

    /** Backward of {@link #selu}: {@code dx = dy * f'(x)}, {@code f'(x) = }{@code SELU_SCALE} for {@code x > 0}, else
     * {@code SELU_SCALE * SELU_ALPHA e^x}. */
    public static void seluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                      MemorySegment dx, long dxOff) {
        binary(n, 0f, x, xOff, dy, dyOff, dx, dxOff,
                (lo, hi, a, xs, xb, gs, gb, os, ob) -> seluBackwardFull(lo, hi, xs, xb, gs, gb, os, ob));
    }

    private static void seluBackwardFull(int lo, int hi, MemorySegment x, long xb, MemorySegment dy, long gb,
                                           MemorySegment dx, long ob) {
        for (int i = lo; i < hi; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector g = FloatVector.fromMemorySegment(S, dy, gb + 4L * i, ORDER);
            eluGradV(v, SELU_ALPHA).mul(SELU_SCALE).mul(g).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
    }

    /** A loop over whole vectors {@code [lo, hi)} of one elementwise kernel; {@code p} is its parameter (ELU alpha). */
    @FunctionalInterface
    private interface UnaryBody {
        void run(int lo, int hi, float p, MemorySegment x, long xb, MemorySegment y, long yb);
    }

    /** As {@link UnaryBody} for backward kernels reading {@code x} and {@code dy}, writing {@code dx}. */
    @FunctionalInterface
    private interface BinaryBody {
        void run(int lo, int hi, float p, MemorySegment x, long xb, MemorySegment g, long gb, MemorySegment o, long ob);
    }

    /**
     * The one driver of the forward kernels: checks, parallel chunks of whole vectors, and the last partial vector run
     * through per-thread scratch. The body is called once per chunk (not inlined here); its vectors never leave it,
     * so nothing is boxed.
     */
    private static void unary(int n, float p, MemorySegment x, long xOff, MemorySegment y, long yOff, UnaryBody body) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        Parallel.forRange(0, blocks(n), GRAIN / L, (lo, hi) -> {
            int from = lo * L, to = Math.min(n, hi * L), full = from + (to - from) / L * L;
            body.run(from, full, p, x, xb, y, yb);
            if (full < to) {
                MemorySegment t = Tail.scratch();
                Tail.in(t, 0, x, xb, full, to);
                body.run(0, L, p, t, 0, t, 0);
                Tail.out(t, 0, y, yb, full, to);
            }
        });
    }

    /** The one driver of the backward kernels ({@code dx} may alias {@code dy}); see {@link #unary}. */
    private static void binary(int n, float p, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                               MemorySegment dx, long dxOff, BinaryBody body) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("dy", dy, dyOff, n, 4);
        Checks.checkRange("dx", dx, dxOff, n, 4);
        long xb = xOff * 4, gb = dyOff * 4, ob = dxOff * 4;
        Parallel.forRange(0, blocks(n), GRAIN / L, (lo, hi) -> {
            int from = lo * L, to = Math.min(n, hi * L), full = from + (to - from) / L * L;
            body.run(from, full, p, x, xb, dy, gb, dx, ob);
            if (full < to) {
                MemorySegment t = Tail.scratch();
                Tail.in(t, 0, x, xb, full, to);
                Tail.in(t, 1, dy, gb, full, to);
                body.run(0, L, p, t, 0, t, 4L * Tail.SLOT, t, 0);
                Tail.out(t, 0, dx, ob, full, to);
            }
        });
    }
}
