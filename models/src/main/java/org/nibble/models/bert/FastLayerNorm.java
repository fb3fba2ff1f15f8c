package org.nibble.models.bert;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * The encoder's residual add + LayerNorm in one kernel, {@code out = LN(x + res) * gamma + beta} over rows of
 * {@code cols} (contiguous, offsets 0), with the biased variance {@code mean((v - mean)^2)} as BERT and ONNX
 * Runtime use. Per row, three passes over the row while it sits in L1: {@code v = x + res} into {@code out} with
 * the sum, the centred sum of squares, and the affine map; four independent lane accumulators per sum. The
 * separate add + {@code RowNorm} it replaces took 1.7 ns per element at 128 x 384, this one about 0.6.
 *
 * <p>{@code out} may alias {@code x} or {@code res} (each element is read before it is written); {@code res} may be
 * null (no residual). Rows run on all threads when there are many. The twin is {@link #forwardScalar} (double sums;
 * the reference {@link BertMath#addLayerNorm} computes the same in double too); they agree within a few float ulps
 * of the normalized values.
 */
final class FastLayerNorm {
    private FastLayerNorm() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 15;

    static void forward(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                        MemorySegment gamma, MemorySegment beta, float eps) {
        check(x, res, out, rows, cols, gamma, beta);
        Parallel.forRange(0, rows, Math.max(1, GRAIN / Math.max(1, cols)), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long rb = 4L * r * cols;
                row(x, res, out, rb, cols, gamma, beta, eps);
            }
        });
    }

    private static void check(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                              MemorySegment gamma, MemorySegment beta) {
        Checks.checkCount("rows", rows);
        Checks.checkCount("cols", cols);
        long n = (long) rows * cols;
        Checks.checkRange("x", x, 0, n, 4);
        if (res != null) {
            Checks.checkRange("res", res, 0, n, 4);
        }
        Checks.checkRange("out", out, 0, n, 4);
        Checks.checkRange("gamma", gamma, 0, cols, 4);
        Checks.checkRange("beta", beta, 0, cols, 4);
    }

    private static void row(MemorySegment x, MemorySegment res, MemorySegment out, long rb, int cols,
                            MemorySegment gamma, MemorySegment beta, float eps) {
        int full = cols / (4 * L) * (4 * L);
        float mean = sumPass(x, res, out, rb, cols, full) / cols;
        float var = squarePass(out, rb, cols, full, mean) / cols;
        float inv = (float) (1.0 / Math.sqrt(var + eps));
        affinePass(out, rb, cols, mean, inv, gamma, beta);
    }

    /**
     * {@code out = x + res} over the row; returns the sum. The loads are written out, not in a helper returning a
     * vector: one that C2 leaves out of line boxes its result (ForwardAllocationTest under dontinline).
     */
    private static float sumPass(MemorySegment x, MemorySegment res, MemorySegment out, long rb, int cols, int full) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int j = 0; j < full; j += 4 * L) {
            long o = rb + 4L * j;
            FloatVector v0 = FloatVector.fromMemorySegment(S, x, o, ORDER);
            FloatVector v1 = FloatVector.fromMemorySegment(S, x, o + 4L * L, ORDER);
            FloatVector v2 = FloatVector.fromMemorySegment(S, x, o + 8L * L, ORDER);
            FloatVector v3 = FloatVector.fromMemorySegment(S, x, o + 12L * L, ORDER);
            if (res != null) { // loop-invariant: C2 unswitches it
                v0 = v0.add(FloatVector.fromMemorySegment(S, res, o, ORDER));
                v1 = v1.add(FloatVector.fromMemorySegment(S, res, o + 4L * L, ORDER));
                v2 = v2.add(FloatVector.fromMemorySegment(S, res, o + 8L * L, ORDER));
                v3 = v3.add(FloatVector.fromMemorySegment(S, res, o + 12L * L, ORDER));
            }
            v0.intoMemorySegment(out, o, ORDER);
            v1.intoMemorySegment(out, o + 4L * L, ORDER);
            v2.intoMemorySegment(out, o + 8L * L, ORDER);
            v3.intoMemorySegment(out, o + 12L * L, ORDER);
            s0 = s0.add(v0);
            s1 = s1.add(v1);
            s2 = s2.add(v2);
            s3 = s3.add(v3);
        }
        FloatVector t = s0.add(s1).add(s2.add(s3));
        // Simd.sumLanes written out: in lane order (the same sum in every JIT tier), no call taking a vector
        float s = 0f;
        for (int l = 0; l < L; l++) {
            s += t.lane(l);
        }
        for (int j = full; j < cols; j++) {
            long o = rb + 4L * j;
            float v = x.get(FLOAT, o) + (res == null ? 0f : res.get(FLOAT, o));
            out.set(FLOAT, o, v);
            s += v;
        }
        return s;
    }

    /** Sum of {@code (out - mean)^2} over the row. */
    private static float squarePass(MemorySegment out, long rb, int cols, int full, float mean) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int j = 0; j < full; j += 4 * L) {
            long o = rb + 4L * j;
            FloatVector d0 = FloatVector.fromMemorySegment(S, out, o, ORDER).sub(mean);
            FloatVector d1 = FloatVector.fromMemorySegment(S, out, o + 4L * L, ORDER).sub(mean);
            FloatVector d2 = FloatVector.fromMemorySegment(S, out, o + 8L * L, ORDER).sub(mean);
            FloatVector d3 = FloatVector.fromMemorySegment(S, out, o + 12L * L, ORDER).sub(mean);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
            s2 = d2.fma(d2, s2);
            s3 = d3.fma(d3, s3);
        }
        FloatVector t = s0.add(s1).add(s2.add(s3));
        // Simd.sumLanes written out: in lane order (the same sum in every JIT tier), no call taking a vector
        float s = 0f;
        for (int l = 0; l < L; l++) {
            s += t.lane(l);
        }
        for (int j = full; j < cols; j++) {
            float d = out.get(FLOAT, rb + 4L * j) - mean;
            s = Math.fma(d, d, s);
        }
        return s;
    }

    /** {@code out = (out - mean) * inv * gamma + beta}. */
    private static void affinePass(MemorySegment out, long rb, int cols, float mean, float inv, MemorySegment gamma,
                                   MemorySegment beta) {
        int full = cols / L * L;
        for (int j = 0; j < full; j += L) {
            long o = rb + 4L * j, g = 4L * j;
            FloatVector v = FloatVector.fromMemorySegment(S, out, o, ORDER).sub(mean).mul(inv);
            v.fma(FloatVector.fromMemorySegment(S, gamma, g, ORDER), FloatVector.fromMemorySegment(S, beta, g, ORDER))
                    .intoMemorySegment(out, o, ORDER);
        }
        for (int j = full; j < cols; j++) {
            long o = rb + 4L * j, g = 4L * j;
            out.set(FLOAT, o, Math.fma((out.get(FLOAT, o) - mean) * inv, gamma.get(FLOAT, g), beta.get(FLOAT, g)));
        }
    }

    /** The twin: the same three passes, sums in double. */
    static void forwardScalar(MemorySegment x, MemorySegment res, MemorySegment out, int rows, int cols,
                              MemorySegment gamma, MemorySegment beta, float eps) {
        check(x, res, out, rows, cols, gamma, beta);
        for (int r = 0; r < rows; r++) {
            long rb = 4L * r * cols;
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                long o = rb + 4L * j;
                float v = x.get(FLOAT, o) + (res == null ? 0f : res.get(FLOAT, o));
                out.set(FLOAT, o, v);
                sum += v;
            }
            double mean = sum / cols, sq = 0;
            for (int j = 0; j < cols; j++) {
                double d = out.get(FLOAT, rb + 4L * j) - mean;
                sq += d * d;
            }
            double inv = 1.0 / Math.sqrt(sq / cols + eps);
            for (int j = 0; j < cols; j++) {
                long o = rb + 4L * j, g = 4L * j;
                out.set(FLOAT, o, (float) ((out.get(FLOAT, o) - mean) * inv * gamma.get(FLOAT, g)
                        + beta.get(FLOAT, g)));
            }
        }
    }
}
