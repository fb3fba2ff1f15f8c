package org.nibble.models.bert;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The encoder's kernel choices ({@link Kernels}, {@link PackedWeights}) against the plain loops of {@link BertMath}. */
class KernelsTest {
    static MemorySegment random(Arena a, int n, SplittableRandom rng) {
        MemorySegment s = a.allocate(4L * n, 64);
        for (int i = 0; i < n; i++) {
            s.setAtIndex(BertMath.F, i, (float) rng.nextGaussian());
        }
        return s;
    }

    static void close(MemorySegment expected, MemorySegment actual, int n, double tol, String what) {
        for (int i = 0; i < n; i++) {
            assertEquals(expected.getAtIndex(BertMath.F, i), actual.getAtIndex(BertMath.F, i), tol, what + " [" + i + "]");
        }
    }

    @Test
    void erfMatchesTabulatedValues() {
        // Abramowitz & Stegun table 7.1 / known closed values
        assertEquals(0.0, BertMath.erf(0), 0);
        assertEquals(0.5204998778130465, BertMath.erf(0.5), 1e-13);
        assertEquals(0.8427007929497149, BertMath.erf(1), 1e-13);
        assertEquals(0.9953222650189527, BertMath.erf(2), 1e-13);
        assertEquals(0.9995930479825550, BertMath.erf(2.5), 1e-13);
        assertEquals(0.9999779095030014, BertMath.erf(3), 1e-13);
        assertEquals(-0.9999999845827421, BertMath.erf(-4), 1e-13);
        assertEquals(1.0, BertMath.erf(7), 1e-15);
    }

    @Test
    void fastGeluMatchesItsTwinAndTheDoubleErfReference() {
        SplittableRandom rng = new SplittableRandom(5);
        try (Arena a = Arena.ofShared()) {
            for (int n : new int[]{0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1024, 4099,
                    70_001}) {
                for (long off : new long[]{0, 3}) {
                    MemorySegment x = a.allocate(4L * (n + off + 1), 64);
                    for (int i = 0; i < n; i++) {
                        x.setAtIndex(BertMath.F, off + i, (float) (4 * rng.nextGaussian()));
                    }
                    x.setAtIndex(BertMath.F, off + n, 123f); // guard
                    MemorySegment v = a.allocate(x.byteSize(), 64), s = a.allocate(x.byteSize(), 64);
                    MemorySegment r = a.allocate(x.byteSize(), 64);
                    MemorySegment.copy(x, 0, v, 0, x.byteSize());
                    MemorySegment.copy(x, 0, s, 0, x.byteSize());
                    MemorySegment.copy(x, 0, r, 0, x.byteSize());
                    FastGelu.forward(v, off, n);
                    FastGelu.forwardScalar(s, off, n);
                    BertMath.gelu(r, off, n);
                    for (int i = 0; i < n; i++) {
                        float xv = x.getAtIndex(BertMath.F, off + i), vv = v.getAtIndex(BertMath.F, off + i);
                        assertEquals(s.getAtIndex(BertMath.F, off + i), vv, 1e-6f * Math.max(1, Math.abs(xv)),
                                "twin, n=" + n + " [" + i + "] x=" + xv);
                        assertEquals(r.getAtIndex(BertMath.F, off + i), vv, 3e-7f * Math.max(1, Math.abs(xv)),
                                "reference, n=" + n + " [" + i + "] x=" + xv);
                    }
                    assertEquals(123f, v.getAtIndex(BertMath.F, off + n), "element past n untouched");
                }
            }
            MemorySegment e = a.allocate(16);
            e.setAtIndex(BertMath.F, 0, Float.NEGATIVE_INFINITY);
            e.setAtIndex(BertMath.F, 1, Float.POSITIVE_INFINITY);
            e.setAtIndex(BertMath.F, 2, Float.NaN);
            FastGelu.forward(e, 0, 3);
            assertEquals(0f, Math.abs(e.getAtIndex(BertMath.F, 0)), "GELU(-inf)");
            assertEquals(Float.POSITIVE_INFINITY, e.getAtIndex(BertMath.F, 1), "GELU(+inf)");
            assertEquals(Float.NaN, e.getAtIndex(BertMath.F, 2), "GELU(NaN)");
        }
    }

