package org.nibble.kernels.norm;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Scalar reference twin of {@link RowNorm}: same signatures, plain loops that spell out the formulas of
 * {@link NormKind} and papers.md §0, §1.6, §5. Row statistics and reductions accumulate in double; single-threaded.
 */
public final class RowNormScalar {
    private RowNormScalar() {
    }

    /** See {@link RowNorm#forward}. */
    public static void forward(NormKind kind, int rows, int width, float eps,
                               MemorySegment x, long xOff, int ldx,
                               MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                               MemorySegment y, long yOff, int ldy,
                               MemorySegment stat, long statOff, MemorySegment rstd, long rOff) {
        RowNorm.checkForward(kind, rows, width, eps, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy, stat,
                statOff, rstd, rOff);
        int d = width;
        for (int row = 0; row < rows; row++) {
            long xr = xOff + (long) row * ldx, yr = yOff + (long) row * ldy;
            double sum = 0;
            for (int i = 0; i < d; i++) {
                sum += x.getAtIndex(FLOAT, xr + i);
            }
            double c = kind.centred() ? sum / d : 0;
            double q = 0;
            for (int i = 0; i < d; i++) {
                double v = x.getAtIndex(FLOAT, xr + i) - c;
                q += kind.l1() ? Math.abs(v) : v * v;
            }
            double r = switch (kind) {
                case LAYERNORM, RMSNORM -> 1 / Math.sqrt(q / d + eps);
                case CRMSNORM -> 1 / Math.sqrt((q + sum * sum) / (d + 1) + eps);
                case L1, L1_NONCENTRED -> 1 / (q / d + eps);
            };
            if (!Double.isFinite(sum) || !Double.isFinite(q) || !Float.isFinite((float) q)) {
                throw NormChecks.nonFinite(kind.label(), "input x", row);
            }
            if (stat != null && kind.savesStat()) {
                stat.setAtIndex(FLOAT, statOff + row, (float) (kind.centred() ? c : sum));
            }
            rstd.setAtIndex(FLOAT, rOff + row, (float) r);
            for (int i = 0; i < d; i++) {
                double xh = (x.getAtIndex(FLOAT, xr + i) - c) * r;
                double v = gamma == null ? xh : xh * gamma.getAtIndex(FLOAT, gOff + i)
                        + (beta == null ? 0 : beta.getAtIndex(FLOAT, bOff + i));
                y.setAtIndex(FLOAT, yr + i, (float) v);
            }
        }
    }

    /** See {@link RowNorm#backward}. */
    public static void backward(NormKind kind, int rows, int width,
                                MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                                MemorySegment stat, long statOff, MemorySegment rstd, long rOff,
                                MemorySegment dy, long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx,
                                MemorySegment dgamma, long dgOff, MemorySegment dbeta, long dbOff) {
        RowNorm.checkBackward(kind, rows, width, x, xOff, ldx, gamma, gOff, stat, statOff, rstd, rOff, dy, dyOff,
                lddy, dx, dxOff, lddx, dgamma, dgOff, dbeta, dbOff);
        int d = width;
        double[] dg = new double[d], db = new double[d];
        for (int row = 0; row < rows; row++) {
            long xr = xOff + (long) row * ldx, dyr = dyOff + (long) row * lddy, dxr = dxOff + (long) row * lddx;
            double r = rstd.getAtIndex(FLOAT, rOff + row);
            double st = kind.savesStat() ? stat.getAtIndex(FLOAT, statOff + row) : 0;
            double c = kind.centred() ? st : 0;
            double sg = 0, sgx = 0, ss = 0;
            for (int i = 0; i < d; i++) {
                double dyi = dy.getAtIndex(FLOAT, dyr + i);
                double g = gamma == null ? dyi : dyi * gamma.getAtIndex(FLOAT, gOff + i);
                double xc = x.getAtIndex(FLOAT, xr + i) - c;
                sg += g;
                sgx += g * xc * r;
                ss += Math.signum(xc);
                dg[i] += dyi * xc * r;
                db[i] += dyi;
            }
            if (!Double.isFinite(sg) || !Double.isFinite(sgx)) {
                throw NormChecks.nonFinite(kind.label(), "gradient dy", row);
            }
            for (int i = 0; i < d; i++) {
                double dyi = dy.getAtIndex(FLOAT, dyr + i);
                double g = gamma == null ? dyi : dyi * gamma.getAtIndex(FLOAT, gOff + i);
                double xc = x.getAtIndex(FLOAT, xr + i) - c;
                double xh = xc * r;
                double v = switch (kind) {
                    case LAYERNORM -> r * (g - sg / d - xh * sgx / d);
                    case RMSNORM -> r * (g - xh * sgx / d);
                    case CRMSNORM -> r * (g - (xh + r * st) * sgx / (d + 1));
                    case L1 -> r * (g - sg / d - sgx / d * (Math.signum(xc) - ss / d));
                    case L1_NONCENTRED -> r * (g - sgx / d * Math.signum(xc));
                };
                dx.setAtIndex(FLOAT, dxr + i, (float) v);
            }
        }
        for (int i = 0; i < d && rows > 0; i++) {
            if (dgamma != null) {
                dgamma.setAtIndex(FLOAT, dgOff + i, (float) (dgamma.getAtIndex(FLOAT, dgOff + i) + dg[i]));
            }
            if (dbeta != null) {
                dbeta.setAtIndex(FLOAT, dbOff + i, (float) (dbeta.getAtIndex(FLOAT, dbOff + i) + db[i]));
            }
        }
    }
}
