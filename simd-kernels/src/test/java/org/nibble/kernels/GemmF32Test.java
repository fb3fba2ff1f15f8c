package org.nibble.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.FLOAT;

/**
 * {@link GemmF32} against its double-accumulating twin {@link GemmF32Scalar}: all transposes over odd shapes (tiles,
 * K blocks, M blocks and the GEMV paths), offsets and padded leading dimensions, alpha/beta cases, IEEE specials,
 * thread-count determinism and argument errors.
 */
class GemmF32Test {
    private static final float EPS = Math.ulp(1f);
    private final Arena arena = Arena.ofShared();
    private final int threadsBefore = Parallel.threads();

    @AfterEach
    void tearDown() {
        Parallel.setThreads(threadsBefore);
        arena.close();
    }

    /** A stored matrix of rows x cols with padding: offset off, leading dimension cols + pad. */
    private record Mat(MemorySegment seg, long off, int ld, int rows, int cols) {
        float get(int i, int j) {
            return seg.getAtIndex(FLOAT, off + (long) i * ld + j);
        }

        void set(int i, int j, float v) {
            seg.setAtIndex(FLOAT, off + (long) i * ld + j, v);
        }
    }

    private Mat mat(int rows, int cols, int off, int pad, SplittableRandom rng) {
        int ld = Math.max(1, cols + pad);
        long n = off + (long) Math.max(0, rows - 1) * ld + cols + 3;
        MemorySegment s = arena.allocate(4 * n, 4);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(FLOAT, i, (float) (rng.nextDouble() * 2 - 1));
        }
        return new Mat(s, off, ld, rows, cols);
    }

    private Mat copy(Mat m) {
        MemorySegment s = arena.allocate(m.seg.byteSize(), 4);
        s.copyFrom(m.seg);
        return new Mat(s, m.off, m.ld, m.rows, m.cols);
    }

    private Mat abs(Mat m) {
        Mat r = copy(m);
        for (long i = 0; i < r.seg.byteSize() / 4; i++) {
            r.seg.setAtIndex(FLOAT, i, Math.abs(r.seg.getAtIndex(FLOAT, i)));
        }
        return r;
    }

    static Stream<Arguments> shapes() {
        int[][] mnk = {
                {1, 1, 1}, {1, 5, 17}, {2, 33, 5}, {5, 1, 31}, {17, 31, 64}, {31, 17, 65}, {33, 65, 127},
                {64, 64, 64}, {65, 127, 33}, {127, 200, 17}, {200, 33, 200}, {1, 200, 127}, {200, 1, 65},
                {65, 2, 200}, {2, 127, 1}, {17, 64, 600}, {150, 40, 300}, {7, 4100, 3}, {1, 300, 4099},
                {300, 1, 1000}, {6, 16, 2}, {12, 48, 9}, {9, 40, 2100}, {150, 20, 1100}
        };
        List<Arguments> out = new ArrayList<>();
        for (int[] s : mnk) {
            for (int t = 0; t < 4; t++) {
                out.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "m={0} n={1} k={2} transA={3} transB={4}")
    @MethodSource("shapes")
    void matchesTwinOverShapesAndTransposes(int m, int n, int k, boolean ta, boolean tb) {
        checkAgainstTwin(m, n, k, ta, tb, 1.5f, 0.75f, 3, 2, m * 31 + n * 7 + k);
    }

    static Stream<Arguments> alphaBeta() {
        return Stream.of(Arguments.of(1f, 0f), Arguments.of(1f, 1f), Arguments.of(0f, 2f), Arguments.of(0f, 0f),
                Arguments.of(-0.5f, 0.25f), Arguments.of(2f, -1f));
    }

    @ParameterizedTest(name = "alpha={0} beta={1}")
    @MethodSource("alphaBeta")
    void alphaBetaCases(float alpha, float beta) {
        for (int t = 0; t < 4; t++) {
            checkAgainstTwin(37, 45, 29, (t & 1) != 0, (t & 2) != 0, alpha, beta, 1, 3, 99 + t);
            checkAgainstTwin(1, 45, 29, (t & 1) != 0, (t & 2) != 0, alpha, beta, 1, 3, 7 + t);
            checkAgainstTwin(37, 1, 29, (t & 1) != 0, (t & 2) != 0, alpha, beta, 1, 3, 11 + t);
        }
    }

    /**
     * Runs both implementations on the same inputs and checks every element within {@code 2 (k + 2) eps} times
     * {@code |alpha| sum_p |a||b| + |beta c|} (the standard forward error bound of a float dot product).
     * {@code beta == 0} cases start from NaN garbage in C: it must be overwritten.
     */
    private void checkAgainstTwin(int m, int n, int k, boolean ta, boolean tb, float alpha, float beta, int off,
                                  int pad, long seed) {
        var rng = new SplittableRandom(seed);
        Mat a = ta ? mat(k, m, off, pad, rng) : mat(m, k, off, pad, rng);
        Mat b = tb ? mat(n, k, off + 1, pad, rng) : mat(k, n, off + 1, pad, rng);
        Mat c = mat(m, n, off + 2, pad, rng);
        if (beta == 0) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c.set(i, j, Float.NaN);
                }
            }
        }
        Mat cRef = copy(c), cFast = copy(c);
        GemmF32Scalar.gemm(ta, tb, m, n, k, alpha, a.seg, a.off, a.ld, b.seg, b.off, b.ld, beta, cRef.seg, cRef.off,
                cRef.ld);
        GemmF32.gemm(ta, tb, m, n, k, alpha, a.seg, a.off, a.ld, b.seg, b.off, b.ld, beta, cFast.seg, cFast.off,
                cFast.ld);
        // magnitude for the error bound: |alpha| * |A| |B|
        Mat bound = mat(m, n, off + 2, pad, rng);
        Mat aa = abs(a), ab = abs(b);
        GemmF32Scalar.gemm(ta, tb, m, n, k, Math.abs(alpha), aa.seg, aa.off, aa.ld, ab.seg, ab.off, ab.ld, 0f,
                bound.seg, bound.off, bound.ld);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float ref = cRef.get(i, j), got = cFast.get(i, j);
                double scale = bound.get(i, j) + (beta == 0 ? 0 : Math.abs(beta * c.get(i, j)));
                double tol = 2.0 * (k + 2) * EPS * scale + Float.MIN_NORMAL;
                int fi = i, fj = j;
                assertTrue(Math.abs(ref - got) <= tol, () -> "C[" + fi + "][" + fj + "] m=" + m + " n=" + n
                        + " k=" + k + " ta=" + ta + " tb=" + tb + ": got " + got + ", twin " + ref + ", tol " + tol);
            }
        }
        // elements outside the m x n window (padding, before the offset) are untouched
        for (long e = 0; e < c.seg.byteSize() / 4; e++) {
            long rel = e - c.off;
            boolean inside = rel >= 0 && rel / c.ld < m && rel % c.ld < n;
            if (!inside) {
                assertEquals(Float.floatToRawIntBits(c.seg.getAtIndex(FLOAT, e)),
                        Float.floatToRawIntBits(cFast.seg.getAtIndex(FLOAT, e)), "element " + e + " outside C");
            }
        }
    }

    @Test
    void ieeeSpecialsPropagateLikeTheTwin() {
        int[][] mnk = {{9, 40, 20}, {1, 40, 20}, {40, 1, 20}};
        for (int[] s : mnk) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                var rng = new SplittableRandom(5 + t);
                Mat a = ta ? mat(k, m, 0, 1, rng) : mat(m, k, 0, 1, rng);
                Mat b = tb ? mat(n, k, 0, 1, rng) : mat(k, n, 0, 1, rng);
                // row 0 of op(A) holds a NaN; B's (3, n-1) is +Inf; op(A)(m-1, 3) is 0 so C(m-1, n-1) = 0 * Inf = NaN
                setOp(a, ta, 0, 5, Float.NaN);
                setOp(b, tb, 3, n - 1, Float.POSITIVE_INFINITY);
                setOp(a, ta, m - 1, 3, 0f);
                Mat cRef = mat(m, n, 0, 1, rng), cFast = copy(cRef);
                GemmF32Scalar.gemm(ta, tb, m, n, k, 1f, a.seg, a.off, a.ld, b.seg, b.off, b.ld, 0.5f, cRef.seg,
                        cRef.off, cRef.ld);
                GemmF32.gemm(ta, tb, m, n, k, 1f, a.seg, a.off, a.ld, b.seg, b.off, b.ld, 0.5f, cFast.seg,
                        cFast.off, cFast.ld);
                int specials = 0;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        float ref = cRef.get(i, j), got = cFast.get(i, j);
                        if (Float.isNaN(ref) || Float.isInfinite(ref)) {
                            specials++;
                            assertEquals(ref, got, "C[" + i + "][" + j + "] (" + m + "x" + n + " t=" + t + ")");
                        } else {
                            assertTrue(Float.isFinite(got), "C[" + i + "][" + j + "] should be finite: " + got);
                        }
                    }
                }
                assertTrue(Float.isNaN(cRef.get(0, 0)) && Float.isNaN(cRef.get(m - 1, n - 1)) || m == 1,
                        "test setup: NaN row and 0*Inf");
                assertTrue(specials >= n, "expected a NaN row at least, got " + specials + " specials");
            }
        }
    }

    private static void setOp(Mat x, boolean trans, int i, int j, float v) {
        if (trans) {
            x.set(j, i, v);
        } else {
            x.set(i, j, v);
        }
    }

    @Test
    void alphaZeroDoesNotReadAOrB() {
        var rng = new SplittableRandom(3);
        Mat a = mat(20, 30, 0, 0, rng), b = mat(30, 25, 0, 0, rng), c = mat(20, 25, 0, 0, rng);
        a.set(2, 2, Float.NaN);
        b.set(1, 1, Float.POSITIVE_INFINITY);
        Mat c0 = copy(c);
        GemmF32.gemm(false, false, 20, 25, 30, 0f, a.seg, 0, 30, b.seg, 0, 25, 2f, c.seg, 0, 25);
        for (int i = 0; i < 20; i++) {
            for (int j = 0; j < 25; j++) {
                assertEquals(2f * c0.get(i, j), c.get(i, j));
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalBits() {
        int[][] mnk = {{200, 300, 70}, {64, 768, 300}, {300, 30, 257}, {1, 4096, 300}, {300, 1, 500},
                {1, 1000, 64}, {20, 100, 1500}};
        for (int[] s : mnk) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                int m = s[0], n = s[1], k = s[2];
                var rng = new SplittableRandom(17);
                Mat a = ta ? mat(k, m, 1, 0, rng) : mat(m, k, 1, 0, rng);
                Mat b = tb ? mat(n, k, 1, 0, rng) : mat(k, n, 1, 0, rng);
                Mat c1 = mat(m, n, 1, 0, rng), c2 = copy(c1);
                Parallel.setThreads(1);
                GemmF32.gemm(ta, tb, m, n, k, 1.25f, a.seg, a.off, a.ld, b.seg, b.off, b.ld, 0.5f, c1.seg, c1.off,
                        c1.ld);
                Parallel.setThreads(2);
                GemmF32.gemm(ta, tb, m, n, k, 1.25f, a.seg, a.off, a.ld, b.seg, b.off, b.ld, 0.5f, c2.seg, c2.off,
                        c2.ld);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(Float.floatToRawIntBits(c1.get(i, j)), Float.floatToRawIntBits(c2.get(i, j)),
                                "C[" + i + "][" + j + "] " + m + "x" + n + "x" + k + " t=" + t);
                    }
                }
            }
        }
    }

    /** The public packed entry (for ShiftMM-style reuse): packA + packB + multiplyPacked equal a plain GEMM block. */
    @Test
    void packedEntryComputesABlock() {
        var rng = new SplittableRandom(23);
        int m = 40, n = 50, k = 70, row0 = 3, col0 = 5, p0 = 2, mc = 19, nc = 37, kc = 61;
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
            Mat a = ta ? mat(k, m, 2, 1, rng) : mat(m, k, 2, 1, rng);
            Mat b = tb ? mat(n, k, 2, 1, rng) : mat(k, n, 2, 1, rng);
            MemorySegment pa = arena.allocate(4 * (16 + GemmF32.packedASize(mc, kc)), 64);
            MemorySegment pb = arena.allocate(4 * (16 + GemmF32.packedBSize(kc, nc)), 64);
            GemmF32.packA(ta, a.seg, a.off, a.ld, row0, p0, mc, kc, pa, 16);
            GemmF32.packB(tb, b.seg, b.off, b.ld, p0, col0, kc, nc, pb, 16);
            Mat c = mat(mc, nc, 1, 2, rng), cRef = copy(c);
            GemmF32.multiplyPacked(mc, nc, kc, 0.5f, pa, 16, pb, 16, 1f, c.seg, c.off, c.ld);
            long aSub = ta ? a.off + (long) p0 * a.ld + row0 : a.off + (long) row0 * a.ld + p0;
            long bSub = tb ? b.off + (long) col0 * b.ld + p0 : b.off + (long) p0 * b.ld + col0;
            GemmF32Scalar.gemm(ta, tb, mc, nc, kc, 0.5f, a.seg, aSub, a.ld, b.seg, bSub, b.ld, 1f, cRef.seg,
                    cRef.off, cRef.ld);
            for (int i = 0; i < mc; i++) {
                for (int j = 0; j < nc; j++) {
                    assertEquals(cRef.get(i, j), c.get(i, j), 2 * (kc + 2) * EPS * (kc + 2), "C[" + i + "][" + j
                            + "] t=" + t);
                }
            }
            // padding rows / columns of the packed panels are zero
            assertEquals(0f, pa.getAtIndex(FLOAT, 16 + (long) (mc / GemmF32.MR) * GemmF32.MR * kc
                    + (long) (mc % GemmF32.MR) * kc));
            assertEquals(0f, pb.getAtIndex(FLOAT, 16 + (long) (nc / GemmF32.NR) * GemmF32.NR * kc + nc % GemmF32.NR));
        }
    }

    /** The heap-B form of multiplyPacked does the segment form's operations: bit-identical, every tail. */
    @Test
    void packedEntryWithHeapBMatchesSegmentB() {
        var rng = new SplittableRandom(29);
        for (int[] shape : new int[][]{{1, 1, 1}, {GemmF32.MR, GemmF32.NR, 17}, {13, 2 * GemmF32.NR + 3, 40},
                {2 * GemmF32.MR + 2, GemmF32.NR - 1, 7}, {5, 3 * GemmF32.NR, 64}}) {
            int mc = shape[0], nc = shape[1], kc = shape[2];
            Mat a = mat(mc, kc, 2, 1, rng), b = mat(kc, nc, 2, 1, rng);
            MemorySegment pa = arena.allocate(4 * GemmF32.packedASize(mc, kc), 64);
            MemorySegment pb = arena.allocate(4 * (3 + GemmF32.packedBSize(kc, nc)), 64);
            GemmF32.packA(false, a.seg, a.off, a.ld, 0, 0, mc, kc, pa, 0);
            GemmF32.packB(false, b.seg, b.off, b.ld, 0, 0, kc, nc, pb, 3);
            float[] heap = pb.toArray(FLOAT);
            for (float beta : new float[]{0f, 1f, 0.5f}) {
                Mat c = mat(mc, nc, 1, 2, rng), cHeap = copy(c);
                GemmF32.multiplyPacked(mc, nc, kc, 0.75f, pa, 0, pb, 3, beta, c.seg, c.off, c.ld);
                GemmF32.multiplyPacked(mc, nc, kc, 0.75f, pa, 0, heap, 3, beta, cHeap.seg, cHeap.off, cHeap.ld);
                for (int i = 0; i < mc; i++) {
                    for (int j = 0; j < nc; j++) {
                        assertEquals(c.get(i, j), cHeap.get(i, j), 0f,
                                "C[" + i + "][" + j + "] " + mc + "x" + nc + "x" + kc + " beta " + beta);
                    }
                }
            }
            var e = assertThrows(IndexOutOfBoundsException.class, () -> GemmF32.multiplyPacked(mc, nc, kc, 1f, pa,
                    0, heap, 4, 0f, arena.allocate(4L * mc * nc), 0, nc));
            assertTrue(e.getMessage().startsWith("pb (packed B)") && e.getMessage().contains(heap.length + ""),
                    e.getMessage());
        }
    }

    @Test
    void argumentErrorsHaveClearMessages() {
        MemorySegment s = arena.allocate(4 * 100, 4);
        var e1 = assertThrows(IllegalArgumentException.class,
                () -> GemmF32.gemm(false, false, 4, 5, 6, 1f, s, 0, 5, s, 0, 5, 0f, s, 0, 5));
        assertTrue(e1.getMessage().contains("leading dimension >= 6") && e1.getMessage().contains("got 5"),
                e1.getMessage());
        var e2 = assertThrows(IndexOutOfBoundsException.class,
                () -> GemmF32.gemm(false, true, 8, 8, 8, 1f, s, 0, 8, s, 0, 8, 0f, s, 50, 8));
        assertTrue(e2.getMessage().startsWith("c (m x n)") && e2.getMessage().contains("100 elements"),
                e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class,
                () -> GemmF32.gemm(false, false, -1, 5, 6, 1f, s, 0, 6, s, 0, 5, 0f, s, 0, 5));
        assertTrue(e3.getMessage().startsWith("m: expected a count >= 0, got -1"), e3.getMessage());
        var e4 = assertThrows(IllegalArgumentException.class,
                () -> GemmF32.gemm(true, false, 4, 5, 6, 1f, s, 0, 3, s, 0, 5, 0f, s, 0, 5));
        assertTrue(e4.getMessage().contains("transposed, stored k x m") && e4.getMessage().contains(">= 4"),
                e4.getMessage());
        var e5 = assertThrows(IndexOutOfBoundsException.class,
                () -> GemmF32.gemm(false, false, 4, 5, 30, 1f, s, 0, 30, s, 0, 5, 0f, s, 0, 5));
        assertTrue(e5.getMessage().startsWith("a (stored m x k)"), e5.getMessage());
        assertThrows(NullPointerException.class,
                () -> GemmF32.gemm(false, false, 1, 1, 1, 1f, null, 0, 1, s, 0, 1, 0f, s, 0, 1));
        // empty shapes are fine and touch nothing
        GemmF32.gemm(false, false, 0, 5, 6, 1f, s, 0, 6, s, 0, 5, 0f, s, 0, 5);
        GemmF32.gemm(false, false, 3, 0, 6, 1f, s, 0, 6, s, 0, 0, 0f, s, 0, 0);
    }

    @Test
    void kZeroScalesC() {
        var rng = new SplittableRandom(8);
        Mat c = mat(7, 9, 0, 0, rng), c0 = copy(c);
        MemorySegment empty = arena.allocate(4, 4);
        GemmF32.gemm(false, false, 7, 9, 0, 1f, empty, 0, 0, empty, 0, 9, 3f, c.seg, 0, 9);
        for (int i = 0; i < 7; i++) {
            for (int j = 0; j < 9; j++) {
                assertEquals(3f * c0.get(i, j), c.get(i, j));
            }
        }
        GemmF32.gemm(false, false, 7, 9, 0, 1f, empty, 0, 0, empty, 0, 9, 0f, c.seg, 0, 9);
        assertEquals(0f, c.get(6, 8));
    }
    /**
     * Once C2 has compiled it, the packed multiply allocates nothing: a helper taking vector arguments that C2 does not
     * inline (its NodeCountInliningCutoff) boxes them on every call, which cost ~700 bytes and ~100 ns per tile. Calls
     * repeat until the per-call allocation is zero (compilation runs in the background) or 30 s pass.
     */
    @Test
    void compiledPackedMultiplyAllocatesNothing() {
        int mc = 2 * GemmF32.MR, nc = 2 * GemmF32.NR, kc = 64;
        SplittableRandom rng = new SplittableRandom(7);
        MemorySegment pa = arena.allocate(4 * GemmF32.packedASize(mc, kc), 64);
        MemorySegment pb = arena.allocate(4 * GemmF32.packedBSize(kc, nc), 64);
        MemorySegment c = arena.allocate(4L * mc * nc, 64);
        for (long i = 0; i < pa.byteSize() / 4; i++) {
            pa.setAtIndex(FLOAT, i, (float) rng.nextDouble());
        }
        for (long i = 0; i < pb.byteSize() / 4; i++) {
            pb.setAtIndex(FLOAT, i, (float) rng.nextDouble());
        }
        var threadBean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        int calls = 2000;
        double perCall = Double.NaN;
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            long before = threadBean.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < calls; i++) {
                GemmF32.multiplyPacked(mc, nc, kc, 1f, pa, 0, pb, 0, 0.5f, c, 0, nc);
            }
            perCall = (threadBean.getCurrentThreadAllocatedBytes() - before) / (double) calls;
            if (perCall == 0) {
                break;
            }
        }
        assertEquals(0.0, perCall, "bytes allocated per multiplyPacked call (4 tiles) after 30 s of calls");
    }
    /** packA writes the documented layout exactly: element (i, p) at r*MR*kc + i*kc + p, missing rows zero. */
    @Test
    void packAWritesTheDocumentedLayout() {
        SplittableRandom rng = new SplittableRandom(5);
        int mr = GemmF32.MR;
        for (boolean ta : new boolean[]{false, true}) {
            for (int[] shape : new int[][]{{1, 1}, {5, 3}, {6, 17}, {7, 384}, {12, 384}, {13, 100}, {150, 33}}) {
                int mc = shape[0], kc = shape[1], row0 = 2, col0 = 3;
                Mat a = ta ? mat(col0 + kc, row0 + mc, 1, 4, rng) : mat(row0 + mc, col0 + kc, 1, 5, rng);
                long size = GemmF32.packedASize(mc, kc);
                MemorySegment packed = arena.allocate(4 * (size + 8), 4);
                packed.fill((byte) 0x7f);
                GemmF32.packA(ta, a.seg, a.off, a.ld, row0, col0, mc, kc, packed, 3);
                for (int r = 0; r * mr < mc; r++) {
                    for (int p = 0; p < kc; p++) {
                        for (int i = 0; i < mr; i++) {
                            int row = r * mr + i;
                            float want = row >= mc ? 0f : ta ? a.get(col0 + p, row0 + row) : a.get(row0 + row, col0 + p);
                            long at = 3 + (long) r * mr * kc + (long) i * kc + p;
                            assertEquals(want, packed.getAtIndex(FLOAT, at),
                                    "transA=" + ta + " " + mc + "x" + kc + " row " + row + " p " + p);
                        }
                    }
                }
                assertEquals(0x7f7f7f7f, packed.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 3 + size),
                        "element after the packed block untouched");
            }
        }
    }
    /** packAllA equals packA of all rows per K block at the documented offsets, on one thread and on all of them. */
    @Test
    void packAllAIsPackAPerKBlock() {
        SplittableRandom rng = new SplittableRandom(9);
        for (boolean ta : new boolean[]{false, true}) {
            for (int[] shape : new int[][]{{7, 100}, {150, 1500}, {300, 257}, {1, 2100}}) {
                int m = shape[0], k = shape[1], mp = (m + GemmF32.MR - 1) / GemmF32.MR * GemmF32.MR;
                Mat a = ta ? mat(k, m, 2, 3, rng) : mat(m, k, 2, 3, rng);
                long size = GemmF32.packedASize(m, k);
                MemorySegment expected = arena.allocate(4 * (size + 5), 4);
                int blocks = (k + GemmF32.KC - 1) / GemmF32.KC, kc = (k + blocks - 1) / blocks;
                for (int pc = 0; pc < k; pc += kc) {
                    GemmF32.packA(ta, a.seg, a.off, a.ld, 0, pc, m, Math.min(kc, k - pc), expected, 5 + (long) mp * pc);
                }
                for (int threads : new int[]{1, 2}) {
                    Parallel.setThreads(threads);
                    MemorySegment actual = arena.allocate(4 * (size + 5), 4);
                    GemmF32.packAllA(ta, m, k, a.seg, a.off, a.ld, actual, 5);
                    assertEquals(-1, expected.mismatch(actual), "transA=" + ta + " " + m + "x" + k + " on " + threads);
                }
            }
        }
    }
}
