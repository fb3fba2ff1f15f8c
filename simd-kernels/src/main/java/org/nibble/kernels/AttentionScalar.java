package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link Attention}: same signature, every score, softmax and sum in double. */
public final class AttentionScalar {
    private AttentionScalar() {
    }

    public static void forward(int n, int d, float scale, MemorySegment q, long qOff, int ldq, MemorySegment k,
                               long kOff, int ldk, MemorySegment v, long vOff, int ldv, MemorySegment out, long oOff,
                               int ldo) {
        Attention.check(n, d, q, qOff, ldq, k, kOff, ldk, v, vOff, ldv, out, oOff, ldo);
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    s += (double) q.getAtIndex(FLOAT, qOff + (long) i * ldq + c)
                            * k.getAtIndex(FLOAT, kOff + (long) j * ldk + c);
                }
                p[j] = scale * s;
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < n; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
            }
            for (int c = 0; c < d; c++) {
                double o = 0;
                for (int j = 0; j < n; j++) {
                    o += p[j] * v.getAtIndex(FLOAT, vOff + (long) j * ldv + c);
                }
                out.setAtIndex(FLOAT, oOff + (long) i * ldo + c, (float) (o / sum));
            }
        }
    }
}
