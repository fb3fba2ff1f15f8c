package org.nibble.engine;

/**
 * Element types of a {@link Tensor}. Values are stored little-endian. Packed sub-8-bit ShiftQuant storage comes with
 * the quantized formats.
 */
public enum DType {
    /** IEEE binary32, the default compute type. */
    F32(4, true),
    /** IEEE binary16 (storage and baselines). */
    F16(2, true),
    /** bfloat16: the upper 16 bits of a binary32 (storage and baselines). */
    BF16(2, true),
    /** Signed 8-bit integer (quantized codes). */
    I8(1, false),
    /** Signed 32-bit integer (token ids, integer accumulators). */
    I32(4, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types. */
    public boolean isFloating() {
        return floating;
    }

    /** Rounds a float to bfloat16 bits, round-to-nearest-even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Widens bfloat16 bits to a float (exact). */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }
}
