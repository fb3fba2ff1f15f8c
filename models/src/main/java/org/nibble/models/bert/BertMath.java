package org.nibble.models.bert;

import org.nibble.kernels.Parallel;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The few dense operations of the BERT forward pass, written as plain loops over {@link MemorySegment}s (offsets in
 * elements, row-major with leading dimensions). They are the reference the fast kernels of
 * {@code org.nibble.kernels} are checked against, and what the encoder uses where no kernel exists.
 */
final class BertMath {
    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BertMath() {
    }

    /** {@code C[m,n] = A[m,k] · B[k,n]} (or {@code · B[n,k]ᵀ} when {@code transB}), rows in parallel. */
    static void gemm(boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda, MemorySegment b,
                     long bOff, int ldb, MemorySegment c, long cOff, int ldc, boolean parallel) {
        if (parallel && (long) m * n * k > 1 << 16) {
            Parallel.forRange(0, m, 1, (lo, hi) -> gemmRows(transB, lo, hi, n, k, a, aOff, lda, b, bOff, ldb, c,
                    cOff, ldc));
        } else {
            gemmRows(transB, 0, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        }
    }

    private static void gemmRows(boolean transB, int lo, int hi, int n, int k, MemorySegment a, long aOff, int lda,
                                 MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        for (int i = lo; i < hi; i++) {
            long ci = (cOff + (long) i * ldc) * 4;
            long ai = (aOff + (long) i * lda) * 4;
            if (transB) {
                for (int j = 0; j < n; j++) {
                    long bj = (bOff + (long) j * ldb) * 4;
                    float s = 0;
                    for (int p = 0; p < k; p++) {
                        s += a.get(F, ai + 4L * p) * b.get(F, bj + 4L * p);
                    }
                    c.set(F, ci + 4L * j, s);
                }
            } else {
                for (int j = 0; j < n; j++) {
                    c.set(F, ci + 4L * j, 0f);
                }
                for (int p = 0; p < k; p++) {
                    float av = a.get(F, ai + 4L * p);
                    long bp = (bOff + (long) p * ldb) * 4;
                    for (int j = 0; j < n; j++) {
                        long cj = ci + 4L * j;
                        c.set(F, cj, c.get(F, cj) + av * b.get(F, bp + 4L * j));
                    }
                }
            }
        }
    }

    /** {@code x[r, :] += bias[:]} for {@code rows} rows of {@code cols}. */
    static void addBias(MemorySegment x, long off, int rows, int cols, int ld, MemorySegment bias) {
        for (int r = 0; r < rows; r++) {
            long base = (off + (long) r * ld) * 4;
            for (int j = 0; j < cols; j++) {
                x.set(F, base + 4L * j, x.get(F, base + 4L * j) + bias.get(F, 4L * j));
            }
        }
    }

    /**
     * {@code out = LayerNorm(x + res) * gamma + beta} row by row (mean and variance in double; the biased variance,
     * as the ONNX graph's ReduceMean of squares). {@code out} may be {@code x} or {@code res}; {@code res} may be null.
     */
    static void addLayerNorm(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                             MemorySegment gamma, MemorySegment beta, float eps) {
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            long base = (long) r * cols * 4;
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                float v = x.get(F, base + 4L * j) + (res == null ? 0f : res.get(F, base + 4L * j));
                row[j] = v;
                sum += v;
            }
            double mean = sum / cols;
            double sq = 0;
            for (int j = 0; j < cols; j++) {
                double d = row[j] - mean;
                sq += d * d;
            }
            double inv = 1.0 / Math.sqrt(sq / cols + eps);
            for (int j = 0; j < cols; j++) {
                out.set(F, base + 4L * j, (float) ((row[j] - mean) * inv) * gamma.get(F, 4L * j)
                        + beta.get(F, 4L * j));
            }
        }
    }

    /** Exact GELU {@code x/2 · (1 + erf(x/√2))} in place over {@code n} elements. */
    static void gelu(MemorySegment x, long off, long n) {
        for (long e = 0; e < n; e++) {
            long at = (off + e) * 4;
            double v = x.get(F, at);
            x.set(F, at, (float) (0.5 * v * (1 + erf(v / Math.sqrt(2)))));
        }
    }

    /**
     * erf in double: its Taylor series for |x| < 2.5, the continued fraction of erfc for 2.5 <= |x| <= 6, and 1
     * beyond (erfc(6) < 2.2e-17); absolute error below 1e-13 (checked in the tests against tabulated values).
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        double r;
        if (ax < 2.5) {
            // erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++) {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.abs(add) < 1e-17 * Math.abs(sum)) {
                    break;
                }
            }
            r = sum * 2 / Math.sqrt(Math.PI);
        } else if (ax > 6) {
            r = 1;
        } else {
            // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + ...))))), evaluated backwards
            double f = ax;
            for (int n = 60; n >= 1; n--) {
                f = ax + (n / 2.0) / f;
            }
            r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }

    /** Softmax in place over each of {@code rows} rows of {@code cols} at leading dimension {@code ld}. */
    static void softmax(MemorySegment x, long off, int rows, int cols, int ld) {
        for (int r = 0; r < rows; r++) {
            long base = (off + (long) r * ld) * 4;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, x.get(F, base + 4L * j));
            }
            float sum = 0;
            for (int j = 0; j < cols; j++) {
                float e = (float) Math.exp(x.get(F, base + 4L * j) - max);
                x.set(F, base + 4L * j, e);
                sum += e;
            }
            float inv = 1f / sum;
            for (int j = 0; j < cols; j++) {
                x.set(F, base + 4L * j, x.get(F, base + 4L * j) * inv);
            }
        }
    }

    /** {@code x *= s} over {@code rows x cols} at leading dimension {@code ld}. */
    static void scale(MemorySegment x, long off, int rows, int cols, int ld, float s) {
        for (int r = 0; r < rows; r++) {
            long base = (off + (long) r * ld) * 4;
            for (int j = 0; j < cols; j++) {
                x.set(F, base + 4L * j, x.get(F, base + 4L * j) * s);
            }
        }
    }
}
