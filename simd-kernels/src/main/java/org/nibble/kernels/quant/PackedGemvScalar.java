package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/** Scalar twin of {@link PackedGemv}: decodes every code with {@link PackedFormat#code} and sums in double. */
public final class PackedGemvScalar {
    private PackedGemvScalar() {
    }

    /** See {@link PackedGemv#gemv}. */
    public static void gemv(PackedFormat format, int rows, int cols, MemorySegment w, long wOff,
                            MemorySegment groupIds, long gOff, float s0, MemorySegment x, long xOff, MemorySegment y,
                            long yOff) {
        PackedGemv.check(format, rows, cols, w, wOff, groupIds, gOff, x, xOff, y, yOff);
        long rowBytes = format.rowBytes(cols);
        for (int r = 0; r < rows; r++) {
            double acc = 0;
            for (int k = 0; k < cols; k++) {
                float xk = Math.scalb(x.getAtIndex(FLOAT, xOff + k), -groupIds.get(BYTE, gOff + k));
                acc += format.code(w, wOff + r * rowBytes, cols, k) * (double) xk;
            }
            y.setAtIndex(FLOAT, yOff + r, (float) (s0 * acc));
        }
    }
}
