package org.nibble.kernels.norm;

import org.nibble.kernels.Checks;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/**
 * Scalar reference twin of {@link IntL1Norm} (same signatures, bit-identical results), and the per-row helpers both
 * share. All sums are exact integers (long); the float epilogue is one reciprocal per row.
 */
public final class IntL1NormScalar {
    private IntL1NormScalar() {
    }

    /** See {@link IntL1Norm#forward}. */
    public static void forward(int rows, int width, boolean centred, float eps,
                               MemorySegment q, long qOff, int ldq, MemorySegment inScale, long sOff,
                               float outScale, MemorySegment out, long oOff, int ldo,
                               MemorySegment rowSum, long rsOff, MemorySegment rstd, long rOff) {
        checkForward(rows, width, eps, q, qOff, ldq, inScale, sOff, outScale, out, oOff, ldo, rowSum, rsOff, rstd,
                rOff);
        int d = width;
        for (int row = 0; row < rows; row++) {
            long qr = qOff + (long) row * ldq, or = oOff + (long) row * ldo;
            int s = 0;
            if (centred) {
                for (int i = 0; i < d; i++) {
                    s += q.get(BYTE, qr + i);
                }
            }
            long a = 0;
            for (int i = 0; i < d; i++) {
                a += Math.abs((long) d * q.get(BYTE, qr + i) - s);
            }
            float scale = inScale.getAtIndex(FLOAT, sOff + row);
            checkScale(row, scale);
            double r = reciprocal(d, a, scale, eps);
            float f = outFactor(d, r, scale, outScale);
            rowSum.setAtIndex(INT, rsOff + row, s);
            rstd.setAtIndex(FLOAT, rOff + row, (float) r);
            for (int i = 0; i < d; i++) {
                out.set(BYTE, or + i, code(d * q.get(BYTE, qr + i) - s, f));
            }
        }
    }

    /** See {@link IntL1Norm#backward}. */
    public static void backward(int rows, int width, boolean centred,
                                MemorySegment q, long qOff, int ldq, MemorySegment rowSum, long rsOff,
                                MemorySegment rstd, long rOff, MemorySegment out, long oOff, int ldo, float outScale,
                                MemorySegment gq, long gqOff, int ldg, MemorySegment gScale, long gsOff,
                                MemorySegment dx, long dxOff, int lddx) {
        checkBackward(rows, width, q, qOff, ldq, rowSum, rsOff, rstd, rOff, out, oOff, ldo, outScale, gq, gqOff, ldg,
                gScale, gsOff, dx, dxOff, lddx);
        int d = width;
        for (int row = 0; row < rows; row++) {
            long qr = qOff + (long) row * ldq, or = oOff + (long) row * ldo, gr = gqOff + (long) row * ldg;
            long dxr = dxOff + (long) row * lddx;
            int s = rowSum.getAtIndex(INT, rsOff + row);
            float r = rstd.getAtIndex(FLOAT, rOff + row);
            float sg = gScale.getAtIndex(FLOAT, gsOff + row);
            checkGradScale(row, sg);
            long tg = 0, tp = 0, tz = 0;
            for (int i = 0; i < d; i++) {
                int g = gq.get(BYTE, gr + i);
                tg += g;
                tp += g * out.get(BYTE, or + i);
                tz += Integer.signum(d * q.get(BYTE, qr + i) - s);
            }
            float a = dxA(r, sg), b = dxB(d, r, sg, outScale, tp), c = dxC(d, centred, r, sg, outScale, tg, tp, tz);
            for (int i = 0; i < d; i++) {
                float g = gq.get(BYTE, gr + i);
                float t = Integer.signum(d * q.get(BYTE, qr + i) - s);
                dx.setAtIndex(FLOAT, dxr + i, Math.fma(g, a, Math.fma(t, b, c)));
            }
        }
    }

    // ------------------------------------------------------------------ shared per-row math

    /** r = 1/(σ1 + ε) with σ1 = s·A/d² (the mean absolute deviation in real units). */
    static double reciprocal(int d, long a, float scale, float eps) {
        return 1.0 / ((double) scale * a / ((double) d * d) + eps);
    }

