package org.nibble.bench.jmh;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * The FP16 GEMM baseline of ShiftMMBench: what a Java FP16 GEMM is without FP16 arithmetic in the Vector API. F16
 * operands are widened to F32 while packing into {@link GemmF32}'s panels (scalar {@link Float#float16ToFloat},
 * an intrinsic), then its FP32 micro-kernel runs; K is cut into {@link GemmF32#KC} blocks accumulated in C.
 */
final class F16Gemm {
    private F16Gemm() {
    }

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;

    private static final ThreadLocal<MemorySegment[]> SCRATCH = ThreadLocal.withInitial(() -> new MemorySegment[2]);

    private static MemorySegment scratch(int slot, long floats) {
        MemorySegment[] s = SCRATCH.get();
        if (s[slot] == null || s[slot].byteSize() < floats * 4) {
            s[slot] = Arena.ofAuto().allocate(Math.max(64, floats * 4), 64);
        }
        return s[slot];
    }

    /** {@code C = op(A) op(B)} with F16 A and B (element offsets 0, leading dimensions = stored row lengths). */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, MemorySegment b,
                     MemorySegment c) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        int mr = GemmF32.MR, nr = GemmF32.NR;
        int blocks = (k + GemmF32.KC - 1) / GemmF32.KC;
        int[] k0 = new int[blocks + 1];
        long[] pa0 = new long[blocks + 1], pb0 = new long[blocks + 1];
        for (int q = 0; q < blocks; q++) {
            k0[q + 1] = (int) ((long) k * (q + 1) / blocks);
            pa0[q + 1] = pa0[q] + GemmF32.packedASize(m, k0[q + 1] - k0[q]);
            pb0[q + 1] = pb0[q] + GemmF32.packedBSize(k0[q + 1] - k0[q], n);
        }
        MemorySegment pa = scratch(0, pa0[blocks]), pb = scratch(1, pb0[blocks]);
        int mp = (m + mr - 1) / mr, np = (n + nr - 1) / nr;
        Parallel.forRange(0, mp, (lo, hi) -> {
            for (int q = 0; q < blocks; q++) {
                int kc = k0[q + 1] - k0[q];
                for (int i = lo * mr; i < hi * mr; i++) {
                    long d = pa0[q] + (long) i * kc;
                    for (int p = 0; p < kc; p++) {
                        int pp = k0[q] + p;
                        float v = i >= m ? 0f : Float.float16ToFloat(a.getAtIndex(HALF,
                                transA ? (long) pp * lda + i : (long) i * lda + pp));
                        pa.setAtIndex(FLOAT, d + p, v);
                    }
                }
            }
        });
        Parallel.forRange(0, np, (lo, hi) -> {
            for (int q = 0; q < blocks; q++) {
                int kc = k0[q + 1] - k0[q];
                for (int jp = lo; jp < hi; jp++) {
                    long d = pb0[q] + (long) jp * nr * kc;
                    for (int p = 0; p < kc; p++) {
                        int pp = k0[q] + p;
                        for (int j = 0; j < nr; j++) {
                            int col = jp * nr + j;
                            float v = col >= n ? 0f : Float.float16ToFloat(b.getAtIndex(HALF,
                                    transB ? (long) col * ldb + pp : (long) pp * ldb + col));
                            pb.setAtIndex(FLOAT, d + (long) p * nr + j, v);
                        }
                    }
                }
            }
        });
        Parallel.forRange(0, np, (lo, hi) -> {
            int j0 = lo * nr, nc = Math.min(n, hi * nr) - j0;
            for (int i0 = 0; i0 < m; i0 += GemmF32.MC) {
                int mc = Math.min(GemmF32.MC, m - i0);
                for (int q = 0; q < blocks; q++) {
                    int kc = k0[q + 1] - k0[q];
                    GemmF32.multiplyPacked(mc, nc, kc, 1f, pa, pa0[q] + (long) i0 * kc, pb, pb0[q] + (long) j0 * kc,
                            q == 0 ? 0f : 1f, c, (long) i0 * n + j0, n);
                }
            }
        });
    }
}
