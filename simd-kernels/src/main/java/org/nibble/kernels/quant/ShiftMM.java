package org.nibble.kernels.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * ShiftMM (papers.md 1.4): integer GEMM on int8 containers of pre-shifted ShiftQuant codes, exact int32 accumulation
 * and one epilogue scale, {@code C = (float) (acc * alpha)} (alpha a double), in the three layouts of a Linear layer's training
 * step. The result equals {@link ShiftMMScalar} bit for bit.
 *
 * <h2>Why the FP32 FMA unit does the integer math</h2>
 * The Vector API has no integer dot-product instruction (no VNNI / {@code vpmaddwd}), so an int8 MAC costs a widen,
 * a 16-bit multiply, another widen and a 32-bit add (limits.md 5: best Java int8 dot = 0.39x the Java FP32
 * micro-kernel). We measured three candidates ({@code ShiftMMBench}, candidates rows, see the class comment there):
 * (1) FP32 FMA as an exact integer multiplier, (2) 16-bit products with 16-bit accumulators widened every 2 products,
 * (3) Lucene-style byte -> short -> int widening per product. (1) wins: one FMA does 8 (AVX2) or 16 (AVX-512) exact
 * integer MACs, against 4-5 integer instructions for the same work in (2)/(3), and the conversion cost moves out of the
 * inner loop into packing (int8 -> float while packing panels, amortized over the other operand's extent).
 *
 * <h2>Exactness bound (candidate 1)</h2>
 * Codes satisfy |a|, |b| <= 127, so every product is an integer with |a*b| <= 16129 < 2^24, exact in float. A float
 * sum of integers is exact while every partial sum stays below 2^24 in magnitude; any partial sum (whatever the
 * association, including the lane-wise partial sums and their reduction) is bounded by the sum of |products| of the
 * chunk, at most {@code K_chunk * 16129}. {@code K_chunk <= 1040} gives {@code 1040 * 16129 = 16 774 160 < 2^24 =
 * 16 777 216}. The kernels therefore accumulate in float over chunks of {@link #CHUNK} = 1024 contraction indices,
 * convert each chunk's (exact, integral) float sums to int and add them in int32. int32 itself is safe for
 * K <= 133 000 (papers.md 1.4). The epilogue then rounds once: {@code (float) (acc * alpha)} in double.
 *
 * <h2>Layouts</h2>
 * {@code transA}: A is stored {@code k x m} (else {@code m x k}); {@code transB}: B is stored {@code n x k} (else
 * {@code k x n}); all row-major with the given leading dimensions, int8. {@code A . B^T} (the forward layout, both
 * operands contiguous along K) runs a dot-product register tile over float rows; the other layouts unpack int8
 * into {@link GemmF32}'s packed float panels and run its register-blocked {@code MR x 2L} micro-kernel
 * ({@link GemmF32#multiplyPacked}), one call per K chunk.
 */
public final class ShiftMM {
    private ShiftMM() {
    }

    /** The three GEMMs of a Linear layer {@code Y = X W^T} (X: N x Cin, W: Cout x Cin), papers.md 1.5. */
    public enum Layout {
        /** {@code Y = X W^T}: A = X (m=N x k=Cin), B = W stored (n=Cout x k=Cin). */
        FORWARD(false, true),
        /** {@code dX = dY W}: A = dY (m=N x k=Cout), B = W stored (k=Cout x n=Cin). */
        INPUT_GRAD(false, false),
        /** {@code dW = dY^T X}: A = dY stored (k=N x m=Cout), B = X (k=N x n=Cin). */
        WEIGHT_GRAD(true, false);

        final boolean transA, transB;

        Layout(boolean transA, boolean transB) {
            this.transA = transA;
            this.transB = transB;
        }

        public boolean transA() {
            return transA;
        }

        public boolean transB() {
            return transB;
        }
    }

    /** Contraction indices accumulated in float before the int32 add; proven exact up to 1040 (class comment). */
    public static final int CHUNK = 1024;

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    private static final VectorSpecies<Byte> SB = ByteVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(Math.max(64, 8 * L)));
    private static final boolean SB_FULL = SB.length() == L;
    /** GemmF32's register tile: MR rows x NR = 2 vectors of columns (6 x 16 on AVX2: 12 accumulators). */
    static final int MR = GemmF32.MR, NR = GemmF32.NR;
    /** Dot-product register tile (forward layout): DM rows of A x DN rows of B, 12 accumulators. */
    static final int DM = 4, DN = 3;

    /**
     * The epilogue scale of papers.md 1.4: {@code sA0 * sB0 * 2^-(GA-1) * 2^-(GB-1)}, exact in double (the product of
     * two floats has at most 48 significant bits). With it the epilogue {@code (float) (acc * alpha)} rounds once
     * (plus a double rounding of at most 2^-29 relative), so the GEMM is within 1 ulp of dequantize-then-fp64-GEMM
     * (papers.md 1.4 test (a)); a float alpha would add a second half-ulp rounding.
     */
    public static double epilogueScale(float sA0, int groupsA, float sB0, int groupsB) {
        return Math.scalb((double) sA0 * sB0, -(groupsA - 1) - (groupsB - 1));
    }

    /** {@code C = (float) ((op(A) . op(B)) * alpha)} in one of the Linear layouts (see {@link Layout}). */
    public static void gemm(Layout layout, int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                            MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        gemm(layout.transA, layout.transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }

    /**
     * {@code C[i][j] = (float) ((sum_p A(i,p) * B(p,j)) * alpha)}, int8 operands, exact int32 sum, F32 output
     * {@code m x n} with leading dimension {@code ldc}.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a,
                            long aOff, int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff,
                            int ldc) {
        check(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        run(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, false);
    }

    /** The exact int32 accumulator {@code C[i][j] = sum_p A(i,p) * B(p,j)} (I32 output, for tests and callers). */
    public static void gemmInt(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, long aOff,
                               int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        check(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, 4);
        run(transA, transB, m, n, k, 1, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, true);
    }

    static void check(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                      MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc, int cBytes) {
        Checks.checkCount("m", m);
        Checks.checkCount("n", n);
        Checks.checkCount("k", k);
        if (k > 133_000) {
            throw new IllegalArgumentException("k: expected <= 133000 (int32 accumulator bound for int8 codes), got "
                    + k);
        }
        Checks.checkMatrix("a", a, aOff, transA ? k : m, transA ? m : k, lda, 1);
        Checks.checkMatrix("b", b, bOff, transB ? n : k, transB ? k : n, ldb, 1);
        Checks.checkMatrix("c", c, cOff, m, n, ldc, cBytes);
    }

    private static void run(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a,
                            long aOff, int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff,
                            int ldc, boolean intOut) {
        if (m == 0 || n == 0) {
            return;
        }
        if (!transA && transB) {
            runDot(m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, intOut);
        } else {
            runOuter(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, intOut);
        }
    }

    // ------------------------------------------------------------------ scratch

    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][0]);

    /** A grow-only float buffer of the calling thread (slot 0 or 1); contents are garbage. */
    private static float[] scratch(int slot, long size) {
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("ShiftMM: packed operand of " + size + " floats exceeds a Java array");
        }
        float[][] s = SCRATCH.get();
        if (s[slot].length < size) {
            s[slot] = new float[(int) size];
        }
        return s[slot];
    }

    // ------------------------------------------------------------------ outer-product route (NN, TN, TT)

    /** Largest K chunk of the outer-product route; {@code -Dnibble.shiftmm.kc} overrides (<= 1040, for tuning). */
    static final int OUTER_KC = Math.min(1040, Integer.getInteger("nibble.shiftmm.kc", CHUNK));
    /** Output columns per compute block (multiple of NR): the float/int block buffers stay in L2. */
    private static final int NCB = NR * Math.max(1, 256 / NR);
    /** Output rows per compute block (multiple of MR). */
    private static final int MCB = GemmF32.MC;

    /** Per-thread native scratch: packed A, packed B, float block; and the int block. */
    private static final class Scratch {
        final MemorySegment[] seg = new MemorySegment[3];
        int[] acc = new int[0];

        MemorySegment seg(int slot, long floats) {
            if (seg[slot] == null || seg[slot].byteSize() < floats * 4) {
                seg[slot] = Arena.ofAuto().allocate(Math.max(64, floats * 4), 64);
            }
            return seg[slot];
        }

        int[] acc(int n) {
            if (acc.length < n) {
                acc = new int[n];
            }
            return acc;
        }
    }

    private static final ThreadLocal<Scratch> OUTER = ThreadLocal.withInitial(Scratch::new);

    /**
     * Candidate (1) in GEMM form: op(A) and op(B) are unpacked from int8 into the packed float panels of
     * {@link GemmF32} (its public panel layout), K cut into chunks of at most {@link #OUTER_KC} (<= 1040: exact), and
     * {@link GemmF32#multiplyPacked}, the FP32 register-blocked micro-kernel, multiplies them. One chunk: the exact
     * float sums land in C and are scaled in place; several: each chunk's float block is added to an int32 block.
     */
    static void runOuter(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a,
                         long aOff, int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff,
                         int ldc, boolean intOut) {
        int chunks = Math.max(1, (k + OUTER_KC - 1) / OUTER_KC);
        int[] k0 = new int[chunks + 1];
        long[] pa0 = new long[chunks + 1], pb0 = new long[chunks + 1];
        for (int ch = 0; ch < chunks; ch++) {   // nearly equal chunks, a function of k only
            k0[ch + 1] = (int) ((long) k * (ch + 1) / chunks);
            int kc = k0[ch + 1] - k0[ch];
            pa0[ch + 1] = pa0[ch] + GemmF32.packedASize(m, kc);
            pb0[ch + 1] = pb0[ch] + GemmF32.packedBSize(kc, n);
        }
        Scratch main = OUTER.get();
        MemorySegment pa = main.seg(0, pa0[chunks]), pb = main.seg(1, pb0[chunks]);
        int mp = (m + MR - 1) / MR, np = (n + NR - 1) / NR;
        int grainA = Math.max(1, 8192 / Math.max(1, k)), grainB = Math.max(1, 4096 / Math.max(1, k));
        Parallel.forRange(0, mp, grainA, (lo, hi) -> {
            for (int ip = lo; ip < hi; ip++) {
                for (int ch = 0; ch < chunks; ch++) {
                    int kc = k0[ch + 1] - k0[ch];
                    packA(transA, a, aOff, lda, ip * MR, Math.min(MR, m - ip * MR), k0[ch], kc, pa,
                            pa0[ch] + (long) ip * MR * kc);
                }
            }
        });
        Parallel.forRange(0, np, grainB, (lo, hi) -> {
            for (int jp = lo; jp < hi; jp++) {
                for (int ch = 0; ch < chunks; ch++) {
                    int kc = k0[ch + 1] - k0[ch];
                    packB(transB, b, bOff, ldb, jp * NR, Math.min(NR, n - jp * NR), k0[ch], kc, pb,
                            pb0[ch] + (long) jp * NR * kc);
                }
            }
        });
        boolean direct = chunks == 1 && !intOut;
        Parallel.forRange(0, np, Math.max(1, (int) (4e6 / (2.0 * m * k * NR + 1))), (lo, hi) -> {
            Scratch sc = OUTER.get();
            MemorySegment tmp = direct ? null : sc.seg(2, (long) MCB * NCB);
            int[] acc = direct ? null : sc.acc(MCB * NCB);
            for (int j0 = lo * NR; j0 < Math.min(n, hi * NR); j0 += NCB) {
                int nc = Math.min(Math.min(NCB, n - j0), hi * NR - j0);
                for (int i0 = 0; i0 < m; i0 += MCB) {
                    int mc = Math.min(MCB, m - i0);
                    if (direct) {
                        GemmF32.multiplyPacked(mc, nc, k, 1f, pa, (long) i0 * k, pb, (long) j0 * k, 0f, c,
                                cOff + (long) i0 * ldc + j0, ldc);
                        scaleInPlace(mc, nc, alpha, c, cOff + (long) i0 * ldc + j0, ldc);
                        continue;
                    }
                    java.util.Arrays.fill(acc, 0, mc * nc, 0);
                    for (int ch = 0; ch < chunks; ch++) {
                        int kc = k0[ch + 1] - k0[ch];
                        GemmF32.multiplyPacked(mc, nc, kc, 1f, pa, pa0[ch] + (long) i0 * kc, pb,
                                pb0[ch] + (long) j0 * kc, 0f, tmp, 0, nc);
                        addToInt(mc * nc, tmp, acc);
                    }
                    for (int r = 0; r < mc; r++) {
                        epilogueRow(acc, r * nc, nc, alpha, c, cOff + (long) (i0 + r) * ldc + j0, intOut);
                    }
                }
            }
        });
    }

    /** Packed-A micro-panel (GemmF32 layout, row-major: (i, p) at i*kc + p) of rows i0.., columns p0..p0+kc. */
    private static void packA(boolean transA, MemorySegment a, long aOff, int lda, int i0, int rows, int p0, int kc,
                              MemorySegment dst, long dstOff) {
        for (int r = 0; r < MR; r++) {
            long d = dstOff + (long) r * kc;
            if (r >= rows) {
                dst.asSlice(d * 4, 4L * kc).fill((byte) 0);
            } else if (!transA) {   // contiguous row: vector int8 -> float
                bytesToFloats(a, aOff + (long) (i0 + r) * lda + p0, kc, dst, d);
            } else {                // A stored k x m: strided gather
                long src = aOff + (long) p0 * lda + i0 + r;
                for (int p = 0; p < kc; p++) {
                    dst.setAtIndex(FLOAT, d + p, a.get(BYTE, src + (long) p * lda));
                }
            }
        }
    }

    /** Packed-B micro-panel (GemmF32 layout, k-major: (p, j) at p*NR + j) of columns j0.., rows p0..p0+kc. */
    private static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int j0, int cols, int p0, int kc,
                              MemorySegment dst, long dstOff) {
        if (!transB && cols == NR && SB_FULL) {   // B stored k x n, full panel: two vector conversions per p
            for (int p = 0; p < kc; p++) {
                long src = bOff + (long) (p0 + p) * ldb + j0, d = (dstOff + (long) p * NR) * 4;
                toFloats(b, src).intoMemorySegment(dst, d, ORDER);
                toFloats(b, src + L).intoMemorySegment(dst, d + 4L * L, ORDER);
            }
        } else if (!transB) {
            for (int p = 0; p < kc; p++) {
                long src = bOff + (long) (p0 + p) * ldb + j0;
                for (int j = 0; j < NR; j++) {
                    dst.setAtIndex(FLOAT, dstOff + (long) p * NR + j, j < cols ? b.get(BYTE, src + j) : 0f);
                }
            }
        } else {        // B stored n x k: walk each B row contiguously, scatter with stride NR
            for (int j = 0; j < NR; j++) {
                long src = bOff + (long) (j0 + j) * ldb + p0;
                for (int p = 0; p < kc; p++) {
                    dst.setAtIndex(FLOAT, dstOff + (long) p * NR + j, j < cols ? b.get(BYTE, src + p) : 0f);
                }
            }
        }
    }

    private static void bytesToFloats(MemorySegment s, long off, int n, MemorySegment dst, long dstOff) {
        int p = 0;
        if (SB_FULL) {
            for (; p + L <= n; p += L) {
                toFloats(s, off + p).intoMemorySegment(dst, (dstOff + p) * 4, ORDER);
            }
        }
        for (; p < n; p++) {
            dst.setAtIndex(FLOAT, dstOff + p, s.get(BYTE, off + p));
        }
    }

    private static FloatVector toFloats(MemorySegment s, long byteOff) {
        return (FloatVector) ByteVector.fromMemorySegment(SB, s, byteOff, ORDER)
                .convertShape(VectorOperators.B2F, S, 0);
    }

    /** acc[0..n) += (int) tmp[0..n): the chunk's float sums are exact integers below 2^24. */
    private static void addToInt(int n, MemorySegment tmp, int[] acc) {
        int i = 0;
        for (; i + L <= n; i += L) {
            IntVector.fromArray(Simd.I32, acc, i).add((IntVector) FloatVector.fromMemorySegment(S, tmp, 4L * i, ORDER)
                    .convert(VectorOperators.F2I, 0)).intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] += (int) tmp.getAtIndex(FLOAT, i);
        }
    }

    /** C row = (float) (acc * alpha), or the int accumulator itself. */
    private static void epilogueRow(int[] acc, int off, int cols, double alpha, MemorySegment c, long cb,
                                    boolean intOut) {
        int j = 0;
        if (!intOut) {
            for (; j + L <= cols; j += L) {
                scale(IntVector.fromArray(Simd.I32, acc, off + j), alpha).intoMemorySegment(c, (cb + j) * 4, ORDER);
            }
            for (; j < cols; j++) {
                c.setAtIndex(FLOAT, cb + j, (float) (acc[off + j] * alpha));
            }
        } else {
            for (; j < cols; j++) {
                c.setAtIndex(INT, cb + j, acc[off + j]);
            }
        }
    }

    /** C block = (float) ((double) C * alpha): C holds exact integer float sums (one chunk, |sum| < 2^24). */
    private static void scaleInPlace(int rows, int cols, double alpha, MemorySegment c, long cOff, int ldc) {
        for (int r = 0; r < rows; r++) {
            long cb = cOff + (long) r * ldc;
            int j = 0;
            for (; j + L <= cols; j += L) {
                FloatVector v = FloatVector.fromMemorySegment(S, c, (cb + j) * 4, ORDER);
                scale((IntVector) v.convert(VectorOperators.F2I, 0), alpha).intoMemorySegment(c, (cb + j) * 4,
                        ORDER);
            }
            for (; j < cols; j++) {
                c.setAtIndex(FLOAT, cb + j, (float) ((int) c.getAtIndex(FLOAT, cb + j) * alpha));
            }
        }
    }

    private static final VectorSpecies<Double> SD = jdk.incubator.vector.DoubleVector.SPECIES_PREFERRED
            .withShape(S.vectorShape());
    private static final jdk.incubator.vector.VectorMask<Float> HIGH_HALF = S.indexInRange(-L / 2, L / 2);   // lanes L/2 .. L-1

    /** {@code (float) (acc * alpha)} lane-wise: int -> double (exact), multiply, round to float once. */
    private static FloatVector scale(IntVector acc, double alpha) {
        FloatVector lo = (FloatVector) ((jdk.incubator.vector.DoubleVector) acc.convertShape(VectorOperators.I2D, SD,
                0)).mul(alpha).convertShape(VectorOperators.D2F, S, 0);
        FloatVector hi = (FloatVector) ((jdk.incubator.vector.DoubleVector) acc.convertShape(VectorOperators.I2D, SD,
                1)).mul(alpha).convertShape(VectorOperators.D2F, S, -1);
        return lo.blend(hi, HIGH_HALF);
    }

    // ------------------------------------------------------------------ dot-product route (A . B^T)

    private static void runDot(int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
                               MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc,
                               boolean intOut) {
        int kp = (k + L - 1) / L * L;
        int mt = (m + DM - 1) / DM, nt = (n + DN - 1) / DN;
        float[] af = scratch(0, (long) mt * DM * kp), bf = scratch(1, (long) nt * DN * kp);
        Parallel.forRange(0, mt * DM, Math.max(1, 4096 / Math.max(1, k)), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                rowToFloats(a, aOff + (long) i * lda, i < m ? k : 0, kp, af, i * kp);
            }
        });
        Parallel.forRange(0, nt * DN, Math.max(1, 4096 / Math.max(1, k)), (lo, hi) -> {
            for (int j = lo; j < hi; j++) {
                rowToFloats(b, bOff + (long) j * ldb, j < n ? k : 0, kp, bf, j * kp);
            }
        });
        // A block of 8 tiles = 32 rows stays in L2 while the B tiles of this thread stream past it
        int blockTiles = Math.max(1, 8 * 1024 / Math.max(1, kp));
        Parallel.forRange(0, nt, 1, (lo, hi) -> {
            int[] tile = new int[DM * DN];
            for (int ib = 0; ib < mt; ib += blockTiles) {
                int ie = Math.min(mt, ib + blockTiles);
                for (int jt = lo; jt < hi; jt++) {
                    for (int it = ib; it < ie; it++) {
                        java.util.Arrays.fill(tile, 0);
                        kernelDot(af, it * DM * kp, bf, jt * DN * kp, kp, tile);
                        epilogueScalar(tile, it * DM, jt * DN, Math.min(DM, m - it * DM), Math.min(DN, n - jt * DN),
                                alpha, c, cOff, ldc, intOut);
                    }
                }
            }
        });
    }

    /** Converts {@code k} int8 values to floats, zero-filling up to {@code kp}. */
    private static void rowToFloats(MemorySegment s, long off, int k, int kp, float[] dst, int base) {
        int p = 0;
        if (SB_FULL) {
            for (; p + L <= k; p += L) {
                toFloats(s, off + p).intoArray(dst, base + p);
            }
        }
        for (; p < k; p++) {
            dst[base + p] = s.get(BYTE, off + p);
        }
        for (; p < kp; p++) {
            dst[base + p] = 0f;
        }
    }

    /**
     * DM x DN dot-product tile over float rows of length {@code kp} (a multiple of L): 12 vector accumulators, each
     * reduced per {@link #CHUNK} (exact: see the class comment) and added to the int tile.
     */
    private static void kernelDot(float[] af, int a0, float[] bf, int b0, int kp, int[] tile) {
        int a1 = a0 + kp, a2 = a1 + kp, a3 = a2 + kp, b1 = b0 + kp, b2 = b1 + kp;
        for (int k0 = 0; k0 < kp; k0 += CHUNK) {
            int ke = Math.min(kp, k0 + CHUNK);
            FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
            FloatVector c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
            for (int p = k0; p < ke; p += L) {
                FloatVector y0 = FloatVector.fromArray(S, bf, b0 + p), y1 = FloatVector.fromArray(S, bf, b1 + p);
                FloatVector y2 = FloatVector.fromArray(S, bf, b2 + p);
                FloatVector x = FloatVector.fromArray(S, af, a0 + p);
                c00 = x.fma(y0, c00);
                c01 = x.fma(y1, c01);
                c02 = x.fma(y2, c02);
                x = FloatVector.fromArray(S, af, a1 + p);
                c10 = x.fma(y0, c10);
                c11 = x.fma(y1, c11);
                c12 = x.fma(y2, c12);
                x = FloatVector.fromArray(S, af, a2 + p);
                c20 = x.fma(y0, c20);
                c21 = x.fma(y1, c21);
                c22 = x.fma(y2, c22);
                x = FloatVector.fromArray(S, af, a3 + p);
                c30 = x.fma(y0, c30);
                c31 = x.fma(y1, c31);
                c32 = x.fma(y2, c32);
            }
            tile[0] += (int) c00.reduceLanes(VectorOperators.ADD);
            tile[1] += (int) c01.reduceLanes(VectorOperators.ADD);
            tile[2] += (int) c02.reduceLanes(VectorOperators.ADD);
            tile[3] += (int) c10.reduceLanes(VectorOperators.ADD);
            tile[4] += (int) c11.reduceLanes(VectorOperators.ADD);
            tile[5] += (int) c12.reduceLanes(VectorOperators.ADD);
            tile[6] += (int) c20.reduceLanes(VectorOperators.ADD);
            tile[7] += (int) c21.reduceLanes(VectorOperators.ADD);
            tile[8] += (int) c22.reduceLanes(VectorOperators.ADD);
            tile[9] += (int) c30.reduceLanes(VectorOperators.ADD);
            tile[10] += (int) c31.reduceLanes(VectorOperators.ADD);
            tile[11] += (int) c32.reduceLanes(VectorOperators.ADD);
        }
    }

    private static void epilogueScalar(int[] tile, int i0, int j0, int rows, int cols, double alpha,
                                       MemorySegment c, long cOff, int ldc, boolean intOut) {
        for (int r = 0; r < rows; r++) {
            long cb = cOff + (long) (i0 + r) * ldc + j0;
            for (int j = 0; j < cols; j++) {
                if (intOut) {
                    c.setAtIndex(INT, cb + j, tile[r * DN + j]);
                } else {
                    c.setAtIndex(FLOAT, cb + j, (float) (tile[r * DN + j] * alpha));
                }
            }
        }
    }
}
