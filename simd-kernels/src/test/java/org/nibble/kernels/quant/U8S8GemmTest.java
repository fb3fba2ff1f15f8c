package org.nibble.kernels.quant;

import org.junit.jupiter.api.Test;
import org.nibble.kernels.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class U8S8GemmTest {
    static final int[] MS = {0, 1, 3, 4, 5, 9};
    static final int[] NS = {0, 1, 7, 17};
    static final int[] KS = {0, 1, 15, 16, 17, 33, 100};

    @Test
    void vectorKernelEqualsItsScalarTwinOverEveryTail() {
        var rng = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            for (int m : MS) {
                for (int n : NS) {
                    for (int k : KS) {
                        int[] a = new int[m * k];
                        for (int e = 0; e < a.length; e++) {
                            a[e] = rng.nextInt(256);
                        }
                        long wOff = 3;
                        MemorySegment w = arena.allocate(wOff + (long) n * k);
                        for (long e = 0; e < (long) n * k; e++) {
                            w.set(ValueLayout.JAVA_BYTE, wOff + e, (byte) (rng.nextInt(256) - 128));
                        }
                        int[] expected = new int[m * n], actual = new int[m * n];
                        java.util.Arrays.fill(actual, 12345);
                        U8S8GemmScalar.gemm(m, n, k, a, w, wOff, expected);
                        U8S8Gemm.gemm(m, n, k, a, w, wOff, actual);
                        assertArrayEquals(expected, actual, "m " + m + " n " + n + " k " + k);
                    }
                }
            }
        }
    }

    @Test
    void columnRangesSplitOverTwoThreadsEqualTheTwin() {
        // m * k = 1800 gives a grain of 145 columns, so 301 columns run as two ranges on two threads
        int m = 6, n = 301, k = 300, before = Parallel.threads();
        var rng = new SplittableRandom(11);
        int[] a = new int[m * k];
        for (int e = 0; e < a.length; e++) {
            a[e] = rng.nextInt(256);
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment w = arena.allocate((long) n * k);
            for (long e = 0; e < (long) n * k; e++) {
                w.set(ValueLayout.JAVA_BYTE, e, (byte) (rng.nextInt(256) - 128));
            }
            int[] expected = new int[m * n], actual = new int[m * n];
            U8S8GemmScalar.gemm(m, n, k, a, w, 0, expected);
            Parallel.setThreads(2);
            assertEquals(2, Parallel.chunks(n, (1 << 18) / (m * k)), "the sizes must split the columns");
            U8S8Gemm.gemm(m, n, k, a, w, 0, actual);
            assertArrayEquals(expected, actual);
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void extremeValuesSumExactly() {
        int m = 5, n = 3, k = 1000;
        int[] a = new int[m * k];
        java.util.Arrays.fill(a, 255);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate((long) n * k);
            for (long e = 0; e < (long) n * k; e++) {
                w.set(ValueLayout.JAVA_BYTE, e, e < k ? (byte) -128 : (byte) 127);
            }
            int[] c = new int[m * n];
            U8S8Gemm.gemm(m, n, k, a, w, 0, c);
            for (int i = 0; i < m; i++) {
                assertEquals(-128 * 255 * k, c[i * n]);
                assertEquals(127 * 255 * k, c[i * n + 1]);
                assertEquals(127 * 255 * k, c[i * n + 2]);
            }
        }
    }

    @Test
    void badArgumentsNameTheArgument() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = arena.allocate(16);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> U8S8Gemm.gemm(1, 1, 1 << 16, new int[1 << 16], w, 0, new int[1]));
            assertTrue(e.getMessage().startsWith("k:"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> U8S8Gemm.gemm(2, 1, 4, new int[7], w, 0, new int[2]));
            assertTrue(e.getMessage().startsWith("a:"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> U8S8Gemm.gemm(2, 2, 4, new int[8], w, 0, new int[3]));
            assertTrue(e.getMessage().startsWith("c:"), e.getMessage());
            assertThrows(RuntimeException.class, () -> U8S8Gemm.gemm(1, 5, 4, new int[4], w, 0, new int[5]));
        }
    }
}
