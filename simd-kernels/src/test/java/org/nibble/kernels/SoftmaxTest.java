package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.KernelTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class SoftmaxTest {
    static final int[] ROWS = {1, 3, 17};

    /** A rows x cols matrix at element offset off with leading dimension ld, uniform in [lo, hi), guards around. */
    static MemorySegment matrix(Arena a, long off, int rows, int cols, int ld, long seed, float lo, float hi) {
        MemorySegment s = random(a, off, rows == 0 ? 0 : (rows - 1) * ld + cols, seed, lo, hi);
        for (int r = 0; r < rows; r++) {
            for (int j = cols; j < ld && r < rows - 1; j++) {
                s.setAtIndex(FLOAT, off + (long) r * ld + j, GUARD);
            }
        }
        return s;
    }

    static MemorySegment out(Arena a, long off, int rows, int ld) {
        return guarded(a, off, (long) rows * ld);
    }

    static float[][] rows(MemorySegment s, long off, int rows, int cols, int ld) {
        float[][] m = new float[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = read(s, off + (long) r * ld, cols);
        }
        return m;
    }

    /** Every element outside the matrix view still holds the guard. */
    static void assertMatrixGuards(String what, MemorySegment s, long off, int rows, int cols, int ld) {
        long total = s.byteSize() / 4;
        for (long i = 0; i < total; i++) {
            long rel = i - off;
            boolean inside = ld > 0 && rel >= 0 && rel / ld < rows && rel % ld < cols;
            if (!inside && Float.floatToRawIntBits(s.getAtIndex(FLOAT, i)) != Float.floatToRawIntBits(GUARD)) {
                throw new AssertionError(what + ": element " + i + " outside the view was overwritten");
            }
        }
    }

    @Test
    void forwardMatchesTwin() {
        for (int rows : ROWS) {
            for (int cols : SIZES) {
                for (long off : OFFSETS) {
                    for (float scale : new float[]{1f, 0.125f}) {
                        int ld = cols + (int) off * 2;
                        try (Arena a = Arena.ofShared()) {
                            MemorySegment x = matrix(a, off, rows, cols, ld, rows * 1000L + cols, -6, 6);
                            MemorySegment yv = out(a, off + 1, rows, ld), yr = out(a, off + 1, rows, ld);
                            Softmax.forward(rows, cols, scale, x, off, ld, yv, off + 1, ld);
                            SoftmaxScalar.forward(rows, cols, scale, x, off, ld, yr, off + 1, ld);
                            assertMatrixGuards("softmax y", yv, off + 1, rows, cols, ld);
                            float[][] e = rows(yr, off + 1, rows, cols, ld), v = rows(yv, off + 1, rows, cols, ld);
                            for (int r = 0; r < rows; r++) {
                                assertArrayClose("softmax " + rows + "x" + cols + " row " + r, e[r], v[r], 1e-12, 1e-6);
                                double sum = 0;
                                for (float p : v[r]) {
                                    sum += p;
                                }
                                if (cols > 0) {
                                    assertEquals(1.0, sum, 1e-5, "row sums to 1");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void causalMatchesTwinAndMasksExactly() {
        int rows = 7;
        for (int cols : new int[]{1, 3, 7, 16, 17, 33, 65, 129}) {
            for (int offset : new int[]{-3, 0, cols - rows, cols + 5}) {
                try (Arena a = Arena.ofShared()) {
                    int ld = cols + 1;
                    MemorySegment x = matrix(a, 2, rows, cols, ld, cols * 7L + offset, -4, 4);
                    MemorySegment yv = out(a, 2, rows, ld), yr = out(a, 2, rows, ld);
                    Softmax.forwardCausal(rows, cols, 0.5f, offset, x, 2, ld, yv, 2, ld);
                    SoftmaxScalar.forwardCausal(rows, cols, 0.5f, offset, x, 2, ld, yr, 2, ld);
                    assertMatrixGuards("causal y", yv, 2, rows, cols, ld);
                    float[][] e = rows(yr, 2, rows, cols, ld), v = rows(yv, 2, rows, cols, ld);
                    for (int r = 0; r < rows; r++) {
                        assertArrayClose("causal row " + r, e[r], v[r], 1e-12, 1e-6);
                        double sum = 0;
                        for (int j = 0; j < cols; j++) {
                            if (j > r + offset) {
                                assertEquals(0f, v[r][j], 0f, "masked entry (" + r + ", " + j + ")");
                            }
                            sum += v[r][j];
                        }
                        assertEquals(r + offset >= 0 ? 1.0 : 0.0, sum, 1e-5, "row " + r + " offset " + offset);
                    }
                }
            }
        }
    }

    @Test
    void backwardMatchesTwin() {
        for (int rows : new int[]{1, 5}) {
            for (int cols : SIZES) {
                for (long off : OFFSETS) {
                    int ld = cols + 3;
                    try (Arena a = Arena.ofShared()) {
                        MemorySegment x = matrix(a, off, rows, cols, ld, cols, -3, 3);
                        MemorySegment y = out(a, off, rows, ld);
                        Softmax.forward(rows, cols, 0.7f, x, off, ld, y, off, ld);
                        MemorySegment dy = matrix(a, 1, rows, cols, ld, cols + 1L, -1, 1);
                        MemorySegment dv = out(a, off, rows, ld), dr = out(a, off, rows, ld);
                        Softmax.backward(rows, cols, 0.7f, y, off, ld, dy, 1, ld, dv, off, ld);
                        SoftmaxScalar.backward(rows, cols, 0.7f, y, off, ld, dy, 1, ld, dr, off, ld);
                        assertMatrixGuards("softmax dx", dv, off, rows, cols, ld);
                        float[][] e = rows(dr, off, rows, cols, ld), v = rows(dv, off, rows, cols, ld);
                        for (int r = 0; r < rows; r++) {
                            assertArrayClose("softmax dx " + cols, e[r], v[r], 1e-7, 1e-5);
                        }
                        // log-softmax
                        MemorySegment lv = out(a, off, rows, ld), lr = out(a, off, rows, ld);
                        Softmax.logForward(rows, cols, x, off, ld, lv, off, ld);
                        SoftmaxScalar.logForward(rows, cols, x, off, ld, lr, off, ld);
                        assertMatrixGuards("logsoftmax y", lv, off, rows, cols, ld);
                        e = rows(lr, off, rows, cols, ld);
                        v = rows(lv, off, rows, cols, ld);
                        for (int r = 0; r < rows; r++) {
                            assertArrayClose("logsoftmax " + cols, e[r], v[r], 2e-6, 1e-6);
                        }
                        Softmax.logBackward(rows, cols, lv, off, ld, dy, 1, ld, dv, off, ld);
                        SoftmaxScalar.logBackward(rows, cols, lv, off, ld, dy, 1, ld, dr, off, ld);
                        e = rows(dr, off, rows, cols, ld);
                        v = rows(dv, off, rows, cols, ld);
                        for (int r = 0; r < rows; r++) {
                            assertArrayClose("logsoftmax dx " + cols, e[r], v[r], 1e-6, 1e-5);
                        }
                    }
                }
            }
        }
    }

    /** Double softmax of scale * x, written here independently of the kernels. */
    static double[] softmaxD(double[] x, double scale) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            m = Math.max(m, scale * v);
        }
        double s = 0;
        double[] p = new double[x.length];
        for (int j = 0; j < x.length; j++) {
            p[j] = Math.exp(scale * x[j] - m);
            s += p[j];
        }
        for (int j = 0; j < x.length; j++) {
            p[j] /= s;
        }
        return p;
    }

    /** dL/dx of L = sum_j w_j f(x)_j by central differences, against the backward kernels with dy = w. */
    @Test
    void backwardMatchesFiniteDifferences() {
        int n = 37;
        float scale = 0.8f;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = random(a, 0, n, 5, -2, 2), w = random(a, 0, n, 6, -1, 1);
            MemorySegment y = floats(a, n), dx = floats(a, n), ly = floats(a, n), ldx = floats(a, n);
            Softmax.forward(1, n, scale, x, 0, n, y, 0, n);
            Softmax.backward(1, n, scale, y, 0, n, w, 0, n, dx, 0, n);
            Softmax.logForward(1, n, x, 0, n, ly, 0, n);
            Softmax.logBackward(1, n, ly, 0, n, w, 0, n, ldx, 0, n);
            double[] xs = new double[n], ws = new double[n];
            for (int j = 0; j < n; j++) {
                xs[j] = x.getAtIndex(FLOAT, j);
                ws[j] = w.getAtIndex(FLOAT, j);
            }
            double h = 1e-5;
            for (int k = 0; k < n; k++) {
                double[] xp = xs.clone(), xm = xs.clone();
                xp[k] += h;
                xm[k] -= h;
                double[] pp = softmaxD(xp, scale), pm = softmaxD(xm, scale);
                double[] lp = softmaxD(xp, 1), lm = softmaxD(xm, 1);
                double fd = 0, lfd = 0;
                for (int j = 0; j < n; j++) {
                    fd += ws[j] * (pp[j] - pm[j]) / (2 * h);
                    lfd += ws[j] * (Math.log(lp[j]) - Math.log(lm[j])) / (2 * h);
                }
                assertClose("softmax dx[" + k + "]", fd, dx.getAtIndex(FLOAT, k), 1e-6, 1e-4);
                assertClose("logsoftmax dx[" + k + "]", lfd, ldx.getAtIndex(FLOAT, k), 1e-6, 1e-4);
            }
        }
    }

    @Test
    void extremeInputs() {
        try (Arena a = Arena.ofShared()) {
            float inf = Float.POSITIVE_INFINITY;
            // large logits: shifted by the max, no overflow; -inf entries get exactly 0
            MemorySegment x = of(a, 1e4f, 1e4f - 1, -inf, 1e4f, -1e30f, 3e38f, 3e38f, -inf, -inf, -inf,
                    Float.NaN, 1f, 2f);
            MemorySegment y = floats(a, 13);
            Softmax.forward(1, 5, 1f, x, 0, 5, y, 0, 5);
            double e1 = Math.exp(-1);
            assertEquals(1 / (2 + e1), y.getAtIndex(FLOAT, 0), 1e-6);
            assertEquals(e1 / (2 + e1), y.getAtIndex(FLOAT, 1), 1e-6);
            assertEquals(0f, y.getAtIndex(FLOAT, 2), 0f);
            assertEquals(0f, y.getAtIndex(FLOAT, 4), 0f);
            Softmax.forward(1, 2, 1f, x, 5, 2, y, 0, 2);
            assertEquals(0.5f, y.getAtIndex(FLOAT, 0), 1e-7f, "two max floats");
            Softmax.forward(1, 3, 1f, x, 7, 3, y, 0, 3);
            assertTrue(Float.isNaN(y.getAtIndex(FLOAT, 0)), "all -inf row is NaN (0/0)");
            Softmax.forward(1, 3, 1f, x, 10, 3, y, 0, 3);
            for (int j = 0; j < 3; j++) {
                assertTrue(Float.isNaN(y.getAtIndex(FLOAT, j)), "NaN propagates to the row");
            }
            Softmax.logForward(1, 5, x, 0, 5, y, 0, 5);
            assertEquals(-Math.log(2 + e1), y.getAtIndex(FLOAT, 0), 1e-3);
            assertEquals(Float.NEGATIVE_INFINITY, y.getAtIndex(FLOAT, 2));
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, 20), y = floats(a, 20);
            var e = assertThrows(IllegalArgumentException.class, () -> Softmax.forward(2, 5, 1f, x, 0, 4, y, 0, 5));
            assertTrue(e.getMessage().contains("x") && e.getMessage().contains(">= 5"), e.getMessage());
            var e2 = assertThrows(IndexOutOfBoundsException.class,
                    () -> Softmax.backward(4, 5, 1f, y, 0, 5, x, 0, 5, y, 1, 5));
            assertTrue(e2.getMessage().startsWith("dx"), e2.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Softmax.logForward(-1, 5, x, 0, 5, y, 0, 5));
        }
    }
}
