package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * Row softmax and log-softmax over a row-major {@code rows x cols} F32 matrix with leading dimensions, forward and
 * backward, Vector API implementation; the twin with identical signatures is {@link SoftmaxScalar} (double).
 *
 * <p>Numerically stable: each row subtracts its maximum before {@code exp}. A row containing NaN or +Infinity gives
 * a NaN row, as does a row whose entries are all -Infinity (0/0); -Infinity entries otherwise get probability 0.
 * Output may alias input (in-place) when offsets and leading dimensions are equal. Rows are independent and run on
 * all threads for large inputs ({@link Parallel}); results do not depend on the thread count.
 *
 * <p>Accuracy against the twin: relative error within {@code 1e-6} (exp within 1e-7, float row sums).
 */
public final class Softmax {
    private Softmax() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    /** Elements per parallel chunk. */
    static final int GRAIN = 1 << 15;

    static int rowGrain(int cols) {
        return Math.max(1, GRAIN / Math.max(1, cols));
    }

    /** {@code y[r, :] = softmax(scale * x[r, :])}. */
    public static void forward(int rows, int cols, float scale, MemorySegment x, long xOff, int ldx,
                               MemorySegment y, long yOff, int ldy) {
        Checks.checkMatrix("x", x, xOff, rows, cols, ldx, 4);
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        forwardImpl(rows, cols, scale, Integer.MAX_VALUE, x, xOff, ldx, y, yOff, ldy);
    }

    /**
     * Causally masked softmax for a block of query rows: row {@code r} sees columns {@code j <= r + offset} (for a
     * block of queries at positions {@code offset .. offset + rows - 1} over keys {@code 0 .. cols - 1}, the usual
     * {@code offset} is {@code cols - rows}); masked columns get exactly 0. A row that sees no column is all zeros.
     */
    public static void forwardCausal(int rows, int cols, float scale, int offset, MemorySegment x, long xOff, int ldx,
                                     MemorySegment y, long yOff, int ldy) {
        Checks.checkMatrix("x", x, xOff, rows, cols, ldx, 4);
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        forwardImpl(rows, cols, scale, offset, x, xOff, ldx, y, yOff, ldy);
    }

    /** Columns row {@code r} sees: {@code clamp(r + offset + 1, 0, cols)}; all of them when offset is MAX_VALUE. */
    static int visible(int r, int cols, int offset) {
        return offset == Integer.MAX_VALUE ? cols : (int) Math.min(cols, Math.max(0, (long) r + offset + 1));
    }

    private static void forwardImpl(int rows, int cols, float scale, int offset, MemorySegment x, long xOff, int ldx,
                                    MemorySegment y, long yOff, int ldy) {
        if (rows == 0 || cols == 0) {
            return;
        }
        Parallel.forRange(0, rows, rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                row(visible(r, cols, offset), cols, scale, x, 4 * (xOff + (long) r * ldx), y,
                        4 * (yOff + (long) r * ldy));
            }
        });
    }

    private static void row(int c, int cols, float scale, MemorySegment x, long xb, MemorySegment y, long yb) {
        if (c > 0) {
            float m = RowOps.scaledMax(c, scale, x, xb);
            float sum = RowOps.expShift(c, scale, m, x, xb, y, yb);
            RowOps.scaleInPlace(c, 1f / sum, y, yb);
        }
        RowOps.zero(c, cols, y, yb);
    }

    /**
     * Backward of {@link #forward} (and of {@link #forwardCausal}, whose masked outputs are 0): given the forward
     * output {@code y} and {@code dy}, {@code dx = scale * y * (dy - sum_j(dy_j * y_j))} per row.
     */
    public static void backward(int rows, int cols, float scale, MemorySegment y, long yOff, int ldy,
                                MemorySegment dy, long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx) {
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        Checks.checkMatrix("dy", dy, dyOff, rows, cols, lddy, 4);
        Checks.checkMatrix("dx", dx, dxOff, rows, cols, lddx, 4);
        if (rows == 0 || cols == 0) {
            return;
        }
        Parallel.forRange(0, rows, rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                backwardRow(cols, scale, y, 4 * (yOff + (long) r * ldy), dy, 4 * (dyOff + (long) r * lddy), dx,
                        4 * (dxOff + (long) r * lddx));
            }
        });
    }

    private static void backwardRow(int n, float scale, MemorySegment y, long yb, MemorySegment dy, long gb,
                                    MemorySegment dx, long ob) {
        float dot = RowOps.dot(n, y, yb, dy, gb);
        int i = 0;
        for (; i <= n - L; i += L) {
            RowOps.load(dy, gb, i).sub(dot).mul(RowOps.load(y, yb, i)).mul(scale)
                    .intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            RowOps.load(dy, gb, i, k).sub(dot).mul(RowOps.load(y, yb, i, k)).mul(scale)
                    .intoMemorySegment(dx, ob + 4L * i, ORDER, k);
        }
    }

    /** {@code y[r, :] = log_softmax(x[r, :]) = x - max - log(sum(exp(x - max)))}. */
    public static void logForward(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment y, long yOff,
                                  int ldy) {
        Checks.checkMatrix("x", x, xOff, rows, cols, ldx, 4);
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        if (rows == 0 || cols == 0) {
            return;
        }
        Parallel.forRange(0, rows, rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                logRow(cols, x, 4 * (xOff + (long) r * ldx), y, 4 * (yOff + (long) r * ldy));
            }
        });
    }

    private static void logRow(int n, MemorySegment x, long xb, MemorySegment y, long yb) {
        float m = RowOps.scaledMax(n, 1f, x, xb);
        float lse = m + (float) Math.log(RowOps.expShift(n, 1f, m, x, xb, null, 0));
        int i = 0;
        for (; i <= n - L; i += L) {
            RowOps.load(x, xb, i).sub(lse).intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            RowOps.load(x, xb, i, k).sub(lse).intoMemorySegment(y, yb + 4L * i, ORDER, k);
        }
    }

    /** Backward of {@link #logForward}: {@code dx = dy - exp(y) * sum_j(dy_j)} per row, from the forward output y. */
    public static void logBackward(int rows, int cols, MemorySegment y, long yOff, int ldy, MemorySegment dy,
                                   long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx) {
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        Checks.checkMatrix("dy", dy, dyOff, rows, cols, lddy, 4);
        Checks.checkMatrix("dx", dx, dxOff, rows, cols, lddx, 4);
        if (rows == 0 || cols == 0) {
            return;
        }
        Parallel.forRange(0, rows, rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                logBackwardRow(cols, y, 4 * (yOff + (long) r * ldy), dy, 4 * (dyOff + (long) r * lddy), dx,
                        4 * (dxOff + (long) r * lddx));
            }
        });
    }

    private static void logBackwardRow(int n, MemorySegment y, long yb, MemorySegment dy, long gb, MemorySegment dx,
                                       long ob) {
        float s = RowOps.sum(n, dy, gb);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector p = VectorMath.exp(RowOps.load(y, yb, i));
            p.mul(-s).add(RowOps.load(dy, gb, i)).intoMemorySegment(dx, ob + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            FloatVector p = VectorMath.exp(RowOps.load(y, yb, i, k));
            p.mul(-s).add(RowOps.load(dy, gb, i, k)).intoMemorySegment(dx, ob + 4L * i, ORDER, k);
        }
    }

}
