package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

/** Scalar twin of {@link ShiftLinear}: the same path built from {@link ShiftQuantScalar} and {@link ShiftMMScalar}. */
public final class ShiftLinearScalar {
    private ShiftLinearScalar() {
    }

    /** See {@link ShiftLinear#forward}. */
    public static void forward(int n, int cin, int cout, MemorySegment x, long xOff, MemorySegment w, long wOff,
                               int bits, int groups, MemorySegment y, long yOff) {
        ShiftLinear.run(true, 0, n, cin, cout, x, xOff, w, wOff, bits, groups, 0, y, yOff);
    }

    /** See {@link ShiftLinear#inputGrad}. */
    public static void inputGrad(int n, int cin, int cout, MemorySegment dy, long dyOff, MemorySegment w, long wOff,
                                 int bits, int groups, long seed, MemorySegment dx, long dxOff) {
        ShiftLinear.run(true, 1, n, cin, cout, dy, dyOff, w, wOff, bits, groups, seed, dx, dxOff);
    }

    /** See {@link ShiftLinear#weightGrad}. */
    public static void weightGrad(int n, int cin, int cout, MemorySegment dy, long dyOff, MemorySegment x, long xOff,
                                  int bits, int groups, long seed, MemorySegment dw, long dwOff) {
        ShiftLinear.run(true, 2, n, cin, cout, dy, dyOff, x, xOff, bits, groups, seed, dw, dwOff);
    }
}
