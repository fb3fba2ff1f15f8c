package org.nibble.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.FLOAT;

/** Vector kernels of {@link FloatOps} against their scalar twins over sizes that hit every tail and odd offsets. */
class FloatOpsTest {
    static final int[] SIZES = {0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1024, 4099};
    static final int[] OFFSETS = {0, 1, 3};

    static Stream<int[]> cases() {
        return IntStream.of(SIZES).boxed().flatMap(n -> IntStream.of(OFFSETS).mapToObj(o -> new int[]{n, o}));
    }

    private static MemorySegment random(Arena arena, int n, long seed) {
        MemorySegment s = arena.allocate(4L * n + 64, 64);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < s.byteSize() / 4; i++) {
            s.setAtIndex(FLOAT, i, (float) (r.nextDouble() * 4 - 2));
        }
        return s;
    }

    private static void assertSameFloats(MemorySegment a, MemorySegment b, long off, int n) {
        for (int i = 0; i < n; i++) {
            float x = a.getAtIndex(FLOAT, off + i), y = b.getAtIndex(FLOAT, off + i);
            assertEquals(Float.floatToIntBits(y), Float.floatToIntBits(x), "element " + i + ": " + x + " vs " + y);
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void elementwiseEqualsTwinExactly(int[] c) {
        int n = c[0], off = c[1];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = random(arena, n + off, 1), y = random(arena, n + off, 2);
            MemorySegment v = arena.allocate(4L * (n + off) + 64), s = arena.allocate(4L * (n + off) + 64);
            FloatOps.add(n, x, off, y, 0, v, off);
            FloatOpsScalar.add(n, x, off, y, 0, s, off);
            assertSameFloats(v, s, off, n);
            FloatOps.sub(n, x, 0, y, off, v, off);
            FloatOpsScalar.sub(n, x, 0, y, off, s, off);
            assertSameFloats(v, s, off, n);
            FloatOps.mul(n, x, off, y, off, v, 0);
            FloatOpsScalar.mul(n, x, off, y, off, s, 0);
            assertSameFloats(v, s, 0, n);
            FloatOps.scale(n, -1.5f, x, off, v, off);
            FloatOpsScalar.scale(n, -1.5f, x, off, s, off);
            assertSameFloats(v, s, off, n);
            FloatOps.fill(n, 3.25f, v, off);
            FloatOpsScalar.fill(n, 3.25f, s, off);
            assertSameFloats(v, s, off, n);
            MemorySegment.copy(y, 0, v, 0, y.byteSize());
            MemorySegment.copy(y, 0, s, 0, y.byteSize());
            FloatOps.axpy(n, 0.75f, x, off, v, off);
            FloatOpsScalar.axpy(n, 0.75f, x, off, s, off);
            assertSameFloats(v, s, off, n);
            // untouched outside [off, off + n)
            if (off > 0) {
                assertEquals(y.getAtIndex(FLOAT, 0), v.getAtIndex(FLOAT, 0));
            }
            assertEquals(y.getAtIndex(FLOAT, off + n), v.getAtIndex(FLOAT, off + n));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void reductionsMatchTwinWithinBound(int[] c) {
        int n = c[0], off = c[1];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = random(arena, n + off, 3), y = random(arena, n + off, 4);
            double absSum = 0, absDot = 0, maxv = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                float xi = x.getAtIndex(FLOAT, off + i), yi = y.getAtIndex(FLOAT, off + i);
                absSum += Math.abs(xi);
                absDot += Math.abs(xi * yi);
                maxv = Math.max(maxv, xi);
            }
            double eps = Math.ulp(1f);
            assertEquals(FloatOpsScalar.sum(n, x, off), FloatOps.sum(n, x, off), (n + 1) * eps * absSum + 1e-30);
            assertEquals(FloatOpsScalar.dot(n, x, off, y, off), FloatOps.dot(n, x, off, y, off),
                    (n + 1) * eps * absDot + 1e-30);
            assertEquals(FloatOpsScalar.sumOfSquares(n, x, off), FloatOps.sumOfSquares(n, x, off),
                    (n + 1) * eps * FloatOpsScalar.sumOfSquares(n, x, off) + 1e-30);
            assertEquals((float) maxv, FloatOps.max(n, x, off));
            assertEquals(FloatOpsScalar.max(n, x, off), FloatOps.max(n, x, off));
        }
    }

    @Test
    void reductionsOfKnownValues() {
        try (Arena arena = Arena.ofConfined()) {
            int n = 1000;
            MemorySegment x = arena.allocate(4L * n);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(FLOAT, i, i + 1);
            }
            assertEquals(n * (n + 1) / 2.0, FloatOps.sum(n, x, 0), 0);
            assertEquals(n, FloatOps.max(n, x, 0));
            assertEquals((double) n * (n + 1) * (2 * n + 1) / 6, FloatOps.sumOfSquares(n, x, 0), 1e-6 * 3.3e8);
            assertEquals(0f, FloatOps.sum(0, x, 0));
            assertEquals(Float.NEGATIVE_INFINITY, FloatOps.max(0, x, 0));
        }
    }

    @Test
    void nanAndInfinityPropagate() {
        try (Arena arena = Arena.ofConfined()) {
            for (int n : new int[]{5, 64, 100}) {
                for (int at : new int[]{0, n / 2, n - 1}) {
                    MemorySegment x = arena.allocate(4L * n);
                    FloatOps.fill(n, 1f, x, 0);
                    x.setAtIndex(FLOAT, at, Float.NaN);
                    assertTrue(Float.isNaN(FloatOps.sum(n, x, 0)), "sum n=" + n + " at=" + at);
                    assertTrue(Float.isNaN(FloatOps.max(n, x, 0)), "max n=" + n + " at=" + at);
                    assertTrue(Float.isNaN(FloatOps.dot(n, x, 0, x, 0)), "dot n=" + n + " at=" + at);
                    x.setAtIndex(FLOAT, at, Float.POSITIVE_INFINITY);
                    assertEquals(Float.POSITIVE_INFINITY, FloatOps.sum(n, x, 0));
                    assertEquals(Float.POSITIVE_INFINITY, FloatOps.max(n, x, 0));
                }
            }
        }
    }

    @Test
    void argumentErrorsNameTheArgument() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = arena.allocate(4L * 10);
            var e1 = assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.sum(11, x, 0));
            assertTrue(e1.getMessage().startsWith("x:") && e1.getMessage().contains("10 elements"), e1.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class, () -> FloatOps.fill(-1, 0f, x, 0));
            assertTrue(e2.getMessage().contains("n") && e2.getMessage().contains("-1"), e2.getMessage());
            var e3 = assertThrows(IndexOutOfBoundsException.class,
                    () -> FloatOps.add(5, x, 0, x, 6, x, 0));
            assertTrue(e3.getMessage().startsWith("y:"), e3.getMessage());
            var e4 = assertThrows(IndexOutOfBoundsException.class, () -> FloatOps.dot(1, x, -1, x, 0));
            assertTrue(e4.getMessage().contains("-1"), e4.getMessage());
        }
    }
}
