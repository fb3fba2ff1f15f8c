package org.nibble.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The vector species every kernel uses, chosen once at class initialisation.
 *
 * <p>The width is the platform's preferred shape unless {@code -Dnibble.vectorBits=128|256|512} overrides it (useful to
 * test narrower paths on a wide machine). Kernels never query the shape again: they read these constants, so C2 sees
 * compile-time constants and inlines everything.
 */
public final class Simd {
    private Simd() {
    }

    /** Bits per vector register used by all kernels. */
    public static final int VECTOR_BITS = chooseBits();

    /** Float species of {@link #VECTOR_BITS}. */
    public static final VectorSpecies<Float> F32 = FloatVector.SPECIES_PREFERRED.withShape(shape());
    /** Int species of the same width (same lane count as {@link #F32}). */
    public static final VectorSpecies<Integer> I32 = IntVector.SPECIES_PREFERRED.withShape(shape());
    /** Short species of the same width (twice the lanes of {@link #F32}). */
    public static final VectorSpecies<Short> I16 = ShortVector.SPECIES_PREFERRED.withShape(shape());
    /** Byte species of the same width. */
    public static final VectorSpecies<Byte> I8 = ByteVector.SPECIES_PREFERRED.withShape(shape());

    /** Float lanes per vector. */
    public static final int F32_LANES = F32.length();

    /** All tensor data is little-endian; unaligned layouts because offsets are arbitrary element indices. */
    public static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ORDER);
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ORDER);
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ORDER);
    public static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    private static int chooseBits() {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        String prop = System.getProperty("nibble.vectorBits");
        if (prop == null || prop.isBlank()) {
            return preferred;
        }
        int bits;
        try {
            bits = Integer.parseInt(prop.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-Dnibble.vectorBits: expected 128, 256 or 512, got '" + prop + "'");
        }
        if (bits != 128 && bits != 256 && bits != 512) {
            throw new IllegalArgumentException("-Dnibble.vectorBits: expected 128, 256 or 512, got " + bits);
        }
        if (bits > preferred) {
            throw new IllegalArgumentException("-Dnibble.vectorBits: " + bits + " exceeds this CPU's preferred "
                    + preferred + "-bit vectors; wider species would run the slow Java fallback");
        }
        return bits;
    }

    private static VectorShape shape() {
        return VectorShape.forBitSize(VECTOR_BITS);
    }

    /**
     * Sum of the lanes in lane order. Use instead of {@code reduceLanes(ADD)} wherever results must be reproducible:
     * the float order of {@code reduceLanes} is unspecified and differs between the C2 intrinsic and the
     * interpreter/C1 fallback, so the same call could give different bits before and after JIT compilation.
     */
    public static float sumLanes(FloatVector v) {
        float s = v.lane(0);
        for (int i = 1; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }

    /** One line for logs and {@code nibble info}. */
    public static String describe() {
        return "vector width " + VECTOR_BITS + " bits (preferred " + FloatVector.SPECIES_PREFERRED.vectorBitSize()
                + "): float x" + F32.length() + ", int x" + I32.length() + ", short x" + I16.length()
                + ", byte x" + I8.length();
    }
}
