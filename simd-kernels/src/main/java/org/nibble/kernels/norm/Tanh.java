package org.nibble.kernels.norm;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Simd;

/**
 * Float tanh for the DyT/BHyT kernels, vector and scalar with the same operations (so a kernel's vector body and
 * its scalar tail agree). The Vector API's {@code TANH} has no intrinsic on every x86 build (it fell back to a
 * per-lane Java loop, ~30x slower, on the AVX2 machine), so tanh is built from an exp:
 * <pre>
 * tanh|x| = (1 − t)/(1 + t),  t = exp(−2|x|) = 2^k·e^ρ   (|x| clamped to 9: tanh(9) rounds to 1 in float)
 * z = −2|x|·log2(e),  k = rint(z),  ρ = (z − k)·ln 2 ∈ [−ln2/2, ln2/2],  e^ρ by its degree-6 Taylor polynomial
 * sign restored from x's sign bit
 * </pre>
 * Absolute error ≤ 3e-7 against {@link Math#tanh} (checked in the tests; relative error is larger only for
 * |x| < ~1e-3, where the absolute error is what matters for a normalization output). NaN stays NaN; ±Inf gives ±1.
 */
public final class Tanh {
    private Tanh() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final float CLAMP = 9f;
    private static final float M2LOG2E = (float) (-2 / Math.log(2));
    private static final float LN2 = (float) Math.log(2);
    private static final float MAGIC = 12582912f;
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720;

    /** tanh lanewise. */
    public static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs().min(CLAMP);
        FloatVector z = ax.mul(M2LOG2E);
        FloatVector kf = z.add(MAGIC).sub(MAGIC);
        FloatVector r = z.sub(kf).mul(LN2);
        FloatVector p = r.fma(C6, C5).fma(r, FloatVector.broadcast(S, C4)).fma(r, FloatVector.broadcast(S, C3))
                .fma(r, FloatVector.broadcast(S, C2)).fma(r, FloatVector.broadcast(S, 1f))
                .fma(r, FloatVector.broadcast(S, 1f));
        IntVector k = (IntVector) kf.convert(VectorOperators.F2I, 0);
        FloatVector t = p.mul(k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector u = one.sub(t).div(one.add(t));
        IntVector sign = x.reinterpretAsInts().and(0x80000000);
        return u.reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** The same computation on one float. */
    public static float tanh(float x) {
        float ax = Math.min(Math.abs(x), CLAMP);
        if (Float.isNaN(x)) {
            return x;
        }
        float z = ax * M2LOG2E;
        float kf = (z + MAGIC) - MAGIC;
        float r = (z - kf) * LN2;
        float p = Math.fma(r, C6, C5);
        p = Math.fma(p, r, C4);
        p = Math.fma(p, r, C3);
        p = Math.fma(p, r, C2);
        p = Math.fma(p, r, 1f);
        p = Math.fma(p, r, 1f);
        float t = p * Float.intBitsToFloat(((int) kf + 127) << 23);
        float u = (1f - t) / (1f + t);
        return Float.intBitsToFloat(Float.floatToRawIntBits(u) | (Float.floatToRawIntBits(x) & 0x80000000));
    }
}
