package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class RowStatsTest {
    interface Stat {
        void run(int rows, int cols, MemorySegment x, long xOff, int ldx, MemorySegment out, long outOff);
    }

    @Test
    void statisticsMatchTwin() {
        Stat[][] pairs = {{RowStats::sum, RowStatsScalar::sum}, {RowStats::max, RowStatsScalar::max},
                {RowStats::mean, RowStatsScalar::mean}, {RowStats::variance, RowStatsScalar::variance},
                {RowStats::meanAbsDev, RowStatsScalar::meanAbsDev}};
        String[] names = {"sum", "max", "mean", "variance", "meanAbsDev"};
        for (int k = 0; k < pairs.length; k++) {
            for (int cols : SIZES) {
                for (long off : OFFSETS) {
                    int rows = 3, ld = cols + 1;
                    try (Arena a = Arena.ofShared()) {
                        // a large common offset makes variance sensitive to a one-pass formula
                        MemorySegment x = SoftmaxTest.matrix(a, off, rows, cols, ld, cols, 99, 101);
                        MemorySegment ov = guarded(a, 1, rows), or = guarded(a, 1, rows);
                        pairs[k][0].run(rows, cols, x, off, ld, ov, 1);
                        pairs[k][1].run(rows, cols, x, off, ld, or, 1);
                        assertGuards(names[k], ov, 1, rows);
                        // float accumulation: ~ cols * eps relative to sum|x| (for deviations: sum of deviations)
                        double tol = names[k].equals("sum") || names[k].equals("mean") ? 2e-7 * Math.sqrt(cols + 1)
                                : names[k].equals("max") ? 0 : 2e-6 * Math.sqrt(cols + 1);
                        assertArrayClose(names[k] + " cols=" + cols, read(or, 1, rows), read(ov, 1, rows), 0, tol);
                    }
                }
            }
        }
    }

    @Test
    void knownValuesAndEmptyRows() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = of(a, 1f, 2f, 3f, 4f, -1f, Float.NaN, 0f, 0f);
            MemorySegment o = floats(a, 2);
            RowStats.variance(1, 4, x, 0, 4, o, 0);
            assertEquals(1.25f, o.getAtIndex(FLOAT, 0));
            RowStats.meanAbsDev(1, 4, x, 0, 4, o, 0);
            assertEquals(1f, o.getAtIndex(FLOAT, 0));
            RowStats.max(2, 4, x, 0, 4, o, 0);
            assertEquals(4f, o.getAtIndex(FLOAT, 0));
            assertTrue(Float.isNaN(o.getAtIndex(FLOAT, 1)), "NaN propagates through max");
            RowStats.max(1, 0, x, 0, 0, o, 0);
            assertEquals(Float.NEGATIVE_INFINITY, o.getAtIndex(FLOAT, 0));
            RowStats.sum(1, 0, x, 0, 0, o, 0);
            assertEquals(0f, o.getAtIndex(FLOAT, 0));
            RowStats.mean(1, 0, x, 0, 0, o, 0);
            assertTrue(Float.isNaN(o.getAtIndex(FLOAT, 0)));
        }
    }

    @Test
    void biasAddAndGradMatchTwin() {
        for (int cols : SIZES) {
            for (long off : OFFSETS) {
                int rows = 5, ld = cols + 2;
                try (Arena a = Arena.ofShared()) {
                    MemorySegment x = SoftmaxTest.matrix(a, off, rows, cols, ld, cols, -1, 1);
                    MemorySegment b = random(a, off, cols, cols + 1L, -1, 1);
                    MemorySegment yv = SoftmaxTest.out(a, 1, rows, ld), yr = SoftmaxTest.out(a, 1, rows, ld);
                    RowStats.biasAdd(rows, cols, x, off, ld, b, off, yv, 1, ld);
                    RowStatsScalar.biasAdd(rows, cols, x, off, ld, b, off, yr, 1, ld);
                    SoftmaxTest.assertMatrixGuards("biasAdd", yv, 1, rows, cols, ld);
                    for (int r = 0; r < rows; r++) {
                        assertArrayClose("biasAdd", read(yr, 1 + (long) r * ld, cols), read(yv, 1 + (long) r * ld,
                                cols), 0, 0);
                    }
                    for (boolean acc : new boolean[]{false, true}) {
                        MemorySegment gv = random(a, off, cols, 3, -1, 1), gr = random(a, off, cols, 3, -1, 1);
                        RowStats.biasGrad(rows, cols, x, off, ld, gv, off, acc);
                        RowStatsScalar.biasGrad(rows, cols, x, off, ld, gr, off, acc);
                        assertGuards("biasGrad", gv, off, cols);
                        assertArrayClose("biasGrad acc=" + acc, read(gr, off, cols), read(gv, off, cols), 1e-6, 1e-6);
                    }
                }
            }
        }
    }

    @Test
    void biasGradIndependentOfThreads() {
        int rows = 300, cols = 1000;
        try (Arena a = Arena.ofShared()) {
            MemorySegment dy = random(a, 0, rows * cols, 8, -1, 1), g1 = floats(a, cols), g3 = floats(a, cols);
            int saved = Parallel.threads();
            try {
                Parallel.setThreads(1);
                RowStats.biasGrad(rows, cols, dy, 0, cols, g1, 0, false);
                Parallel.setThreads(3);
                RowStats.biasGrad(rows, cols, dy, 0, cols, g3, 0, false);
            } finally {
                Parallel.setThreads(saved);
            }
            assertArrayClose("threads", read(g1, 0, cols), read(g3, 0, cols), 0, 0);
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, 10);
            var e = assertThrows(IndexOutOfBoundsException.class, () -> RowStats.sum(2, 5, x, 0, 5, x, 9));
            assertTrue(e.getMessage().startsWith("out"), e.getMessage());
            var e2 = assertThrows(IndexOutOfBoundsException.class,
                    () -> RowStats.biasAdd(2, 5, x, 0, 5, x, 6, x, 0, 5));
            assertTrue(e2.getMessage().startsWith("bias"), e2.getMessage());
        }
    }
}
