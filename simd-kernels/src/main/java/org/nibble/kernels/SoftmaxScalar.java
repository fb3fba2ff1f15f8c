package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link Softmax}: same signatures, every row computed in double. */
public final class SoftmaxScalar {
    private SoftmaxScalar() {
    }

    public static void forward(int rows, int cols, float scale, MemorySegment x, long xOff, int ldx,
                               MemorySegment y, long yOff, int ldy) {
        forwardCausal(rows, cols, scale, Integer.MAX_VALUE, x, xOff, ldx, y, yOff, ldy);
    }

    public static void forwardCausal(int rows, int cols, float scale, int offset, MemorySegment x, long xOff, int ldx,
                                     MemorySegment y, long yOff, int ldy) {
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * ldx, yr = yOff + (long) r * ldy;
            int c = offset == Integer.MAX_VALUE ? cols : (int) Math.min(cols, Math.max(0, (long) r + offset + 1));
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                m = Math.max(m, (double) scale * x.getAtIndex(FLOAT, xr + j));
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                sum += Math.exp((double) scale * x.getAtIndex(FLOAT, xr + j) - m);
            }
            for (int j = 0; j < cols; j++) {
                double p = j < c ? Math.exp((double) scale * x.getAtIndex(FLOAT, xr + j) - m) / sum : 0;
                y.setAtIndex(FLOAT, yr + j, (float) p);
            }
        }
    }

    public static void backward(int rows, int cols, float scale, MemorySegment y, long yOff, int ldy,
                                MemorySegment dy, long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx) {
        for (int r = 0; r < rows; r++) {
            long yr = yOff + (long) r * ldy, gr = dyOff + (long) r * lddy, dr = dxOff + (long) r * lddx;
            double dot = 0;
            for (int j = 0; j < cols; j++) {
                dot += (double) y.getAtIndex(FLOAT, yr + j) * dy.getAtIndex(FLOAT, gr + j);
            }
            for (int j = 0; j < cols; j++) {
                double v = scale * y.getAtIndex(FLOAT, yr + j) * (dy.getAtIndex(FLOAT, gr + j) - dot);
                dx.setAtIndex(FLOAT, dr + j, (float) v);
            }
        }
    }

    public static void logForward(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment y, long yOff,
                                  int ldy) {
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * ldx, yr = yOff + (long) r * ldy;
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                m = Math.max(m, x.getAtIndex(FLOAT, xr + j));
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += Math.exp(x.getAtIndex(FLOAT, xr + j) - m);
            }
            double lse = m + Math.log(sum);
            for (int j = 0; j < cols; j++) {
                y.setAtIndex(FLOAT, yr + j, (float) (x.getAtIndex(FLOAT, xr + j) - lse));
            }
        }
    }

    public static void logBackward(int rows, int cols, MemorySegment y, long yOff, int ldy, MemorySegment dy,
                                   long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx) {
        for (int r = 0; r < rows; r++) {
            long yr = yOff + (long) r * ldy, gr = dyOff + (long) r * lddy, dr = dxOff + (long) r * lddx;
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += dy.getAtIndex(FLOAT, gr + j);
            }
            for (int j = 0; j < cols; j++) {
                double v = dy.getAtIndex(FLOAT, gr + j) - Math.exp(y.getAtIndex(FLOAT, yr + j)) * s;
                dx.setAtIndex(FLOAT, dr + j, (float) v);
            }
        }
    }
}
