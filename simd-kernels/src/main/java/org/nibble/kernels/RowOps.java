package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * Package-private single-row vector loops shared by {@link Softmax}, {@link CrossEntropy} and {@link RowStats}.
 * Arguments are byte bases ({@code xb}) and element counts; every loop ends with one masked vector, never reading or
 * writing past {@code n}. Each method is small so C2 inlines it into the row loop.
 */
final class RowOps {
    private RowOps() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    static FloatVector load(MemorySegment s, long b, int i) {
        return FloatVector.fromMemorySegment(S, s, b + 4L * i, ORDER);
    }

    static FloatVector load(MemorySegment s, long b, int i, VectorMask<Float> m) {
        return FloatVector.fromMemorySegment(S, s, b + 4L * i, ORDER, m);
    }

    /** max_j (scale * x[j]); -Infinity for n == 0; NaN if any element is NaN. */
    static float scaledMax(int n, float scale, MemorySegment x, long xb) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= n - L; i += L) {
            m = m.max(load(x, xb, i).mul(scale));
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            m = m.max(load(x, xb, i, k).mul(scale).blend(Float.NEGATIVE_INFINITY, k.not()));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    /** Writes {@code y[j] = exp(scale * x[j] - shift)} (skipped if {@code y == null}) and returns their sum. */
    static float expShift(int n, float scale, float shift, MemorySegment x, long xb, MemorySegment y, long yb) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector e = VectorMath.exp(load(x, xb, i).mul(scale).sub(shift));
            if (y != null) {
                e.intoMemorySegment(y, yb + 4L * i, ORDER);
            }
            acc = acc.add(e);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            FloatVector e = VectorMath.exp(load(x, xb, i, k).mul(scale).sub(shift));
            if (y != null) {
                e.intoMemorySegment(y, yb + 4L * i, ORDER, k);
            }
            acc = acc.add(e, k);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@code y[j] *= a}. */
    static void scaleInPlace(int n, float a, MemorySegment y, long yb) {
        int i = 0;
        for (; i <= n - L; i += L) {
            load(y, yb, i).mul(a).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            load(y, yb, i, k).mul(a).intoMemorySegment(y, yb + 4L * i, ORDER, k);
        }
    }

    /** {@code y[j] = 0} for {@code j} in {@code [from, to)}. */
    static void zero(int from, int to, MemorySegment y, long yb) {
        FloatVector z = FloatVector.zero(S);
        int i = from;
        for (; i <= to - L; i += L) {
            z.intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < to) {
            z.intoMemorySegment(y, yb + 4L * i, ORDER, S.indexInRange(i, to));
        }
    }

    /** Sum of {@code x[j] * y[j]}. */
    static float dot(int n, MemorySegment x, long xb, MemorySegment y, long yb) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = load(x, xb, i).fma(load(y, yb, i), a0);
            a1 = load(x, xb, i + L).fma(load(y, yb, i + L), a1);
        }
        for (; i <= n - L; i += L) {
            a0 = load(x, xb, i).fma(load(y, yb, i), a0);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            a1 = load(x, xb, i, k).fma(load(y, yb, i, k), a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** Sum of {@code x[j]}. */
    static float sum(int n, MemorySegment x, long xb) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        int i = 0;
        for (; i <= n - 2 * L; i += 2 * L) {
            a0 = a0.add(load(x, xb, i));
            a1 = a1.add(load(x, xb, i + L));
        }
        for (; i <= n - L; i += L) {
            a0 = a0.add(load(x, xb, i));
        }
        if (i < n) {
            a1 = a1.add(load(x, xb, i, S.indexInRange(i, n)));
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
