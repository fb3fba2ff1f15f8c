package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class AttentionTest {
    /** Sequence lengths hitting every row-tile (4) and column-tile (2 vectors) tail. */
    static final int[] LENGTHS = {0, 1, 3, 7, 15, 16, 17, 31, 33, 64, 65, 129};
    /** Head dimensions: multiples of two vectors (V read in place) and not (V padded, masked stores). */
    static final int[] DIMS = {0, 1, 5, 16, 17, 32, 33, 64};

    /** Q, K, V side by side in one [n, 3 * ld] matrix at element offset off (as a fused QKV activation). */
    @Test
    void matchesTwinOverLengthsDimsAndOffsets() {
        for (int n : LENGTHS) {
            for (int d : DIMS) {
                for (long off : OFFSETS) {
                    int ld = 3 * d + 5, ldo = d + 3;
                    try (Arena a = Arena.ofShared()) {
                        MemorySegment qkv = random(a, off, n * ld, n * 100L + d, -2, 2);
                        MemorySegment ov = guarded(a, off + 1, (long) n * ldo);
                        MemorySegment or = guarded(a, off + 1, (long) n * ldo);
                        float scale = (float) (1 / Math.sqrt(Math.max(1, d)));
                        Attention.forward(n, d, scale, qkv, off, ld, qkv, off + d, ld, qkv, off + 2L * d, ld, ov,
                                off + 1, ldo);
                        AttentionScalar.forward(n, d, scale, qkv, off, ld, qkv, off + d, ld, qkv, off + 2L * d, ld,
                                or, off + 1, ldo);
                        for (int i = 0; i < n; i++) {
                            long row = off + 1 + (long) i * ldo;
                            float[] e = read(or, row, d), v = read(ov, row, d);
                            assertArrayClose("attention n=" + n + " d=" + d + " row " + i, e, v, 3e-6, 1e-5);
                            for (int c = d; c < ldo && i < n - 1; c++) {
                                assertEquals(Float.floatToRawIntBits(GUARD),
                                        Float.floatToRawIntBits(ov.getAtIndex(FLOAT, off + 1 + (long) i * ldo + c)),
                                        "column " + c + " of row " + i + " outside the view was overwritten");
                            }
                        }
                        assertGuards("attention out", ov, off + 1, (long) (n == 0 ? 0 : (n - 1) * ldo + d));
                    }
                }
            }
        }
    }

    /**
     * Any finite scale, not only 1 / sqrt(d): negative (the softmax then favours the smallest dot products), zero
     * (uniform) and large. The kernels store raw scores and the softmax applies the scale, so this fails if the row
     * maximum is taken before scaling.
     */
    @Test
    void matchesTwinForNegativeZeroAndLargeScales() {
        int ld = 3 * 33 + 2;
        for (int n : new int[]{1, 7, 17, 40}) {
            for (float scale : new float[]{-0.4f, -3f, 0f, 2.5f}) {
                try (Arena a = Arena.ofShared()) {
                    MemorySegment qkv = random(a, 0, n * ld, n * 7L + 3, -2, 2);
                    MemorySegment ov = floats(a, (long) n * 33), or = floats(a, (long) n * 33);
                    Attention.forward(n, 33, scale, qkv, 0, ld, qkv, 33, ld, qkv, 66, ld, ov, 0, 33);
                    AttentionScalar.forward(n, 33, scale, qkv, 0, ld, qkv, 33, ld, qkv, 66, ld, or, 0, 33);
                    for (int i = 0; i < n; i++) {
                        // the class comment's bound, 1e-5 * (max |v| + 1): scores up to ~400 in magnitude carry
                        // their float rounding into exp
                        assertArrayClose("n=" + n + " scale=" + scale + " row " + i, read(or, (long) i * 33, 33),
                                read(ov, (long) i * 33, 33), 3e-5, 0);
                    }
                }
            }
        }
    }

    /**
     * The transposed-query scratch is not cleared between calls: NaN or huge queries of a longer call, left in what
     * becomes the padding of shorter ones, must not reach their results (their scores sit in lanes of queries that
     * do not exist; a softmax that reduced across lanes, or a P V that read them, would take them in).
     */
    @Test
    void staleScratchFromAnEarlierCallDoesNotLeak() {
        int d = 32, ld = 3 * d;
        for (float stale : new float[]{Float.NaN, 1e30f}) {
            try (Arena a = Arena.ofShared()) {
                MemorySegment bad = floats(a, 200L * ld), out = floats(a, 200L * d);
                fill(bad, stale);
                Attention.forward(200, d, 0.2f, bad, 0, ld, bad, d, ld, bad, 2 * d, ld, out, 0, d);
                for (int n : new int[]{1, 7, 12, 40}) {
                    MemorySegment qkv = random(a, 0, n * ld, n, -2, 2);
                    MemorySegment ov = floats(a, (long) n * d), or = floats(a, (long) n * d);
                    Attention.forward(n, d, 0.2f, qkv, 0, ld, qkv, d, ld, qkv, 2 * d, ld, ov, 0, d);
                    AttentionScalar.forward(n, d, 0.2f, qkv, 0, ld, qkv, d, ld, qkv, 2 * d, ld, or, 0, d);
                    for (int i = 0; i < n; i++) {
                        assertArrayClose("after a call with keys " + stale + ", n=" + n + " row " + i,
                                read(or, (long) i * d, d), read(ov, (long) i * d, d), 3e-6, 1e-5);
                    }
                }
            }
        }
    }

    /** Equal keys: uniform attention, each output is the mean of the values (a closed form). */
    @Test
    void equalKeysAverageTheValues() {
        int n = 19, d = 8;
        try (Arena a = Arena.ofShared()) {
            MemorySegment q = random(a, 0, n * d, 1, -1, 1), k = floats(a, (long) n * d);
            MemorySegment v = random(a, 0, n * d, 2, -1, 1), o = floats(a, (long) n * d);
            fill(k, 0.5f);
            Attention.forward(n, d, 0.3f, q, 0, d, k, 0, d, v, 0, d, o, 0, d);
            for (int c = 0; c < d; c++) {
                double mean = 0;
                for (int j = 0; j < n; j++) {
                    mean += v.getAtIndex(FLOAT, (long) j * d + c) / n;
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(mean, o.getAtIndex(FLOAT, (long) i * d + c), 1e-6);
                }
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment s = floats(a, 64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Attention.forward(4, 8, 1f, s, 0, 4, s, 0, 8, s, 0, 8, s, 0, 8));
            assertTrue(e.getMessage().contains("q") && e.getMessage().contains("4"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Attention.forward(9, 8, 1f, s, 0, 8, s, 0, 8, s, 0, 8, s, 0, 8));
            assertThrows(IllegalArgumentException.class,
                    () -> Attention.forward(-1, 8, 1f, s, 0, 8, s, 0, 8, s, 0, 8, s, 0, 8));
        }
    }
}
