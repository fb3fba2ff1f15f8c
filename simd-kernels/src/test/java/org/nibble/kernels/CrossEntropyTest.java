package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.KernelTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

class CrossEntropyTest {
    static final int IGNORE = -100;

    static MemorySegment targets(Arena a, long off, int rows, int cols, long seed, boolean withIgnored) {
        MemorySegment t = a.allocate(4L * (off + rows + 1), 4);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < rows; i++) {
            t.setAtIndex(INT, off + i, withIgnored && i % 4 == 2 ? IGNORE : r.nextInt(cols));
        }
        return t;
    }

    @Test
    void matchesTwin() {
        for (int rows : new int[]{1, 5, 33}) {
            for (int cols : SIZES) {
                if (cols == 0) {
                    continue;
                }
                for (long off : OFFSETS) {
                    int ld = cols + 2;
                    try (Arena a = Arena.ofShared()) {
                        MemorySegment x = SoftmaxTest.matrix(a, off, rows, cols, ld, cols * 3L + rows, -8, 8);
                        MemorySegment t = targets(a, off, rows, cols, cols, true);
                        MemorySegment dv = SoftmaxTest.out(a, off, rows, ld), dr = SoftmaxTest.out(a, off, rows, ld);
                        float lv = CrossEntropy.lossAndGrad(rows, cols, x, off, ld, t, off, IGNORE, dv, off, ld);
                        float lr = CrossEntropyScalar.lossAndGrad(rows, cols, x, off, ld, t, off, IGNORE, dr, off, ld);
                        assertClose("loss " + rows + "x" + cols, lr, lv, 1e-7, 1e-6);
                        assertEquals(lv, CrossEntropy.loss(rows, cols, x, off, ld, t, off, IGNORE), "loss only");
                        SoftmaxTest.assertMatrixGuards("dlogits", dv, off, rows, cols, ld);
                        float[][] e = SoftmaxTest.rows(dr, off, rows, cols, ld), v = SoftmaxTest.rows(dv, off, rows,
                                cols, ld);
                        int count = 0;
                        for (int r = 0; r < rows; r++) {
                            count += t.getAtIndex(INT, off + r) == IGNORE ? 0 : 1;
                        }
                        for (int r = 0; r < rows; r++) {
                            // the target entry p - 1 cancels: float p carries ~1 ulp of 1 absolute error
                            assertArrayClose("dlogits " + rows + "x" + cols + " row " + r, e[r], v[r],
                                    1.5e-7 / Math.max(1, count), 1e-5);
                        }
                    }
                }
            }
        }
    }

    @Test
    void uniformLogitsGiveLogC() {
        for (int cols : new int[]{1, 2, 10, 1000, 50257}) {
            try (Arena a = Arena.ofShared()) {
                MemorySegment x = floats(a, 3L * cols);
                fill(x, 2.5f);
                MemorySegment t = targets(a, 0, 3, cols, 1, false);
                assertEquals(Math.log(cols), CrossEntropy.loss(3, cols, x, 0, cols, t, 0, IGNORE), 1e-5);
            }
        }
    }

    /** Gradient of the mean loss against central differences of a double loss written here. */
    @Test
    void gradientMatchesFiniteDifferences() {
        int rows = 4, cols = 19;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = random(a, 0, rows * cols, 3, -3, 3);
            MemorySegment t = targets(a, 0, rows, cols, 9, true);
            MemorySegment d = floats(a, rows * cols);
            CrossEntropy.lossAndGrad(rows, cols, x, 0, cols, t, 0, IGNORE, d, 0, cols);
            double[] xs = new double[rows * cols];
            for (int i = 0; i < xs.length; i++) {
                xs[i] = x.getAtIndex(FLOAT, i);
            }
            int[] ts = new int[rows];
            for (int r = 0; r < rows; r++) {
                ts[r] = t.getAtIndex(INT, r);
            }
            double h = 1e-5;
            for (int i = 0; i < xs.length; i++) {
                double[] xp = xs.clone(), xm = xs.clone();
                xp[i] += h;
                xm[i] -= h;
                double fd = (lossD(xp, ts, rows, cols) - lossD(xm, ts, rows, cols)) / (2 * h);
                assertClose("dlogits[" + i + "]", fd, d.getAtIndex(FLOAT, i), 1e-7, 1e-4);
            }
        }
    }

    static double lossD(double[] x, int[] t, int rows, int cols) {
        double total = 0;
        int count = 0;
        for (int r = 0; r < rows; r++) {
            if (t[r] == IGNORE) {
                continue;
            }
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += Math.exp(x[r * cols + j]);
            }
            total += Math.log(s) - x[r * cols + t[r]];
            count++;
        }
        return total / count;
    }

    @Test
    void ignoredRowsInPlaceAndExtremes() {
        try (Arena a = Arena.ofShared()) {
            int rows = 3, cols = 2;
            MemorySegment x = of(a, 1000f, 0f, 0f, 1000f, 5f, Float.NEGATIVE_INFINITY);
            MemorySegment t = a.allocate(12, 4);
            t.setAtIndex(INT, 0, 0);
            t.setAtIndex(INT, 1, 0);
            t.setAtIndex(INT, 2, IGNORE);
            MemorySegment d = floats(a, 6);
            float loss = CrossEntropy.lossAndGrad(rows, cols, x, 0, cols, t, 0, IGNORE, d, 0, cols);
            assertEquals(500f, loss, 1e-3f, "(0 + 1000) / 2 non-ignored rows");
            assertEquals(-0.5f, d.getAtIndex(FLOAT, 2), 1e-7f);
            assertEquals(0.5f, d.getAtIndex(FLOAT, 3), 1e-7f);
            assertEquals(0f, d.getAtIndex(FLOAT, 4), 0f, "ignored row has zero gradient");
            assertEquals(0f, d.getAtIndex(FLOAT, 5), 0f);
            // in place: dlogits aliases logits
            float inPlace = CrossEntropy.lossAndGrad(rows, cols, x, 0, cols, t, 0, IGNORE, x, 0, cols);
            assertEquals(loss, inPlace);
            for (int i = 0; i < 6; i++) {
                assertEquals(d.getAtIndex(FLOAT, i), x.getAtIndex(FLOAT, i), "in place [" + i + "]");
            }
            // all ignored: loss 0, gradient 0
            MemorySegment all = a.allocate(8, 4);
            all.setAtIndex(INT, 0, IGNORE);
            all.setAtIndex(INT, 1, IGNORE);
            MemorySegment y = of(a, 1f, 2f, 3f, 4f);
            assertEquals(0f, CrossEntropy.lossAndGrad(2, 2, y, 0, 2, all, 0, IGNORE, y, 0, 2));
            for (int i = 0; i < 4; i++) {
                assertEquals(0f, y.getAtIndex(FLOAT, i));
            }
            // NaN in a row propagates to the loss
            MemorySegment n = of(a, 1f, Float.NaN);
            assertTrue(Float.isNaN(CrossEntropy.loss(1, 2, n, 0, 2, t, 0, IGNORE)));
        }
    }

    @Test
    void lossIndependentOfThreadCount() {
        int rows = 512, cols = 300;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = random(a, 0, rows * cols, 4, -5, 5);
            MemorySegment t = targets(a, 0, rows, cols, 4, true);
            int saved = Parallel.threads();
            try {
                Parallel.setThreads(1);
                float l1 = CrossEntropy.loss(rows, cols, x, 0, cols, t, 0, IGNORE);
                Parallel.setThreads(3);
                float l3 = CrossEntropy.loss(rows, cols, x, 0, cols, t, 0, IGNORE);
                assertEquals(Float.floatToRawIntBits(l1), Float.floatToRawIntBits(l3));
            } finally {
                Parallel.setThreads(saved);
            }
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, 12);
            MemorySegment t = a.allocate(12, 4);
            t.setAtIndex(INT, 2, 4);
            var e = assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(3, 4, x, 0, 4, t, 0, IGNORE));
            assertTrue(e.getMessage().startsWith("targets[2]") && e.getMessage().contains("got 4"), e.getMessage());
            t.setAtIndex(INT, 2, -1);
            assertThrows(IllegalArgumentException.class, () -> CrossEntropy.loss(3, 4, x, 0, 4, t, 0, IGNORE));
            var e2 = assertThrows(IndexOutOfBoundsException.class,
                    () -> CrossEntropy.loss(4, 4, x, 0, 4, t, 0, IGNORE));
            assertTrue(e2.getMessage().startsWith("logits"), e2.getMessage());
        }
    }
}
