package org.nibble.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;
import static org.nibble.kernels.Simd.FLOAT;

/** Shared helpers for the kernel tests: tail sizes, random segments, tolerant float comparison. */
final class KernelTestSupport {
    private KernelTestSupport() {
    }

    /** Sizes that hit every vector tail for 128-, 256- and 512-bit species. */
    static final int[] SIZES = {0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1024, 4099};
    /** A shorter list for 2-D sweeps (rows x cols). */
    static final int[] SHAPES = {1, 3, 7, 16, 17, 33, 64, 65, 129, 255};
    /** Element offsets: aligned and unaligned. */
    static final long[] OFFSETS = {0, 3};

    /** Bit pattern written around outputs to catch out-of-range writes. */
    static final float GUARD = Float.intBitsToFloat(0x7FC0BEEF);

    static MemorySegment floats(Arena arena, long n) {
        return arena.allocate(Math.max(1, n) * 4, 64);
    }

    /** A segment of {@code off + n + 8} floats: uniform in [lo, hi) from {@code off}, guards elsewhere. */
    static MemorySegment random(Arena arena, long off, int n, long seed, float lo, float hi) {
        MemorySegment s = floats(arena, off + n + 8);
        fill(s, GUARD);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            s.setAtIndex(FLOAT, off + i, (float) (lo + (hi - lo) * r.nextDouble()));
        }
        return s;
    }

    /** A guard-filled segment of {@code off + n + 8} floats. */
    static MemorySegment guarded(Arena arena, long off, long n) {
        MemorySegment s = floats(arena, off + n + 8);
        fill(s, GUARD);
        return s;
    }

    static void fill(MemorySegment s, float v) {
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(FLOAT, i, v);
        }
    }

    static float[] read(MemorySegment s, long off, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = s.getAtIndex(FLOAT, off + i);
        }
        return a;
    }

    static MemorySegment of(Arena arena, float... v) {
        MemorySegment s = floats(arena, v.length);
        for (int i = 0; i < v.length; i++) {
            s.setAtIndex(FLOAT, i, v[i]);
        }
        return s;
    }

    /** Asserts that every float outside {@code [off, off + n)} still holds {@link #GUARD}. */
    static void assertGuards(String what, MemorySegment s, long off, long n) {
        long total = s.byteSize() / 4;
        for (long i = 0; i < total; i++) {
            if ((i < off || i >= off + n)
                    && Float.floatToRawIntBits(s.getAtIndex(FLOAT, i)) != Float.floatToRawIntBits(GUARD)) {
                fail(what + ": element " + i + " outside [" + off + ", " + (off + n) + ") was overwritten");
            }
        }
    }

    /**
     * Asserts {@code |actual - expected| <= abs + rel * |expected|}; NaN matches NaN, infinities must be equal.
     */
    static void assertClose(String what, double expected, double actual, double abs, double rel) {
        if (Double.isNaN(expected) || Double.isNaN(actual)) {
            if (Double.isNaN(expected) != Double.isNaN(actual)) {
                fail(what + ": expected " + expected + ", got " + actual);
            }
            return;
        }
        if (Double.isInfinite(expected) || Double.isInfinite(actual)) {
            if (expected != actual) {
                fail(what + ": expected " + expected + ", got " + actual);
            }
            return;
        }
        double err = Math.abs(actual - expected);
        if (!(err <= abs + rel * Math.abs(expected))) {
            fail(what + ": expected " + expected + ", got " + actual + " (error " + err + " > " + abs + " + " + rel
                    + " * |expected|)");
        }
    }

    static void assertArrayClose(String what, float[] expected, float[] actual, double abs, double rel) {
        for (int i = 0; i < expected.length; i++) {
            assertClose(what + " [" + i + "]", expected[i], actual[i], abs, rel);
        }
    }
}
