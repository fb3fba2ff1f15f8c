package org.nibble.kernels.norm;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link DyT} (same signatures; sums in double; single-threaded). */
public final class DyTScalar {
    private DyTScalar() {
    }

    /** See {@link DyT#forward}. */
    public static void forward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                               MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                               MemorySegment y, long yOff, int ldy) {
        checkForward(rows, width, alpha, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy);
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < width; i++) {
                float xv = x.getAtIndex(FLOAT, xOff + (long) r * ldx + i);
                if (Float.isNaN(xv)) {
                    throw NormChecks.nonFinite("dyt", "input x (NaN)", r);
                }
                double u = Math.tanh((double) alpha * xv);
                double v = gamma == null ? u : u * gamma.getAtIndex(FLOAT, gOff + i);
                v += beta == null ? 0 : beta.getAtIndex(FLOAT, bOff + i);
                y.setAtIndex(FLOAT, yOff + (long) r * ldy + i, (float) v);
            }
        }
    }

    /** See {@link DyT#backward}. */
    public static void backward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                                MemorySegment gamma, long gOff, MemorySegment dy, long dyOff, int lddy,
                                MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                                MemorySegment dbeta, long dbOff, MemorySegment dalpha, long daOff) {
        checkBackward(rows, width, alpha, x, xOff, ldx, gamma, gOff, dy, dyOff, lddy, dx, dxOff, lddx, dgamma, dgOff,
                dbeta, dbOff, dalpha, daOff);
        double[] dg = new double[width], db = new double[width];
        double da = 0;
        for (int r = 0; r < rows; r++) {
            da += alphaTermSafe(r, width, alpha, x, xOff + (long) r * ldx, gamma, gOff, dy, dyOff + (long) r * lddy);
            for (int i = 0; i < width; i++) {
                double xv = x.getAtIndex(FLOAT, xOff + (long) r * ldx + i);
                double d = dy.getAtIndex(FLOAT, dyOff + (long) r * lddy + i);
                double u = Math.tanh(alpha * xv);
                double g = gamma == null ? d : d * gamma.getAtIndex(FLOAT, gOff + i);
                dx.setAtIndex(FLOAT, dxOff + (long) r * lddx + i, (float) (g * alpha * (1 - u * u)));
                dg[i] += d * u;
                db[i] += d;
            }
        }
        accumulate(width, dg, dgamma, dgOff);
        accumulate(width, db, dbeta, dbOff);
        if (dalpha != null && rows > 0) {
            dalpha.setAtIndex(FLOAT, daOff, (float) (dalpha.getAtIndex(FLOAT, daOff) + da));
        }
    }

    /**
     * One row's dα term Σ γ⊙dy⊙x⊙(1−u²) in double, with the limit 0 for infinite x (where 1−u² = 0); throws on a
     * NaN gradient or input.
     */
    static float alphaTermSafe(int row, int width, float alpha, MemorySegment x, long xr, MemorySegment gamma,
                               long gOff, MemorySegment dy, long dyr) {
        double t = 0;
        for (int i = 0; i < width; i++) {
            double xv = x.getAtIndex(FLOAT, xr + i);
            double d = dy.getAtIndex(FLOAT, dyr + i);
            double u = Math.tanh(alpha * xv);
            double g = gamma == null ? d : d * gamma.getAtIndex(FLOAT, gOff + i);
            double w = 1 - u * u;
            if (Double.isNaN(xv) || !Double.isFinite(d)) {
                throw NormChecks.nonFinite("dyt", Double.isNaN(xv) ? "input x (NaN)" : "gradient dy", row);
            }
            t += w == 0 ? 0 : g * xv * w;
        }
        if (!Double.isFinite(t) || !Float.isFinite((float) t)) {
            throw NormChecks.nonFinite("dyt", "alpha gradient", row);
        }
        return (float) t;
    }

    static void accumulate(int n, double[] v, MemorySegment acc, long off) {
        if (acc == null) {
            return;
        }
        for (int i = 0; i < n; i++) {
            acc.setAtIndex(FLOAT, off + i, (float) (acc.getAtIndex(FLOAT, off + i) + v[i]));
        }
    }

    static void checkForward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                             MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                             MemorySegment y, long yOff, int ldy) {
        if (width < 1) {
            throw new IllegalArgumentException("dyt: width expected >= 1, got " + width);
        }
        if (!Float.isFinite(alpha)) {
            throw new IllegalArgumentException("alpha: expected a finite value, got " + alpha);
        }
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("y", y, yOff, rows, width, ldy, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        NormChecks.optVector("beta", beta, bOff, width, 4);
    }

    static void checkBackward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                              MemorySegment gamma, long gOff, MemorySegment dy, long dyOff, int lddy,
                              MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                              MemorySegment dbeta, long dbOff, MemorySegment dalpha, long daOff) {
        if (width < 1) {
            throw new IllegalArgumentException("dyt: width expected >= 1, got " + width);
        }
        if (!Float.isFinite(alpha)) {
            throw new IllegalArgumentException("alpha: expected a finite value, got " + alpha);
        }
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("dy", dy, dyOff, rows, width, lddy, 4);
        NormChecks.matrix("dx", dx, dxOff, rows, width, lddx, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        if ((gamma == null) != (dgamma == null)) {
            throw new IllegalArgumentException("dgamma: expected " + (gamma == null ? "null (no gain)"
                    : "a segment (the gain is given)") + ", got " + (dgamma == null ? "null" : "a segment"));
        }
        NormChecks.optVector("dgamma", dgamma, dgOff, width, 4);
        NormChecks.optVector("dbeta", dbeta, dbOff, width, 4);
        NormChecks.optVector("dalpha", dalpha, daOff, 1, 4);
    }
}
