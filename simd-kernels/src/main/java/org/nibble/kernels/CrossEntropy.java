package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/**
 * Cross-entropy with logits over rows, fused with its gradient, Vector API implementation; the twin with identical
 * signatures is {@link CrossEntropyScalar} (double).
 *
 * <p>For each row {@code r} of the {@code rows x cols} logits with {@code t = targets[r] != ignoreIndex}:
 * {@code loss_r = logsumexp(x[r, :]) - x[r, t]} (stable: the row maximum is subtracted before exp). The returned loss
 * is the mean over the {@code count} non-ignored rows (0 when every row is ignored). The fused gradient of that mean
 * is {@code dlogits[r, :] = (softmax(x[r, :]) - onehot(t)) / count}, and 0 for ignored rows.
 *
 * <p>Row losses are summed in double in row order, so the loss does not depend on the thread count. {@code dlogits}
 * may alias {@code logits} (same offset and leading dimension) to compute the gradient in place. Accuracy against the
 * twin: loss within {@code 1e-6} relative, gradient within {@code 1e-6} relative plus {@code 1e-9 / count} absolute.
 */
public final class CrossEntropy {
    private CrossEntropy() {
    }

    /** Mean cross-entropy only (no gradient). */
    public static float loss(int rows, int cols, MemorySegment logits, long lOff, int ldl, MemorySegment targets,
                             long tOff, int ignoreIndex) {
        return lossAndGrad(rows, cols, logits, lOff, ldl, targets, tOff, ignoreIndex, null, 0, cols);
    }

    /**
     * Mean cross-entropy, and its gradient written to {@code dlogits} unless that is null.
     *
     * @param targets int32 class ids, one per row, each in {@code [0, cols)} or equal to {@code ignoreIndex}
     * @throws IllegalArgumentException naming the first row whose target is out of range
     */
    public static float lossAndGrad(int rows, int cols, MemorySegment logits, long lOff, int ldl,
                                    MemorySegment targets, long tOff, int ignoreIndex, MemorySegment dlogits,
                                    long dOff, int ldd) {
        Checks.checkMatrix("logits", logits, lOff, rows, cols, ldl, 4);
        Checks.checkRange("targets", targets, tOff, rows, 4);
        if (dlogits != null) {
            Checks.checkMatrix("dlogits", dlogits, dOff, rows, cols, ldd, 4);
        }
        int count = countTargets(rows, cols, targets, tOff, ignoreIndex);
        if (rows == 0 || cols == 0) {
            return 0f;
        }
        double[] rowLoss = new double[rows];
        float invCount = count == 0 ? 0f : 1f / count;
        Parallel.forRange(0, rows, Softmax.rowGrain(cols), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int t = targets.getAtIndex(INT, tOff + r);
                long xb = 4 * (lOff + (long) r * ldl), db = 4 * (dOff + (long) r * ldd);
                if (t == ignoreIndex) {
                    if (dlogits != null) {
                        RowOps.zero(0, cols, dlogits, db);
                    }
                } else {
                    rowLoss[r] = row(cols, t, invCount, logits, xb, dlogits, db);
                }
            }
        });
        double total = 0;
        for (int r = 0; r < rows; r++) {
            total += rowLoss[r];
        }
        return count == 0 ? 0f : (float) (total / count);
    }

    /** Validates the targets and returns the number of rows that are not ignored. */
    static int countTargets(int rows, int cols, MemorySegment targets, long tOff, int ignoreIndex) {
        int count = 0;
        for (int r = 0; r < rows; r++) {
            int t = targets.getAtIndex(INT, tOff + r);
            if (t == ignoreIndex) {
                continue;
            }
            if (t < 0 || t >= cols) {
                throw new IllegalArgumentException("targets[" + r + "]: expected a class in [0, " + cols
                        + ") or ignoreIndex " + ignoreIndex + ", got " + t);
            }
            count++;
        }
        return count;
    }

    private static double row(int n, int t, float invCount, MemorySegment x, long xb, MemorySegment d, long db) {
        float xt = x.get(FLOAT, xb + 4L * t);
        float m = RowOps.scaledMax(n, 1f, x, xb);
        float sum = RowOps.expShift(n, 1f, m, x, xb, d, db);
        double lse = m + Math.log(sum);
        if (d != null) {
            RowOps.scaleInPlace(n, invCount / sum, d, db);
            d.set(FLOAT, db + 4L * t, d.get(FLOAT, db + 4L * t) - invCount);
        }
        return lse - xt;
    }
}
