package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * F16 and BF16 to and from F32 over segments, Vector API implementation in integer bit arithmetic (the Vector API of
 * JDK 25 has no half-float lanes); the twin with identical signatures is {@link ConvertScalar}.
 *
 * <p>Narrowing rounds to nearest, ties to even. F16 follows {@link Float#floatToFloat16} and
 * {@link Float#float16ToFloat} bit for bit, NaN payloads included (overflow to infinity at 65520, subnormal halves
 * down to 2^-24, values at or below 2^-25 to signed zero). BF16 follows the project's rule ({@code DType.floatToBf16}
 * in engine, restated in {@link ConvertScalar#floatToBf16}): round the upper 16 bits to nearest even; a NaN keeps its
 * upper bits and gets the quiet bit 0x40 set. Widening is exact. Offsets count elements of each side's type.
 */
public final class Convert {
    private Convert() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final VectorSpecies<Integer> I = Simd.I32;
    /** Shorts with as many lanes as {@link #S}: half its bit width. */
    private static final VectorSpecies<Short> H =
            ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(Simd.VECTOR_BITS / 2));
    private static final int L = S.length();

    private static void check(int n, String src, MemorySegment s, long sOff, int sBytes, String dst, MemorySegment d,
                              long dOff, int dBytes) {
        Checks.checkCount("n", n);
        Checks.checkRange(src, s, sOff, n, sBytes);
        Checks.checkRange(dst, d, dOff, n, dBytes);
    }

    private static IntVector loadHalf(MemorySegment s, long sb, int i, VectorMask<Short> m) {
        ShortVector h = m == null ? ShortVector.fromMemorySegment(H, s, sb + 2L * i, ORDER)
                : ShortVector.fromMemorySegment(H, s, sb + 2L * i, ORDER, m);
        return (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
    }

    private static void storeHalf(IntVector v, MemorySegment d, long db, int i, VectorMask<Short> m) {
        ShortVector h = (ShortVector) v.convertShape(VectorOperators.I2S, H, 0);
        if (m == null) {
            h.intoMemorySegment(d, db + 2L * i, ORDER);
        } else {
            h.intoMemorySegment(d, db + 2L * i, ORDER, m);
        }
    }

    /** IEEE binary16 bits (sign-extended in the int lanes) to float. */
    static FloatVector halfToFloat(IntVector h) {
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector em = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        // exponent and mantissa land in float position; scaling by 2^(127 - 15) rebiases normals and turns
        // subnormal halves (which read as float subnormals) into the right normal floats, exactly
        FloatVector finite = em.reinterpretAsFloats().mul(0x1p112f);
        FloatVector special = em.or(0x7F800000).reinterpretAsFloats();
        VectorMask<Float> infNan = em.compare(VectorOperators.GE, 0x7C00 << 13).cast(S);
        return finite.blend(special, infNan).reinterpretAsInts().or(sign).reinterpretAsFloats();
    }

    /** Float to binary16 bits, round to nearest even, as {@link Float#floatToFloat16}. */
    static IntVector floatToHalf(FloatVector f) {
        IntVector bits = f.reinterpretAsInts();
        IntVector sign = bits.lanewise(VectorOperators.LSHR, 16).and(0x8000);
        IntVector u = bits.and(0x7FFFFFFF);
        // normal halves: rebias the exponent by (15 - 127) and round the 13 dropped bits to nearest even
        IntVector odd = u.lanewise(VectorOperators.LSHR, 13).and(1);
        IntVector normal = u.add(((15 - 127) << 23) + 0xFFF).add(odd).lanewise(VectorOperators.LSHR, 13);
        // |f| < 2^-14: adding 0.5f aligns the value to the half-subnormal ulp 2^-24 with IEEE rounding
        IntVector sub = u.reinterpretAsFloats().add(0.5f).reinterpretAsInts().sub(0x3F000000);
        // NaN: Float.floatToFloat16's payload rule
        IntVector nan = bits.and(0x007FE000).lanewise(VectorOperators.LSHR, 13)
                .or(bits.and(0x1FF0).lanewise(VectorOperators.LSHR, 4)).or(bits.and(0xF)).or(0x7C00);
        IntVector r = normal.blend(sub, u.compare(VectorOperators.LT, 0x38800000));
        r = r.blend(0x7C00, u.compare(VectorOperators.GE, 0x477FF000));
        r = r.blend(nan, u.compare(VectorOperators.GT, 0x7F800000));
        return r.or(sign);
    }

    /** bfloat16 bits to float (exact). */
    static FloatVector bf16ToFloat(IntVector h) {
        return h.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** Float to bfloat16 bits (in the low 16 bits of each lane), see the class comment. */
    static IntVector floatToBf16(FloatVector f) {
        IntVector bits = f.reinterpretAsInts();
        IntVector hi = bits.lanewise(VectorOperators.LSHR, 16);
        IntVector rounded = bits.add(hi.and(1).add(0x7FFF)).lanewise(VectorOperators.LSHR, 16);
        return rounded.blend(hi.or(0x40), f.compare(VectorOperators.NE, f).cast(I));
    }

    /** {@code dst[i] = float16ToFloat(src[i])}. */
    public static void f16ToF32(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        check(n, "src", src, srcOff, 2, "dst", dst, dstOff, 4);
        long sb = 2 * srcOff, db = 4 * dstOff;
        int i = 0;
        for (; i <= n - L; i += L) {
            halfToFloat(loadHalf(src, sb, i, null)).intoMemorySegment(dst, db + 4L * i, ORDER);
        }
        if (i < n) {
            halfToFloat(loadHalf(src, sb, i, H.indexInRange(i, n)))
                    .intoMemorySegment(dst, db + 4L * i, ORDER, S.indexInRange(i, n));
        }
    }

    /** {@code dst[i] = floatToFloat16(src[i])}. */
    public static void f32ToF16(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        check(n, "src", src, srcOff, 4, "dst", dst, dstOff, 2);
        long sb = 4 * srcOff, db = 2 * dstOff;
        int i = 0;
        for (; i <= n - L; i += L) {
            storeHalf(floatToHalf(FloatVector.fromMemorySegment(S, src, sb + 4L * i, ORDER)), dst, db, i, null);
        }
        if (i < n) {
            storeHalf(floatToHalf(FloatVector.fromMemorySegment(S, src, sb + 4L * i, ORDER, S.indexInRange(i, n))),
                    dst, db, i, H.indexInRange(i, n));
        }
    }

    /** {@code dst[i] = bf16ToFloat(src[i])}. */
    public static void bf16ToF32(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        check(n, "src", src, srcOff, 2, "dst", dst, dstOff, 4);
        long sb = 2 * srcOff, db = 4 * dstOff;
        int i = 0;
        for (; i <= n - L; i += L) {
            bf16ToFloat(loadHalf(src, sb, i, null)).intoMemorySegment(dst, db + 4L * i, ORDER);
        }
        if (i < n) {
            bf16ToFloat(loadHalf(src, sb, i, H.indexInRange(i, n)))
                    .intoMemorySegment(dst, db + 4L * i, ORDER, S.indexInRange(i, n));
        }
    }

    /** {@code dst[i] = floatToBf16(src[i])}. */
    public static void f32ToBf16(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        check(n, "src", src, srcOff, 4, "dst", dst, dstOff, 2);
        long sb = 4 * srcOff, db = 2 * dstOff;
        int i = 0;
        for (; i <= n - L; i += L) {
            storeHalf(floatToBf16(FloatVector.fromMemorySegment(S, src, sb + 4L * i, ORDER)), dst, db, i, null);
        }
        if (i < n) {
            storeHalf(floatToBf16(FloatVector.fromMemorySegment(S, src, sb + 4L * i, ORDER, S.indexInRange(i, n))),
                    dst, db, i, H.indexInRange(i, n));
        }
    }
}
