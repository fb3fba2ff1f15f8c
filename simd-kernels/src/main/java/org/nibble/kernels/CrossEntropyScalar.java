package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/** Scalar reference twin of {@link CrossEntropy}: same signatures, each row in double. */
public final class CrossEntropyScalar {
    private CrossEntropyScalar() {
    }

    public static float loss(int rows, int cols, MemorySegment logits, long lOff, int ldl, MemorySegment targets,
                             long tOff, int ignoreIndex) {
        return lossAndGrad(rows, cols, logits, lOff, ldl, targets, tOff, ignoreIndex, null, 0, cols);
    }

    public static float lossAndGrad(int rows, int cols, MemorySegment logits, long lOff, int ldl,
                                    MemorySegment targets, long tOff, int ignoreIndex, MemorySegment dlogits,
                                    long dOff, int ldd) {
        int count = CrossEntropy.countTargets(rows, cols, targets, tOff, ignoreIndex);
        double total = 0;
        for (int r = 0; r < rows; r++) {
            int t = targets.getAtIndex(INT, tOff + r);
            long xr = lOff + (long) r * ldl, dr = dOff + (long) r * ldd;
            if (t == ignoreIndex) {
                for (int j = 0; dlogits != null && j < cols; j++) {
                    dlogits.setAtIndex(FLOAT, dr + j, 0f);
                }
                continue;
            }
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                m = Math.max(m, x(logits, xr, j));
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += Math.exp(x(logits, xr, j) - m);
            }
            double lse = m + Math.log(sum);
            double xt = x(logits, xr, t);
            total += lse - xt;
            for (int j = 0; dlogits != null && j < cols; j++) {
                double p = Math.exp(x(logits, xr, j) - lse);
                dlogits.setAtIndex(FLOAT, dr + j, (float) ((p - (j == t ? 1 : 0)) / count));
            }
        }
        return count == 0 ? 0f : (float) (total / count);
    }

    private static double x(MemorySegment s, long rowOff, int j) {
        return s.getAtIndex(FLOAT, rowOff + j);
    }
}
