package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.SHORT;

/**
 * Scalar reference twin of {@link Convert}: {@link Float#floatToFloat16} / {@link Float#float16ToFloat} for F16, and
 * the kernel's own BF16 rule (the same as {@code DType.floatToBf16} in engine, which kernels cannot depend on).
 */
public final class ConvertScalar {
    private ConvertScalar() {
    }

    /** Float to bfloat16 bits, round to nearest even; NaN keeps its upper bits with the quiet bit 0x40 set. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** bfloat16 bits to float (exact). */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    public static void f16ToF32(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(FLOAT, dstOff + i, Float.float16ToFloat(src.getAtIndex(SHORT, srcOff + i)));
        }
    }

    public static void f32ToF16(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(SHORT, dstOff + i, Float.floatToFloat16(src.getAtIndex(FLOAT, srcOff + i)));
        }
    }

    public static void bf16ToF32(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(FLOAT, dstOff + i, bf16ToFloat(src.getAtIndex(SHORT, srcOff + i)));
        }
    }

    public static void f32ToBf16(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        for (int i = 0; i < n; i++) {
            dst.setAtIndex(SHORT, dstOff + i, floatToBf16(src.getAtIndex(FLOAT, srcOff + i)));
        }
    }
}
