package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Elementwise and reduction kernels over F32 segments, Vector API implementation.
 *
 * <p>Offsets are element indices (not bytes). Every method has a twin with the same signature in
 * {@link FloatOpsScalar}; tests compare the two over sizes that hit every tail. Elementwise kernels equal the twin
 * exactly; reductions reassociate the sum (several accumulators), so they agree with the twin (which sums in double)
 * within {@code n * eps * sum|x|}.
 *
 * <p>Loops use {@code int} indices over a hoisted {@code long} byte base, the shape C2 optimises best for segments.
 * Output may alias an input (in-place) only at the same offset.
 */
public final class FloatOps {
    private FloatOps() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /** {@code out[i] = x[i] + y[i]}. */
    public static void add(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        check3(n, x, xOff, y, yOff, out, outOff);
        long xb = xOff * 4, yb = yOff * 4, ob = outOff * 4;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER)
                    .add(FloatVector.fromMemorySegment(S, y, yb + 4L * i, ORDER))
                    .intoMemorySegment(out, ob + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            out.set(FLOAT, ob + 4L * i, x.get(FLOAT, xb + 4L * i) + y.get(FLOAT, yb + 4L * i));
        }
    }

    /** {@code out[i] = x[i] - y[i]}. */
    public static void sub(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        check3(n, x, xOff, y, yOff, out, outOff);
        long xb = xOff * 4, yb = yOff * 4, ob = outOff * 4;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER)
                    .sub(FloatVector.fromMemorySegment(S, y, yb + 4L * i, ORDER))
                    .intoMemorySegment(out, ob + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            out.set(FLOAT, ob + 4L * i, x.get(FLOAT, xb + 4L * i) - y.get(FLOAT, yb + 4L * i));
        }
    }

    /** {@code out[i] = x[i] * y[i]}. */
    public static void mul(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        check3(n, x, xOff, y, yOff, out, outOff);
        long xb = xOff * 4, yb = yOff * 4, ob = outOff * 4;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER)
                    .mul(FloatVector.fromMemorySegment(S, y, yb + 4L * i, ORDER))
                    .intoMemorySegment(out, ob + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            out.set(FLOAT, ob + 4L * i, x.get(FLOAT, xb + 4L * i) * y.get(FLOAT, yb + 4L * i));
        }
    }

    /** {@code out[i] = alpha * x[i]}. */
    public static void scale(int n, float alpha, MemorySegment x, long xOff, MemorySegment out, long outOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("out", out, outOff, n, 4);
        long xb = xOff * 4, ob = outOff * 4;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).mul(alpha)
                    .intoMemorySegment(out, ob + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            out.set(FLOAT, ob + 4L * i, alpha * x.get(FLOAT, xb + 4L * i));
        }
    }

    /** {@code y[i] += alpha * x[i]} (BLAS saxpy; the product is fused, as {@link Math#fma}). */
    public static void axpy(int n, float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        long xb = xOff * 4, yb = yOff * 4;
        FloatVector va = FloatVector.broadcast(S, alpha);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector vy = FloatVector.fromMemorySegment(S, y, yb + 4L * i, ORDER);
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).fma(va, vy)
                    .intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            y.set(FLOAT, yb + 4L * i, Math.fma(x.get(FLOAT, xb + 4L * i), alpha, y.get(FLOAT, yb + 4L * i)));
        }
    }

    /** {@code out[i] = value}. */
    public static void fill(int n, float value, MemorySegment out, long outOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("out", out, outOff, n, 4);
        long ob = outOff * 4;
        FloatVector v = FloatVector.broadcast(S, value);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            v.intoMemorySegment(out, ob + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            out.set(FLOAT, ob + 4L * i, value);
        }
    }

    /** Sum of {@code x[0..n)}; 0 for {@code n == 0}. */
    public static float sum(int n, MemorySegment x, long xOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        long xb = xOff * 4;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int upper4 = n - n % (4 * L);
        int i = 0;
        for (; i < upper4; i += 4 * L) {
            long b = xb + 4L * i;
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, b, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(S, x, b + 4L * L, ORDER));
            a2 = a2.add(FloatVector.fromMemorySegment(S, x, b + 8L * L, ORDER));
            a3 = a3.add(FloatVector.fromMemorySegment(S, x, b + 12L * L, ORDER));
        }
        int upper = S.loopBound(n);
        for (; i < upper; i += L) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER));
        }
        float s = Simd.sumLanes(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            s += x.get(FLOAT, xb + 4L * i);
        }
        return s;
    }

    /** Maximum of {@code x[0..n)}; NaN if any element is NaN; {@code -Infinity} for {@code n == 0}. */
    public static float max(int n, MemorySegment x, long xOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        long xb = xOff * 4;
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            m = m.max(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER));
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            r = Math.max(r, x.get(FLOAT, xb + 4L * i));
        }
        return r;
    }

    /** Dot product of {@code x[0..n)} and {@code y[0..n)}. */
    public static float dot(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        return dotBody(n, x, xOff * 4, y, yOff * 4);
    }

    /** Sum of squares of {@code x[0..n)}. */
    public static float sumOfSquares(int n, MemorySegment x, long xOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        return dotBody(n, x, xOff * 4, x, xOff * 4);
    }

    /** Four independent FMA chains hide the FMA latency (limits.md: >= 8 needed at peak, 4 suffice when load-bound). */
    private static float dotBody(int n, MemorySegment x, long xb, MemorySegment y, long yb) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int upper4 = n - n % (4 * L);
        int i = 0;
        for (; i < upper4; i += 4 * L) {
            long bx = xb + 4L * i, by = yb + 4L * i;
            a0 = FloatVector.fromMemorySegment(S, x, bx, ORDER).fma(FloatVector.fromMemorySegment(S, y, by, ORDER), a0);
            a1 = FloatVector.fromMemorySegment(S, x, bx + 4L * L, ORDER)
                    .fma(FloatVector.fromMemorySegment(S, y, by + 4L * L, ORDER), a1);
            a2 = FloatVector.fromMemorySegment(S, x, bx + 8L * L, ORDER)
                    .fma(FloatVector.fromMemorySegment(S, y, by + 8L * L, ORDER), a2);
            a3 = FloatVector.fromMemorySegment(S, x, bx + 12L * L, ORDER)
                    .fma(FloatVector.fromMemorySegment(S, y, by + 12L * L, ORDER), a3);
        }
        int upper = S.loopBound(n);
        for (; i < upper; i += L) {
            a0 = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER)
                    .fma(FloatVector.fromMemorySegment(S, y, yb + 4L * i, ORDER), a0);
        }
        float s = Simd.sumLanes(a0.add(a1).add(a2.add(a3)));
        for (; i < n; i++) {
            s = Math.fma(x.get(FLOAT, xb + 4L * i), y.get(FLOAT, yb + 4L * i), s);
        }
        return s;
    }

    private static void check3(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                               long outOff) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, xOff, n, 4);
        Checks.checkRange("y", y, yOff, n, 4);
        Checks.checkRange("out", out, outOff, n, 4);
    }
}
