package org.nibble.models.bert;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Exact (erf) GELU in place, {@code x = 0.5 x (1 + erf(x / sqrt 2))}, with erf as one rational function instead of
 * the series + exp of {@code Activations.geluErf}: {@code erf(u) = u P(u^2) / Q(u^2)} for u clamped to [-4, 4]
 * (degree 6 and 4 in u^2; the float-erf approximation of XLA and Eigen, {@code generic_fast_erf_float}). Its error
 * against erf is 6.5e-8 absolute over [-4, 4] (evaluated in double on a 1e-5 grid), and erf(4) = 1 - 1.5e-8, so
 * clamping costs nothing. No exp, two short Horner chains and one division: 3.3 ns per float became about 0.6 here
 * (the series + exp passes are latency-bound on AVX2).
 *
 * <p>{@link #forwardScalar} is the twin (same formula, plain float loop); the reference with {@code Math} erf in
 * double is {@link BertMath#gelu}. Inputs below -10 are clamped to -10 (GELU(-10) is -0 in float), so -Infinity
 * gives -0 rather than NaN; NaN propagates.
 */
final class FastGelu {
    private FastGelu() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    /** Elements per parallel chunk. */
    private static final int GRAIN = 1 << 15;
    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));

    private static final float A1 = -1.60960333262415e-02f, A3 = -2.95459980854025e-03f,
            A5 = -7.34990630326855e-04f, A7 = -5.69250639462346e-05f, A9 = -2.10102402082508e-06f,
            A11 = 2.77068142495902e-08f, A13 = -2.72614225801306e-10f;
    private static final float B0 = -1.42647390514189e-02f, B2 = -7.37332916720468e-03f,
            B4 = -1.68282697438203e-03f, B6 = -2.13374055278905e-04f, B8 = -1.45660718464996e-05f;

    /** GELU of {@code x[off .. off + n)} in place, on all threads for large n. */
    static void forward(MemorySegment x, long off, int n) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, off, n, 4);
        int vectors = n / L;
        long xb = 4 * off;
        Parallel.forRange(0, vectors, GRAIN / L, (lo, hi) -> vectors(x, xb, lo * L, hi * L));
        for (int i = vectors * L; i < n; i++) {
            long o = xb + 4L * i;
            x.set(FLOAT, o, gelu(x.get(FLOAT, o)));
        }
    }

    /** The twin: the same formula element by element. */
    static void forwardScalar(MemorySegment x, long off, int n) {
        Checks.checkCount("n", n);
        Checks.checkRange("x", x, off, n, 4);
        for (int i = 0; i < n; i++) {
            long o = 4 * (off + i);
            x.set(FLOAT, o, gelu(x.get(FLOAT, o)));
        }
    }

    private static void vectors(MemorySegment x, long xb, int from, int to) {
        FloatVector lo = FloatVector.broadcast(S, -10f), uMin = FloatVector.broadcast(S, -4f);
        FloatVector uMax = FloatVector.broadcast(S, 4f);
        for (int i = from; i < to; i += L) {
            long o = xb + 4L * i;
            FloatVector v = FloatVector.fromMemorySegment(S, x, o, ORDER);
            // clamps as compare + blend: Java's max/min (NaN and -0 rules) cost several instructions on AVX2
            v = v.blend(lo, v.compare(VectorOperators.LT, lo));
            FloatVector u = v.mul(INV_SQRT2);
            u = u.blend(uMin, u.compare(VectorOperators.LT, uMin));
            u = u.blend(uMax, u.compare(VectorOperators.GT, uMax));
            FloatVector z = u.mul(u);
            FloatVector p = z.fma(A13, A11).fma(z, FloatVector.broadcast(S, A9)).fma(z, FloatVector.broadcast(S, A7))
                    .fma(z, FloatVector.broadcast(S, A5)).fma(z, FloatVector.broadcast(S, A3))
                    .fma(z, FloatVector.broadcast(S, A1)).mul(u);
            FloatVector q = z.fma(B8, B6).fma(z, FloatVector.broadcast(S, B4)).fma(z, FloatVector.broadcast(S, B2))
                    .fma(z, FloatVector.broadcast(S, B0));
            FloatVector half = v.mul(0.5f);
            p.div(q).fma(half, half).intoMemorySegment(x, o, ORDER);
        }
    }

    /** One element, the operations of {@link #vectors} in the same order. */
    static float gelu(float x) {
        float v = x < -10f ? -10f : x;
        float u = v * INV_SQRT2;
        u = u < -4f ? -4f : u;
        u = u > 4f ? 4f : u;
        float z = u * u;
        float p = Math.fma(z, A13, A11);
        p = Math.fma(p, z, A9);
        p = Math.fma(p, z, A7);
        p = Math.fma(p, z, A5);
        p = Math.fma(p, z, A3);
        p = Math.fma(p, z, A1);
        p = p * u;
        float q = Math.fma(z, B8, B6);
        q = Math.fma(q, z, B4);
        q = Math.fma(q, z, B2);
        q = Math.fma(q, z, B0);
        float half = v * 0.5f;
        return Math.fma(p / q, half, half);
    }
}
