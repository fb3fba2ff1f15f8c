package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Scalar reference twin of {@link FloatOps}: same signatures, plain loops, the readable spec and the test oracle.
 * Reductions accumulate in double.
 */
public final class FloatOpsScalar {
    private FloatOpsScalar() {
    }

    public static void add(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        for (int i = 0; i < n; i++) {
            out.setAtIndex(FLOAT, outOff + i, x.getAtIndex(FLOAT, xOff + i) + y.getAtIndex(FLOAT, yOff + i));
        }
    }

    public static void sub(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        for (int i = 0; i < n; i++) {
            out.setAtIndex(FLOAT, outOff + i, x.getAtIndex(FLOAT, xOff + i) - y.getAtIndex(FLOAT, yOff + i));
        }
    }

    public static void mul(int n, MemorySegment x, long xOff, MemorySegment y, long yOff, MemorySegment out,
                           long outOff) {
        for (int i = 0; i < n; i++) {
            out.setAtIndex(FLOAT, outOff + i, x.getAtIndex(FLOAT, xOff + i) * y.getAtIndex(FLOAT, yOff + i));
        }
    }

    public static void scale(int n, float alpha, MemorySegment x, long xOff, MemorySegment out, long outOff) {
        for (int i = 0; i < n; i++) {
            out.setAtIndex(FLOAT, outOff + i, alpha * x.getAtIndex(FLOAT, xOff + i));
        }
    }

    public static void axpy(int n, float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        for (int i = 0; i < n; i++) {
            y.setAtIndex(FLOAT, yOff + i, Math.fma(x.getAtIndex(FLOAT, xOff + i), alpha, y.getAtIndex(FLOAT, yOff + i)));
        }
    }

    public static void fill(int n, float value, MemorySegment out, long outOff) {
        for (int i = 0; i < n; i++) {
            out.setAtIndex(FLOAT, outOff + i, value);
        }
    }

    public static float sum(int n, MemorySegment x, long xOff) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x.getAtIndex(FLOAT, xOff + i);
        }
        return (float) s;
    }

    public static float max(int n, MemorySegment x, long xOff) {
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, x.getAtIndex(FLOAT, xOff + i));
        }
        return m;
    }

    public static float dot(int n, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) x.getAtIndex(FLOAT, xOff + i) * y.getAtIndex(FLOAT, yOff + i);
        }
        return (float) s;
    }

    public static float sumOfSquares(int n, MemorySegment x, long xOff) {
        return dot(n, x, xOff, x, xOff);
    }
}
