package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Per-row statistics of a row-major {@code rows x cols} F32 matrix (one output per row), bias add (a vector
 * broadcast over rows) and its gradient (column sums), Vector API implementation; the twin with identical signatures
 * is {@link RowStatsScalar} (double accumulation).
 *
 * <p>Statistics of an empty row: sum 0, max -Infinity, mean/variance/mean absolute deviation NaN (0/0). Variance is
 * the biased (population) variance, computed in two passes ({@code mean((x - mean)^2)}) to avoid the cancellation of
 * {@code E[x^2] - E[x]^2}. Float accumulation agrees with the twin within {@code cols * 1e-7} relative to
 * {@code sum |x|}.
 */
public final class RowStats {
    private RowStats() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    private static final int SUM = 0, MAX = 1, MEAN = 2, VAR = 3, MAD = 4;

    /** {@code out[r] = sum_j x[r, j]}. */
    public static void sum(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        stat(SUM, rows, cols, x, xOff, ldx, out, outOff);
    }

    /** {@code out[r] = max_j x[r, j]} (NaN if the row holds a NaN). */
    public static void max(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        stat(MAX, rows, cols, x, xOff, ldx, out, outOff);
    }

    /** {@code out[r] = mean_j x[r, j]}. */
    public static void mean(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        stat(MEAN, rows, cols, x, xOff, ldx, out, outOff);
    }

    /** {@code out[r] = mean_j (x[r, j] - mean_r)^2} (biased). */
    public static void variance(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out,
                                long outOff) {
        stat(VAR, rows, cols, x, xOff, ldx, out, outOff);
    }

    /** {@code out[r] = mean_j |x[r, j] - mean_r|} (the L1 norm's scale, papers.md L1 LayerNorm). */
    public static void meanAbsDev(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out,
                                  long outOff) {
        stat(MAD, rows, cols, x, xOff, ldx, out, outOff);
    }

    private static void stat(int kind, int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out,
                             long outOff) {
        Checks.checkMatrix("x", x, xOff, rows, cols, ldx, 4);
        Checks.checkRange("out", out, outOff, rows, 4);
        Parallel.forRange(0, rows, Softmax.rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long xb = 4 * (xOff + (long) r * ldx);
                float v = switch (kind) {
                    case SUM -> RowOps.sum(cols, x, xb);
                    case MAX -> RowOps.scaledMax(cols, 1f, x, xb);
                    case MEAN -> RowOps.sum(cols, x, xb) / cols;
                    default -> deviation(kind == VAR, cols, RowOps.sum(cols, x, xb) / cols, x, xb) / cols;
                };
                out.setAtIndex(FLOAT, outOff + r, v);
            }
        });
    }

    /** Sum of (x - mean)^2 when {@code square}, else of |x - mean|. */
    private static float deviation(boolean square, int n, float mean, MemorySegment x, long xb) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector d = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(mean);
            acc = square ? d.fma(d, acc) : acc.add(d.abs());
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            FloatVector d = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, k).sub(mean);
            acc = square ? acc.add(d.mul(d), k) : acc.add(d.abs(), k);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** {@code y[r, j] = x[r, j] + bias[j]}; {@code y} may alias {@code x} at the same offset and ld. */
    public static void biasAdd(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment bias, long bOff,
                               MemorySegment y, long yOff, int ldy) {
        Checks.checkMatrix("x", x, xOff, rows, cols, ldx, 4);
        Checks.checkRange("bias", bias, bOff, cols, 4);
        Checks.checkMatrix("y", y, yOff, rows, cols, ldy, 4);
        if (rows == 0 || cols == 0) {
            return;
        }
        Parallel.forRange(0, rows, Softmax.rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                addRow(cols, x, 4 * (xOff + (long) r * ldx), bias, 4 * bOff, y, 4 * (yOff + (long) r * ldy));
            }
        });
    }

    /** {@code y[j] = x[j] + b[j]}. */
    private static void addRow(int n, MemorySegment x, long xb, MemorySegment b, long bb, MemorySegment y, long yb) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER)
                    .add(FloatVector.fromMemorySegment(S, b, bb + 4L * i, ORDER))
                            .intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        if (i < n) {
            VectorMask<Float> k = S.indexInRange(i, n);
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER, k)
                    .add(FloatVector.fromMemorySegment(S, b, bb + 4L * i, ORDER, k))
                            .intoMemorySegment(y, yb + 4L * i, ORDER, k);
        }
    }

    /** {@code y[j] += x[j]} over {@code n} floats at byte bases {@code yb}, {@code xb}. */
    static void addRowTo(int n, MemorySegment y, long yb, MemorySegment x, long xb) {
        addRow(n, y, yb, x, xb, y, yb);
    }

    /**
     * Bias gradient: {@code db[j] = sum_r dy[r, j]} (or {@code db[j] += ...} when {@code accumulate}). Threads split
     * the columns and each sums its columns over rows in row order, so the result is bit-identical for any thread
     * count.
     */
    public static void biasGrad(int rows, int cols, MemorySegment dy, long dyOff, int lddy, MemorySegment db,
                                long dbOff, boolean accumulate) {
        Checks.checkMatrix("dy", dy, dyOff, rows, cols, lddy, 4);
        Checks.checkRange("db", db, dbOff, cols, 4);
        if (cols == 0) {
            return;
        }
        int grain = Math.max(4 * L, Softmax.GRAIN / Math.max(1, rows));
        Parallel.forRange(0, cols, grain, (lo, hi) -> {
            long bb = 4 * (dbOff + lo);
            if (!accumulate) {
                RowOps.zero(0, hi - lo, db, bb);
            }
            for (int r = 0; r < rows; r++) {
                long gb = 4 * (dyOff + (long) r * lddy + lo);
                addRow(hi - lo, db, bb, dy, gb, db, bb);
            }
        });
    }
}
