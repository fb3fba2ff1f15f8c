package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link RowStats}: same signatures, sums in double. */
public final class RowStatsScalar {
    private RowStatsScalar() {
    }

    private static double rowSum(int cols, MemorySegment x, long xr) {
        double s = 0;
        for (int j = 0; j < cols; j++) {
            s += x.getAtIndex(FLOAT, xr + j);
        }
        return s;
    }

    public static void sum(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        for (int r = 0; r < rows; r++) {
            out.setAtIndex(FLOAT, outOff + r, (float) rowSum(cols, x, xOff + (long) r * ldx));
        }
    }

    public static void max(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        for (int r = 0; r < rows; r++) {
            float m = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                m = Math.max(m, x.getAtIndex(FLOAT, xOff + (long) r * ldx + j));
            }
            out.setAtIndex(FLOAT, outOff + r, m);
        }
    }

    public static void mean(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff) {
        for (int r = 0; r < rows; r++) {
            out.setAtIndex(FLOAT, outOff + r, (float) (rowSum(cols, x, xOff + (long) r * ldx) / cols));
        }
    }

    public static void variance(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out,
                                long outOff) {
        deviation(true, rows, cols, x, xOff, ldx, out, outOff);
    }

    public static void meanAbsDev(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out,
                                  long outOff) {
        deviation(false, rows, cols, x, xOff, ldx, out, outOff);
    }

    private static void deviation(boolean square, int rows, int cols, MemorySegment x, long xOff, int ldx,
                                  MemorySegment out, long outOff) {
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * ldx;
            double mean = rowSum(cols, x, xr) / cols, s = 0;
            for (int j = 0; j < cols; j++) {
                double d = x.getAtIndex(FLOAT, xr + j) - mean;
                s += square ? d * d : Math.abs(d);
            }
            out.setAtIndex(FLOAT, outOff + r, (float) (s / cols));
        }
    }

    public static void biasAdd(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment bias, long bOff,
                               MemorySegment y, long yOff, int ldy) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                y.setAtIndex(FLOAT, yOff + (long) r * ldy + j,
                        x.getAtIndex(FLOAT, xOff + (long) r * ldx + j) + bias.getAtIndex(FLOAT, bOff + j));
            }
        }
    }

    public static void biasGrad(int rows, int cols, MemorySegment dy, long dyOff, int lddy, MemorySegment db,
                                long dbOff, boolean accumulate) {
        for (int j = 0; j < cols; j++) {
            double s = accumulate ? db.getAtIndex(FLOAT, dbOff + j) : 0;
            for (int r = 0; r < rows; r++) {
                s += dy.getAtIndex(FLOAT, dyOff + (long) r * lddy + j);
            }
            db.setAtIndex(FLOAT, dbOff + j, (float) s);
        }
    }
}