    /** f = s·r/(d·outScale): code_j = rint(c_j·f) encodes x̂_j = s·c_j·r/d at the fixed output scale. */
    static float outFactor(int d, double r, float scale, float outScale) {
        return (float) ((double) scale * r / ((double) d * outScale));
    }

    /** The int8 code of c·f: clamp to ±127, round to nearest even by the 1.5·2^23 trick (as the vector path). */
    static byte code(int c, float f) {
        float v = c * f;
        v = Math.min(Math.max(v, -127f), 127f);
        v = (v + IntL1Norm.MAGIC) - IntL1Norm.MAGIC;
        return (byte) (int) v;
    }

    /** a = r·sg (coefficient of gq_j). */
    static float dxA(float r, float sg) {
        return (float) ((double) r * sg);
    }

    /** b = −r·sg·outScale·P/d (coefficient of sgn_j). */
    static float dxB(int d, float r, float sg, float outScale, long p) {
        return (float) (-(double) r * sg * outScale * p / d);
    }

    /** c = −r·sg·G/d + r·sg·outScale·P·Z/d² (centred), 0 (non-centred). */
    static float dxC(int d, boolean centred, float r, float sg, float outScale, long g, long p, long z) {
        if (!centred) {
            return 0f;
        }
        double rs = (double) r * sg;
        return (float) (-rs * g / d + rs * outScale * p * ((double) z / d) / d);
    }

    /** Elements per int-lane block of the Σ|c| loop so that no lane overflows (|c| ≤ 256·d). */
    static int absBlock(int d, int lanes) {
        long perLane = Integer.MAX_VALUE / (256L * d);
        return (int) Math.max(lanes, Math.min(1 << 24, perLane * lanes));
    }

    static void checkScale(int row, float scale) {
        if (!(scale > 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("int-l1: inScale[" + row + "] expected a finite value > 0, got "
                    + scale);
        }
    }

    static void checkGradScale(int row, float scale) {
        if (!(scale >= 0) || Float.isInfinite(scale)) {
            throw new IllegalArgumentException("int-l1: gScale[" + row + "] expected a finite value >= 0, got "
                    + scale);
        }
    }

    static void checkForward(int rows, int width, float eps, MemorySegment q, long qOff, int ldq,
                             MemorySegment inScale, long sOff, float outScale, MemorySegment out, long oOff, int ldo,
                             MemorySegment rowSum, long rsOff, MemorySegment rstd, long rOff) {
        checkWidth(width);
        NormChecks.positive("eps", eps);
        NormChecks.positive("outScale", outScale);
        Checks.checkMatrix("q", q, qOff, rows, width, ldq, 1);
        Checks.checkMatrix("out", out, oOff, rows, width, ldo, 1);
        NormChecks.vector("inScale", inScale, sOff, rows, 4);
        NormChecks.vector("rowSum", rowSum, rsOff, rows, 4);
        NormChecks.vector("rstd", rstd, rOff, rows, 4);
    }

    static void checkBackward(int rows, int width, MemorySegment q, long qOff, int ldq, MemorySegment rowSum,
                              long rsOff, MemorySegment rstd, long rOff, MemorySegment out, long oOff, int ldo,
                              float outScale, MemorySegment gq, long gqOff, int ldg, MemorySegment gScale, long gsOff,
                              MemorySegment dx, long dxOff, int lddx) {
        checkWidth(width);
        NormChecks.positive("outScale", outScale);
        Checks.checkMatrix("q", q, qOff, rows, width, ldq, 1);
        Checks.checkMatrix("out", out, oOff, rows, width, ldo, 1);
        Checks.checkMatrix("gq", gq, gqOff, rows, width, ldg, 1);
        Checks.checkMatrix("dx", dx, dxOff, rows, width, lddx, 4);
        NormChecks.vector("rowSum", rowSum, rsOff, rows, 4);
        NormChecks.vector("rstd", rstd, rOff, rows, 4);
        NormChecks.vector("gScale", gScale, gsOff, rows, 4);
    }

    private static void checkWidth(int width) {
        if (width < 1 || width > IntL1Norm.MAX_WIDTH) {
            throw new IllegalArgumentException("int-l1: width expected in [1, " + IntL1Norm.MAX_WIDTH + "], got "
                    + width);
        }
    }
}