    @Test
    void fastLayerNormMatchesTwinAndReferenceOverTails() {
        SplittableRandom rng = new SplittableRandom(11);
        try (Arena a = Arena.ofShared()) {
            for (int cols : new int[]{1, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 384, 385, 1000}) {
                for (int rows : new int[]{0, 1, 3, 130}) {
                    for (boolean withRes : new boolean[]{false, true}) {
                        int n = rows * cols;
                        MemorySegment x = random(a, n, rng), res = withRes ? random(a, n, rng) : null;
                        MemorySegment g = random(a, cols, rng), b = random(a, cols, rng);
                        MemorySegment ref = a.allocate(4L * n + 4), twin = a.allocate(4L * n + 4);
                        MemorySegment.copy(x, 0, ref, 0, 4L * n); // the reference works in place
                        BertMath.addLayerNorm(ref, res, ref, rows, cols, g, b, 1e-12f);
                        FastLayerNorm.forwardScalar(x, res, twin, rows, cols, g, b, 1e-12f);
                        // the vector kernel in place over the residual, as the encoder calls it
                        MemorySegment out = a.allocate(4L * n + 4);
                        if (withRes) {
                            MemorySegment.copy(res, 0, out, 0, 4L * n);
                        }
                        out.setAtIndex(BertMath.F, n, 42f);
                        FastLayerNorm.forward(x, withRes ? out : null, out, rows, cols, g, b, 1e-12f);
                        if (!withRes) {
                            // and in place over x
                            MemorySegment inPlace = a.allocate(4L * n + 4);
                            MemorySegment.copy(x, 0, inPlace, 0, 4L * n);
                            FastLayerNorm.forward(inPlace, null, inPlace, rows, cols, g, b, 1e-12f);
                            close(out, inPlace, n, 0, "in place over x, cols " + cols);
                        }
                        close(twin, out, n, 2e-5, "twin, " + rows + "x" + cols);
                        close(ref, out, n, 2e-5, "reference, " + rows + "x" + cols);
                        assertEquals(42f, out.getAtIndex(BertMath.F, n), "element past the rows untouched");
                    }
                }
            }
        }
    }

