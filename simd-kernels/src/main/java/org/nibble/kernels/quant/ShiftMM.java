package org.nibble.kernels.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
 * ShiftMM (papers.md 1.4): integer GEMM on int8 containers of pre-shifted ShiftQuant codes (|code| <= 127), exact
 * int32 accumulation and one epilogue scale, {@code C = (float) (acc * alpha)} (alpha a double), in the three layouts
 * of a Linear layer's training step. The result equals {@link ShiftMMScalar} bit for bit, whichever route runs.
 *
 * <h2>Which kernel, and why (measured; see ShiftMMCandidatesBench / ShiftMMBench)</h2>
 * The Vector API has no integer dot-product instruction (no VNNI, no {@code vpmaddwd}). The issue named three
 * candidates; all are implemented ({@link ShiftMMCandidates} keeps the losers) and tested bit-exact:
 * <ol>
 *   <li>FP32 FMA as an exact integer multiplier (int8 unpacked to float while packing, FP32 register-blocked
 *       micro-kernel, K chunked so float sums stay exact; proof below), as a dot-product tile or through GemmF32's
 *       outer-product micro-kernel: 1.07-1.38x our FP32 GEMM (it <em>is</em> the FP32 GEMM, on smaller operands).</li>
 *   <li>16-bit products with 16-bit accumulators: two int8 x int8 products per 16-bit lane
 *       ({@code |a*b + c*d| <= 2 * 127^2 = 32258 <= 32767}), then widened to int32. <b>The winner</b>: 1.5-2.2x our
 *       FP32 GEMM on the forward layout, 1.2-1.7x on the backward layouts.</li>
 *   <li>Lucene-style byte -> short -> int widening of every product: 1.3-1.8x, behind (2) because it widens twice
 *       as often.</li>
 * </ol>
 * (Single thread, shapes (256,768,768), (64,768,3072), 1024^3, CPU time of {@code org.nibble.bench.ShiftMMProbe}
 * on a 2-core AVX2 machine shared with other jobs; JMH wall-time rows of ShiftMMCandidatesBench agree in order:
 * int16 1.47-1.69x, FP32 dot 0.60-1.17x, FP32 outer 0.77-1.11x, widen 0.73-1.52x.)
 * Why (2) beats FP32 FMA here although an FMA does 8 MACs: per 16 lanes x 2 contraction steps the int16 tile issues
 * 2 {@code vpmullw} + 1 {@code vpaddw} + the widen (2 shifts + 1 arithmetic shift + 2 adds, all in-lane: the 16-bit
 * halves of each int lane are sign-extended with {@code x << 16 >> 16} and {@code x >> 16} instead of the cross-lane
 * S2I part extraction, whose permutes made the first version 6x slower) = 8 simple integer ops for 32 MACs, spread
 * over all four vector ALU pipes of this core, while FP32 needs 4 FMAs for the same 32 MACs on only the two FMA pipes
 * and pays int8 -> float conversion. The int16 operands are half the bytes of float panels, too.
 *
 * <h2>Routes</h2>
 * The int16 route wants both operands as rows along K: op(A) rows are A's rows unless {@code transA}, op(B) rows
 * are B's rows when {@code transB} (the forward layout needs no transposition; the backward ones transpose one or two
 * operands while widening, 8 rows at a time). Transposition is scalar work on each element of the transposed
 * operand, amortized over the other dimension; when an operand would be reused fewer than
 * {@link #TRANSPOSE_COST} times, the FP32 route (1) through {@link GemmF32}'s packed panels and micro-kernel
 * ({@link GemmF32#multiplyPacked}, no transposition for the backward layouts) runs instead.
 *
 * <h2>Exactness of the FP32 route</h2>
 * Codes satisfy |a|, |b| <= 127, so every product is an integer with |a*b| <= 16129 < 2^24, exact in float. A float
 * sum of integers is exact while every partial sum stays below 2^24 in magnitude; any partial sum (whatever the
 * association, including lane-wise partial sums and their reduction) is bounded by the sum of |products| of the
 * chunk, at most {@code K_chunk * 16129}; {@code K_chunk <= 1040} gives {@code 1040 * 16129 = 16 774 160 < 2^24 =
 * 16 777 216}. The FP32 route therefore accumulates in float over chunks of at most {@link #CHUNK} = 1024
 * contraction indices and adds the chunks' (exact, integral) sums in int32. int32 is safe for K <= 133 000
 * (papers.md 1.4). The int16 route is exact by the pair bound above. Both round once at the end:
 * {@code (float) (acc * alpha)} in double.
 *
 * <h2>Layouts</h2>
 * {@code transA}: A is stored {@code k x m} (else {@code m x k}); {@code transB}: B is stored {@code n x k} (else
 * {@code k x n}); all row-major with the given leading dimensions, int8 in [-127, 127] (-128 is rejected: it would
 * break the int16 pair bound, and ShiftQuant never produces it).
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
        // the int16 route transposes operands stored with K as rows (scalar, ~1/reuse of the GEMM work); when an
        // operand is reused fewer than ~96 times the FP32 outer route (no transposition for NN/TN) is faster
        long transposed = (transA ? (long) m * k : 0) + (transB ? 0 : (long) n * k);
        if (transposed * TRANSPOSE_COST > (long) m * n * k) {
            runOuter(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, intOut);
        } else {
            runInt16(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, intOut);
        }
    }

    /**
     * Break-even reuse count between the int16 route's transposition and the FP32 outer route (measured, noisy);
     * {@code -Dnibble.shiftmm.transposeCost} overrides it for tuning (1: always int16).
     */
    static final int TRANSPOSE_COST = Integer.getInteger("nibble.shiftmm.transposeCost", 96);

    // ------------------------------------------------------------------ int16 route (the winner)

    private static final VectorSpecies<Short> SS = Simd.I16;
    private static final int LS = SS.length();
    /** LS bytes: one short vector's worth of int8 codes. */
    private static final VectorSpecies<Byte> SB16 = ByteVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(8 * LS));
    /** Register tile of the int16 route: TI rows of op(A) x TJ columns of op(B). */
    static final int TI = 2, TJ = 2;

    private static final java.lang.foreign.ValueLayout.OfLong LONG =
            java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private static final ThreadLocal<short[][]> SHORTS = ThreadLocal.withInitial(() -> new short[2][0]);

    private static short[] shorts(int slot, long size) {
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("ShiftMM: widened operand of " + size + " shorts exceeds a Java array");
        }
        short[][] s = SHORTS.get();
        if (s[slot].length < size) {
            s[slot] = new short[(int) size];
        }
        return s[slot];
    }

    /**
     * Candidate (2), the measured winner: both operands are widened once to int16 rows along K (op(A) as m rows,
     * op(B) as n rows, transposing where the layout stores K as rows), then a TI x TJ dot-product tile multiplies 16-bit
     * lanes and sums two products per lane in 16 bits ({@code |a*b + c*d| <= 2 * 127^2 = 32258 <= 32767}), widening the
     * pair sums to int32 with in-lane shifts ({@link #widenSum}). Exact int32 throughout, so no K chunking is needed.
     */
    static void runInt16(boolean transA, boolean transB, int m, int n, int k, double alpha, MemorySegment a,
                         long aOff, int lda, MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff,
                         int ldc, boolean intOut) {
        int kp = (k + 2 * LS - 1) / (2 * LS) * (2 * LS);
        int mp = (m + TI - 1) / TI * TI, np = (n + TJ - 1) / TJ * TJ;
        short[] as = shorts(0, (long) mp * kp), bs = shorts(1, (long) np * kp);
        int grain = Math.max(1, 16384 / Math.max(1, k));
        Parallel.forRange(0, mp, grain, (lo, hi) -> widenRows(!transA, a, aOff, lda, m, k, kp, as, lo, hi));
        Parallel.forRange(0, np, grain, (lo, hi) -> widenRows(transB, b, bOff, ldb, n, k, kp, bs, lo, hi));
        // blocks of A rows (~128 KiB of shorts) stay in L2 while this thread's B tiles stream past
        int blockRows = Math.max(TI, (65536 / Math.max(1, kp)) / TI * TI);
        Parallel.forRange(0, np / TJ, 1, (lo, hi) -> {
            int[] t = new int[TI * TJ];
            for (int ib = 0; ib < mp; ib += blockRows) {
                int ie = Math.min(mp, ib + blockRows);
                for (int jt = lo; jt < hi; jt++) {
                    for (int i = ib; i < ie; i += TI) {
                        tileInt16(as, i * kp, bs, jt * TJ * kp, kp, t);
                        epilogueTile(t, i, jt * TJ, Math.min(TI, m - i), Math.min(TJ, n - jt * TJ), alpha, c, cOff,
                                ldc, intOut);
                    }
                }
            }
        });
    }

    /**
     * Rows {@code lo..hi} of an operand widened to int16 rows of {@code kp} (contraction index p contiguous, zero
     * padded; rows past {@code rows} zero). {@code contiguous}: row i is stored contiguously at {@code off + i*ld}
     * (vector B2S); else the operand is stored {@code k x rows} and is transposed 8 rows at a time (one little-endian
     * 8-byte load per contraction index, bytes split off with shifts). Rejects -128, the one int8 value outside the pair-sum bound.
     */
    private static void widenRows(boolean contiguous, MemorySegment src, long off, int ld, int rows, int k, int kp,
                                  short[] dst, int lo, int hi) {
        int min = 0;
        if (contiguous) {
            for (int i = lo; i < hi; i++) {
                int base = i * kp, p = 0;
                if (i < rows) {
                    long sb = off + (long) i * ld;
                    ShortVector mn = ShortVector.zero(SS);
                    for (; p + LS <= k; p += LS) {
                        ShortVector v = (ShortVector) ByteVector.fromMemorySegment(SB16, src, sb + p, ORDER)
                                .convertShape(VectorOperators.B2S, SS, 0);
                        mn = mn.min(v);
                        v.intoArray(dst, base + p);
                    }
                    min = Math.min(min, mn.reduceLanes(VectorOperators.MIN));
                    for (; p < k; p++) {
                        byte v = src.get(BYTE, sb + p);
                        min = Math.min(min, v);
                        dst[base + p] = v;
                    }
                }
                java.util.Arrays.fill(dst, base + p, base + kp, (short) 0);
            }
        } else {
            // 8 rows at a time: one 8-byte load per contraction index, bytes split off with shifts, 8 strided stores
            int i0 = lo;
            for (; i0 + 8 <= Math.min(hi, rows); i0 += 8) {
                int d = i0 * kp;
                for (int p = 0; p < k; p++) {
                    long v = src.get(LONG, off + (long) p * ld + i0);
                    for (int t = 0; t < 8; t++) {
                        byte bt = (byte) (v >> (8 * t));
                        min = Math.min(min, bt);
                        dst[d + t * kp + p] = bt;
                    }
                }
                for (int t = 0; t < 8; t++) {
                    java.util.Arrays.fill(dst, d + t * kp + k, d + (t + 1) * kp, (short) 0);
                }
            }
            for (int i = i0; i < hi; i++) {
                int base = i * kp, p = 0;
                if (i < rows) {
                    for (; p < k; p++) {
                        byte v = src.get(BYTE, off + (long) p * ld + i);
                        min = Math.min(min, v);
                        dst[base + p] = v;
                    }
                }
                java.util.Arrays.fill(dst, base + p, base + kp, (short) 0);
            }
        }
        if (min == -128) {
            throw new IllegalArgumentException("ShiftMM operands: expected int8 codes in [-127, 127] (ShiftQuant "
                    + "containers never hold -128), got -128");
        }
    }

    private static ShortVector ld16(short[] s, int off) {
        return ShortVector.fromArray(SS, s, off);
    }

    /**
     * Both 16-bit halves of every 32-bit lane, sign-extended and added: {@code (x << 16 >> 16) + (x >> 16)} on the
     * lanes reinterpreted as ints. In-lane shifts only (no cross-lane S2I part extraction, which costs a permute);
     * lane order does not matter because the tile reduces all lanes at the end.
     */
    static IntVector widenSum(ShortVector p) {
        IntVector x = p.reinterpretAsInts();
        return x.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)
                .add(x.lanewise(VectorOperators.ASHR, 16));
    }

    /** TI x TJ = 2 x 2 tile: per two short vectors of K, 8 loads, 8 16-bit multiplies, 4 pair sums, 4 widen-adds. */
    private static void tileInt16(short[] as, int a0, short[] bs, int b0, int kp, int[] t) {
        IntVector c00 = IntVector.zero(Simd.I32), c01 = c00, c10 = c00, c11 = c00;
        int a1 = a0 + kp, b1 = b0 + kp;
        for (int p = 0; p < kp; p += 2 * LS) {
            ShortVector x0 = ld16(as, a0 + p), x1 = ld16(as, a1 + p), y0 = ld16(bs, b0 + p), y1 = ld16(bs, b1 + p);
            ShortVector u0 = ld16(as, a0 + p + LS), u1 = ld16(as, a1 + p + LS), v0 = ld16(bs, b0 + p + LS);
            ShortVector v1 = ld16(bs, b1 + p + LS);
            c00 = c00.add(widenSum(x0.mul(y0).add(u0.mul(v0))));
            c01 = c01.add(widenSum(x0.mul(y1).add(u0.mul(v1))));
            c10 = c10.add(widenSum(x1.mul(y0).add(u1.mul(v0))));
            c11 = c11.add(widenSum(x1.mul(y1).add(u1.mul(v1))));
        }
        t[0] = c00.reduceLanes(VectorOperators.ADD);
        t[1] = c01.reduceLanes(VectorOperators.ADD);
        t[2] = c10.reduceLanes(VectorOperators.ADD);
        t[3] = c11.reduceLanes(VectorOperators.ADD);
    }

    private static void epilogueTile(int[] t, int i0, int j0, int rows, int cols, double alpha, MemorySegment c,
                                     long cOff, int ldc, boolean intOut) {
        for (int r = 0; r < rows; r++) {
            long cb = cOff + (long) (i0 + r) * ldc + j0;
            for (int j = 0; j < cols; j++) {
                if (intOut) {
                    c.setAtIndex(INT, cb + j, t[r * TJ + j]);
                } else {
                    c.setAtIndex(FLOAT, cb + j, (float) (t[r * TJ + j] * alpha));
                }
            }
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

    /**
     * Packed-A micro-panel (GemmF32 layout, row-major: (i, p) at i*kc + p) of rows i0.., columns p0..p0+kc; missing
     * rows are zero.
     */
    private static void packA(boolean transA, MemorySegment a, long aOff, int lda, int i0, int rows, int p0, int kc,
                              MemorySegment dst, long dstOff) {
        for (int r = 0; r < MR; r++) {
            long d = dstOff + (long) r * kc;
            if (r < rows && !transA) {
                bytesToFloats(a, aOff + (long) (i0 + r) * lda + p0, kc, dst, d);
                continue;
            }
            for (int p = 0; p < kc; p++) {
                dst.setAtIndex(FLOAT, d + p, r < rows ? a.get(BYTE, aOff + (long) (p0 + p) * lda + i0 + r) : 0f);
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

    static void runDot(int m, int n, int k, double alpha, MemorySegment a, long aOff, int lda,
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