    @Test
    void packedWeightsGemmAndRowOpsMatchPlainLoops() {
        SplittableRandom rng = new SplittableRandom(3);
        try (Arena a = Arena.ofShared(); org.nibble.engine.Scope scope = org.nibble.engine.Scope.open("k")) {
            for (int[] mkn : new int[][]{{1, 384, 1152}, {12, 384, 384}, {7, 1536, 384}, {33, 100, 70}, {150, 30, 17},
                    {128, 384, 1152}, {2, 100, 80}, {8, 1536, 48}, {146, 40, 33}, {14, 20, 16},
                    // 1-row tails: 4-panel groups, then a pair and a single (112), or a partial last panel (70)
                    {13, 100, 70}, {7, 64, 112}}) {
                int m = mkn[0], k = mkn[1], n = mkn[2];
                MemorySegment x = random(a, m * k, rng), w = random(a, k * n, rng), bias = random(a, n, rng);
                MemorySegment ref = a.allocate(4L * m * n, 64), out = a.allocate(4L * m * n, 64);
                BertMath.gemm(false, m, n, k, x, 0, k, w, 0, n, ref, 0, n, false);
                BertMath.addBias(ref, 0, m, n, n, bias);
                new F32Projection(k, n, w, bias, scope).forward(x, m, out);
                close(ref, out, m * n, 1e-4 * Math.sqrt(k), "projection " + m + "x" + k + "x" + n);
            }
            int rows = 9, cols = 384;
            MemorySegment x = random(a, rows * cols, rng), res = random(a, rows * cols, rng);
            MemorySegment g = random(a, cols, rng), b = random(a, cols, rng);
            MemorySegment ref = a.allocate(4L * rows * cols), out = a.allocate(4L * rows * cols);
            MemorySegment x2 = a.allocate(4L * rows * cols);
            MemorySegment.copy(x, 0, x2, 0, x.byteSize());
            BertMath.addLayerNorm(x, res, ref, rows, cols, g, b, 1e-12f);
            Kernels.addLayerNorm(x2, res, out, rows, cols, g, b, 1e-12f, a.allocate(4L * rows));
            close(ref, out, rows * cols, 1e-4, "add + LayerNorm");
            MemorySegment y = random(a, rows * cols, rng), y2 = a.allocate(4L * rows * cols);
            MemorySegment.copy(y, 0, y2, 0, y.byteSize());
            BertMath.gelu(y, 0, rows * cols);
            Kernels.gelu(y2, rows * cols);
            close(y, y2, rows * cols, 1e-6, "GELU");
            MemorySegment s = random(a, rows * cols, rng), s2 = a.allocate(4L * rows * cols);
            MemorySegment.copy(s, 0, s2, 0, s.byteSize());
            BertMath.scale(s, 0, rows, cols, cols, 0.25f);
            BertMath.softmax(s, 0, rows, cols, cols);
            Kernels.softmax(s2, 0, rows, cols, cols, 0.25f);
            close(s, s2, rows * cols, 1e-6, "softmax");
        }
    }
    /**
     * The 1- and 2-row tail kernels compute a row exactly as the 6-row tiles do: rows 12 (and 13) of a 13- (14-) row
     * product equal the same rows of an 18-row product, where they sit in a full tile.
     */
    @Test
    void tailRowsAreBitIdenticalToFullTiles() {
        SplittableRandom rng = new SplittableRandom(17);
        try (Arena a = Arena.ofShared(); org.nibble.engine.Scope scope = org.nibble.engine.Scope.open("k")) {
            for (int[] kn : new int[][]{{384, 1152}, {1536, 112}, {100, 70}}) {
                int k = kn[0], n = kn[1];
                MemorySegment x = random(a, 18 * k, rng), w = random(a, k * n, rng), bias = random(a, n, rng);
                F32Projection p = new F32Projection(k, n, w, bias, scope);
                MemorySegment all = a.allocate(4L * 18 * n, 64);
                p.forward(x, 18, all);
                for (int m : new int[]{13, 14}) {
                    MemorySegment part = a.allocate(4L * m * n, 64);
                    p.forward(x, m, part);
                    long from = 4L * 12 * n, to = 4L * m * n;
                    assertEquals(-1, MemorySegment.mismatch(all, from, to, part, from, to),
                            m + " rows, " + k + "x" + n + ": tail rows differ from full-tile rows");
                }
            }
        }
    }

    /**
     * The projection's result does not depend on the thread count: row-block split, column split with A packed once
     * (several row blocks, 1- and 2-row tails) and one thread give bit-identical outputs.
     */
    @Test
    void packedProjectionIsBitIdenticalForAnyThreadCount() {
        SplittableRandom rng = new SplittableRandom(11);
        int before = org.nibble.kernels.Parallel.threads();
        try (Arena a = Arena.ofShared(); org.nibble.engine.Scope scope = org.nibble.engine.Scope.open("k")) {
            for (int[] mkn : new int[][]{{1, 384, 1152}, {13, 1536, 384}, {128, 384, 1536}, {296, 1100, 200},
                    {600, 64, 40}}) {
                int m = mkn[0], k = mkn[1], n = mkn[2];
                MemorySegment x = random(a, m * k, rng), w = random(a, k * n, rng), bias = random(a, n, rng);
                F32Projection p = new F32Projection(k, n, w, bias, scope);
                MemorySegment one = a.allocate(4L * m * n, 64);
                org.nibble.kernels.Parallel.setThreads(1);
                p.forward(x, m, one);
                for (int threads : new int[]{2, 3, 4}) {
                    org.nibble.kernels.Parallel.setThreads(threads);
                    MemorySegment out = a.allocate(4L * m * n, 64);
                    p.forward(x, m, out);
                    assertEquals(-1, one.mismatch(out), m + "x" + k + "x" + n + " on " + threads + " threads");
                }
            }
        } finally {
            org.nibble.kernels.Parallel.setThreads(before);
        }
    }
}
