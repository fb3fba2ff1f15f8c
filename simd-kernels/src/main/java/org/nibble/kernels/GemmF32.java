package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * FP32 GEMM {@code C = alpha * op(A) * op(B) + beta * C} (row-major, {@code op} = identity or transpose), built the
 * way fast BLAS libraries are built (Goto / BLIS), with a GEMV path for {@code m == 1} and {@code n == 1}.
 *
 * <h2>Contract</h2>
 * Offsets and leading dimensions are in elements. {@code op(A)} is {@code m x k}: A is stored {@code m x k} with
 * leading dimension {@code lda} (row {@code i} starts at {@code aOff + i*lda}), or {@code k x m} when {@code transA}.
 * Likewise {@code op(B)} is {@code k x n} (B stored {@code n x k} when {@code transB}); C is {@code m x n}. BLAS
 * semantics: {@code beta == 0} never reads C (NaN garbage there is overwritten); {@code alpha == 0} or {@code k == 0}
 * never reads A or B and scales C by beta. Any {@code m, n, k >= 0}. C must not overlap A or B. The twin is
 * {@link GemmF32Scalar#gemm}; results agree with it within {@code c * k * eps * sum|a||b|} (this kernel sums in float
 * with fused multiply-adds, in {@link #KC}-long blocks). Results are bit-identical for any thread count: each output
 * element is computed by the same sequence of operations whichever thread computes it.
 *
 * <h2>Algorithm</h2>
 * Loops, outermost first (BLIS numbering): N in blocks of {@link #NC} columns; K in blocks of
 * {@code kc <= KC}, where op(B)'s {@code kc x nc} block is packed; M in blocks of {@link #MC} rows, where op(A)'s
 * {@code mc x kc} block is packed (when all of M fits one block, A is packed once and B is packed four micro-panels
 * at a time right before use, so it never round-trips through L3); then the macro-kernel walks {@link #MR} x
 * {@link #NR} tiles and the micro-kernel keeps the tile's {@code MR * NR / L} vector accumulators in registers across
 * the whole {@code kc} loop (L = {@link Simd#F32_LANES}). Per step of k it loads two vectors of B, broadcasts MR
 * scalars of A and issues {@code 2 * MR} FMAs; with MR = 6 and NR = 2L that is 12 accumulators + 2 B vectors + 1
 * broadcast = 15 of the 16 AVX2 registers (32 with AVX-512, where the same code runs a 6 x 32 tile). Parallelism
 * ({@link Parallel#forRange}) cuts the output into column ranges that are multiples of NR (or row ranges, multiples
 * of MR, when n is narrow); each thread packs into its own reused scratch.
 *
 * <h2>Packed panel layouts (public, for reuse by other GEMMs)</h2>
 * Integer GEMMs (ShiftMM: int8 codes unpacked to exact small floats, K chunked so float sums stay exact below 2^24)
 * can produce these panels themselves and call {@link #multiplyPacked} on them:
 * <pre>
 * packed A, an mc x kc block: ceil(mc / MR) micro-panels of MR * kc floats, one after the other.
 *     Micro-panel r holds rows r*MR .. r*MR+MR-1, row-major: element (i, p) at r*MR*kc + i*kc + p.
 *     Rows past mc are zero.                                                  size: packedASize(mc, kc)
 * packed B, a kc x nc block: ceil(nc / NR) micro-panels of kc * NR floats, one after the other.
 *     Micro-panel s holds columns s*NR .. s*NR+NR-1, k-major: element (p, j) at s*NR*kc + p*NR + j.
 *     Columns past nc are zero.                                               size: packedBSize(kc, nc)
 * </pre>
 * {@link #packA} and {@link #packB} produce them from float matrices; {@link #multiplyPacked} computes
 * {@code C[mc x nc] = alpha * Apacked * Bpacked + beta * C} single-threaded (the caller parallelises over tiles).
 * Each element's sum is one FMA chain in increasing p, so panels of integer-valued floats whose partial sums stay
 * below 2^24 in magnitude give the exact integer result (with alpha = 1, beta = 0).
 * Packed offsets should be multiples of 16 elements (64 bytes) for aligned vector loads.
 */
public final class GemmF32 {
    private GemmF32() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /** Rows of the register tile (micro-kernel). */
    public static final int MR = 6;
    /** Columns of the register tile: two vectors of {@link Simd#F32}. */
    public static final int NR = 2 * L;
    /**
     * Maximum depth of a packed block. Deeper than the classic L1-sized 256: Java has no prefetch instruction, so
     * each C-tile update (loads that miss to L3 stall retirement) must be amortised over a long k loop; 1024 measured
     * 60 -> 80 GFLOP/s at 1024^3 on one Zen 3 core (the B micro-panel then streams from L2).
     */
    public static final int KC = 1024;
    /** Rows of a packed A block (multiple of MR). */
    public static final int MC = 24 * MR;
    /** Columns of a packed B block (multiple of NR): KC * NC floats (16 MiB at most) stay in L3. */
    public static final int NC = NR * (4096 / NR);

    /** Floats of a packed A block of {@code mc x kc} (rows rounded up to MR). */
    public static long packedASize(int mc, int kc) {
        return (long) roundUp(mc, MR) * kc;
    }

    /** Floats of a packed B block of {@code kc x nc} (columns rounded up to NR). */
    public static long packedBSize(int kc, int nc) {
        return (long) roundUp(nc, NR) * kc;
    }

    // ------------------------------------------------------------------------------------------------ entry point

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C}; see the class comment for the contract.
     *
     * @param transA A is stored {@code k x m} (op(A) = A^T) instead of {@code m x k}
     * @param transB B is stored {@code n x k} (op(B) = B^T) instead of {@code k x n}
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        checkGemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (m == 0 || n == 0) {
            return;
        }
        if (alpha == 0 || k == 0) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        if (m == 1) {
            // one row of C: y (n) = x (k) * op(B); x = row 0 of op(A), stride 1 or lda
            long xInc = transA ? lda : 1;
            if (transB) {
                Gemv.dotRows(n, k, alpha, b, bOff, ldb, a, aOff, xInc, beta, c, cOff, 1);
            } else {
                Gemv.axpyRows(k, n, alpha, b, bOff, ldb, a, aOff, xInc, beta, c, cOff, 1);
            }
            return;
        }
        if (n == 1) {
            // one column of C: y (m) = op(A) * x (k); x = column 0 of op(B), stride ldb or 1
            long xInc = transB ? 1 : ldb;
            if (transA) {
                Gemv.axpyRows(k, m, alpha, a, aOff, lda, b, bOff, xInc, beta, c, cOff, ldc);
            } else {
                Gemv.dotRows(m, k, alpha, a, aOff, lda, b, bOff, xInc, beta, c, cOff, ldc);
            }
            return;
        }
        int colBlocks = ceilDiv(n, NR);
        double flopsPerCol = 2.0 * m * k;
        if (colBlocks >= 2 * Parallel.threads() || m <= MR) {
            // split the columns: each chunk is a multiple of NR columns (the last one takes the rest); with more than
            // one chunk, op(A) is packed once up front (its panels split over the threads) instead of by every chunk
            int grain = grain(flopsPerCol * NR);
            MemorySegment whole = null;
            if (Parallel.chunks(colBlocks, grain) > 1) {
                Scratch s = SCRATCH.get();
                whole = s.whole = Scratch.grow(s.whole, packedASize(m, k));
                packAllA(transA, m, k, a, aOff, lda, whole, 0);
            }
            MemorySegment pa = whole;
            Parallel.forRange(0, colBlocks, grain, (lo, hi) -> blocked(transA, transB, 0, m, lo * NR,
                    Math.min(n, hi * NR), k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, pa));
        } else {
            int rowBlocks = ceilDiv(m, MR);
            int grain = grain(2.0 * n * k * MR);
            Parallel.forRange(0, rowBlocks, grain, (lo, hi) -> blocked(transA, transB, lo * MR,
                    Math.min(m, hi * MR), 0, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, null));
        }
    }

    /** Units per parallel chunk so that a chunk holds at least ~4 MFLOP (below that, threads cost more than win). */
    private static int grain(double flopsPerUnit) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.ceil(4e6 / flopsPerUnit)));
    }

    /** Argument checks shared with the twin; messages name the argument, the expected and the actual value. */
    static void checkGemm(boolean transA, boolean transB, int m, int n, int k, MemorySegment a, long aOff, int lda,
                          MemorySegment b, long bOff, int ldb, MemorySegment c, long cOff, int ldc) {
        Checks.checkCount("m", m);
        Checks.checkCount("n", n);
        Checks.checkCount("k", k);
        if (transA) {
            Checks.checkMatrix("a (transposed, stored k x m)", a, aOff, k, m, lda, 4);
        } else {
            Checks.checkMatrix("a (stored m x k)", a, aOff, m, k, lda, 4);
        }
        if (transB) {
            Checks.checkMatrix("b (transposed, stored n x k)", b, bOff, n, k, ldb, 4);
        } else {
            Checks.checkMatrix("b (stored k x n)", b, bOff, k, n, ldb, 4);
        }
        Checks.checkMatrix("c (m x n)", c, cOff, m, n, ldc, 4);
    }

    /** C = beta * C (beta == 0: C = 0 without reading it). */
    private static void scaleC(int m, int n, float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            if (beta == 0) {
                FloatOps.fill(n, 0f, c, row);
            } else if (beta != 1) {
                FloatOps.scale(n, beta, c, row, c, row);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ blocking

    /** Per-thread packing scratch, grown on demand and reused across calls (never allocated in the hot path). */
    private static final class Scratch {
        /** Packed A of one row block; packed B; all of A for a column split ({@link #packAllA}). */
        MemorySegment a = MemorySegment.NULL;
        MemorySegment b = MemorySegment.NULL;
        MemorySegment whole = MemorySegment.NULL;
        final MemorySegment tile = Arena.ofAuto().allocate((long) MR * NR * 4, 64);

        /** {@code s} if it holds {@code floats}, else a new segment that does. */
        static MemorySegment grow(MemorySegment s, long floats) {
            return s.byteSize() >= floats * 4 ? s : Arena.ofAuto().allocate(floats * 4, 64);
        }
    }

    /**
     * Columns of B packed at a time when M fits one row block: four micro-panels, so each row of B is read 4 * NR
     * floats at a time (1 micro-panel at a time was 15% slower at M = 64: strided 64-byte reads are latency-bound).
     */
    private static final int FUSED_COLS = 4 * NR;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Depth of the GEMM's K blocks for a contraction of {@code k >= 1}: k cut into ceil(k / KC) nearly equal blocks
     * (a function of k only); the last block may be shallower. Callers that keep packed B panels of their own
     * ({@link #multiplyPacked}) cut k the same way, so their sums are the GEMM's.
     */
    public static int blockDepth(int k) {
        int blocks = ceilDiv(k, KC);
        return ceilDiv(k, blocks);
    }

    /**
     * Packing a row-major A costs ~0.1 ns per float: below this many floats one thread packs it (a fork costs
     * microseconds).
     */
    private static final long PARALLEL_PACK_FLOATS = 32 * 1024;

    /**
     * Packs all m rows of op(A) (m x k) into {@code dst} from element {@code dstOff}, K block after K block, for
     * {@link #multiplyPacked} callers that split the columns over threads and would otherwise each pack A again.
     * The K blocks are the GEMM's (k cut into {@code ceil(k / KC)} nearly equal blocks); the block starting at depth
     * pc is {@link #packA} of rows 0 .. m - 1 at element {@code dstOff + m' * pc} (m' = m rounded up to MR), so row
     * block ic of it starts {@code ic * kc} elements further. Needs {@link #packedASize packedASize(m, k)} floats.
     * Runs on all threads (split by MR-row panels) when A is large.
     */
    public static void packAllA(boolean transA, int m, int k, MemorySegment a, long aOff, int lda, MemorySegment dst,
                                long dstOff) {
        int mp = roundUp(m, MR), kcMax = blockDepth(k);
        Parallel.RangeBody pack = (lo, hi) -> {
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                packA(transA, a, aOff, lda, lo * MR, pc, Math.min(m, hi * MR) - lo * MR, kc, dst,
                        dstOff + (long) mp * pc + (long) lo * MR * kc);
            }
        };
        if ((long) m * k < PARALLEL_PACK_FLOATS) {
            pack.run(0, mp / MR);
        } else {
            Parallel.forRange(0, mp / MR, pack);
        }
    }

    /**
     * The Goto loops over the output block rows [i0, i1) x columns [j0, j1); op(A) comes from {@code whole}
     * ({@link #packAllA}, then i0 = 0) or, when that is null, is packed here per row block and K block.
     */
    private static void blocked(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k, float alpha,
                                MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                                float beta, MemorySegment c, long cOff, int ldc, MemorySegment whole) {
        Scratch s = SCRATCH.get();
        int kcMax = blockDepth(k), mp = roundUp(i1, MR);
        MemorySegment pa = whole != null ? whole
                : (s.a = Scratch.grow(s.a, packedASize(Math.min(MC, i1 - i0), kcMax)));
        MemorySegment pb = s.b = Scratch.grow(s.b, packedBSize(kcMax, Math.min(NC, j1 - j0)));
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += kcMax) {
                int kc = Math.min(kcMax, k - pc);
                float betaBlock = pc == 0 ? beta : 1f;
                if (i1 - i0 <= MC) {
                    // one row block: pack A once, then pack each B micro-panel right before its use, so it goes
                    // from B straight into cache instead of through an L3-sized packed block
                    long paOff = whole != null ? (long) mp * pc + (long) i0 * kc : 0;
                    if (whole == null) {
                        packA(transA, a, aOff, lda, i0, pc, i1 - i0, kc, pa, 0);
                    }
                    for (int jr = 0; jr < nc; jr += FUSED_COLS) {
                        int nr = Math.min(FUSED_COLS, nc - jr);
                        packB(transB, b, bOff, ldb, pc, jc + jr, kc, nr, pb, 0);
                        macro(i1 - i0, nr, kc, alpha, pa, paOff, pb, 0, betaBlock, c,
                                cOff + (long) i0 * ldc + jc + jr, ldc, s.tile);
                    }
                    continue;
                }
                packB(transB, b, bOff, ldb, pc, jc, kc, nc, pb, 0);
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    long paOff = whole != null ? (long) mp * pc + (long) ic * kc : 0;
                    if (whole == null) {
                        packA(transA, a, aOff, lda, ic, pc, mc, kc, pa, 0);
                    }
                    macro(mc, nc, kc, alpha, pa, paOff, pb, 0, betaBlock, c, cOff + (long) ic * ldc + jc, ldc,
                            s.tile);
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ packing

    /**
     * Packs the {@code mc x kc} block of op(A) at (row0, col0) into {@code dst} at element {@code dstOff}, in the
     * packed-A layout of the class comment (row-major micro-panels of MR rows, missing rows zero).
     */
    public static void packA(boolean transA, MemorySegment a, long aOff, int lda, int row0, int col0, int mc, int kc,
                             MemorySegment dst, long dstOff) {
        for (int i = 0; i < roundUp(mc, MR); i++) {
            long d = dstOff + (long) i * kc;
            if (i >= mc) {
                FloatOps.fill(kc, 0f, dst, d);
            } else if (transA) {
                // op(A)(i, p) = A[col0 + p][row0 + i]: column row0 + i of A, stride lda
                gather(kc, a, (aOff + (long) col0 * lda + row0 + i) * 4, 4L * lda, dst, d * 4);
            } else {
                // op(A)(i, p) = A[row0 + i][col0 + p]: kc contiguous floats
                MemorySegment.copy(a, (aOff + (long) (row0 + i) * lda + col0) * 4, dst, d * 4, 4L * kc);
            }
        }
    }

    /**
     * Packs the {@code kc x nc} block of op(B) at (row0, col0) into {@code dst} at element {@code dstOff}, in the
     * packed-B layout of the class comment (k-major micro-panels of NR columns, missing columns zero).
     */
    public static void packB(boolean transB, MemorySegment b, long bOff, int ldb, int row0, int col0, int kc, int nc,
                             MemorySegment dst, long dstOff) {
        long db = dstOff * 4;
        if (!transB) {
            // rows of B are contiguous: walk them in order (long sequential reads the prefetcher follows) and
            // deal each row's NR-wide pieces out to the panels
            int full = nc / NR;
            long src = (bOff + (long) row0 * ldb + col0) * 4;
            packRowsWide(kc, full, b, src, 4L * ldb, dst, db, (long) kc * NR * 4);
            if (nc % NR != 0) {
                copyRowsPartial(kc, nc % NR, b, src + (long) full * NR * 4, 4L * ldb, dst,
                        db + (long) full * NR * kc * 4);
            }
            return;
        }
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            long panel = db + (long) jr * kc * 4;
            // op(B)(p, j) = B[j][p]: column j of the panel is row (col0 + jr + j) of B
            for (int j = 0; j < NR; j++) {
                long d = panel + 4L * j;
                if (j >= nr) {
                    scatterZero(kc, dst, d, 4L * NR);
                } else {
                    scatter(kc, b, (bOff + (long) (col0 + jr + j) * ldb + row0) * 4, dst, d, 4L * NR);
                }
            }
        }
    }

    private static void gather(int n, MemorySegment src, long sb, long strideBytes, MemorySegment dst, long db) {
        for (int p = 0; p < n; p++) {
            dst.set(FLOAT, db + 4L * p, src.get(FLOAT, sb + strideBytes * p));
        }
    }

    private static void scatter(int n, MemorySegment src, long sb, MemorySegment dst, long db, long strideBytes) {
        for (int p = 0; p < n; p++) {
            dst.set(FLOAT, db + strideBytes * p, src.get(FLOAT, sb + 4L * p));
        }
    }

    private static void scatterZero(int n, MemorySegment dst, long db, long strideBytes) {
        for (int p = 0; p < n; p++) {
            dst.set(FLOAT, db + strideBytes * p, 0f);
        }
    }

    /** kc rows of {@code panels * NR} floats from a strided source, row p's piece q to panel q's row p. */
    private static void packRowsWide(int kc, int panels, MemorySegment src, long sb, long ldBytes, MemorySegment dst,
                                     long db, long panelBytes) {
        for (int p = 0; p < kc; p++) {
            long s = sb + ldBytes * p, d = db + (long) p * (NR * 4);
            for (int q = 0; q < panels; q++) {
                long sq = s + (long) q * (NR * 4), dq = d + q * panelBytes;
                FloatVector.fromMemorySegment(S, src, sq, ORDER).intoMemorySegment(dst, dq, ORDER);
                FloatVector.fromMemorySegment(S, src, sq + 4L * L, ORDER).intoMemorySegment(dst, dq + 4L * L, ORDER);
            }
        }
    }

    /** kc rows of nr < NR floats, zero-padded to NR. */
    private static void copyRowsPartial(int kc, int nr, MemorySegment src, long sb, long ldBytes, MemorySegment dst,
                                        long db) {
        for (int p = 0; p < kc; p++) {
            long s = sb + ldBytes * p, d = db + (long) p * (NR * 4);
            for (int j = 0; j < NR; j++) {
                dst.set(FLOAT, d + 4L * j, j < nr ? src.get(FLOAT, s + 4L * j) : 0f);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ kernels

    /**
     * Macro-kernel on packed panels: {@code C[mc x nc] = alpha * Apacked * Bpacked + beta * C}, single-threaded.
     * {@code pa} holds a packed-A block of {@code mc x kc} at element {@code paOff}, {@code pb} a packed-B block of
     * {@code kc x nc} at {@code pbOff} (layouts in the class comment). {@code beta == 0} does not read C.
     */
    public static void multiplyPacked(int mc, int nc, int kc, float alpha, MemorySegment pa, long paOff,
                                      MemorySegment pb, long pbOff, float beta, MemorySegment c, long cOff,
                                      int ldc) {
        Checks.checkCount("mc", mc);
        Checks.checkCount("nc", nc);
        Checks.checkCount("kc", kc);
        Checks.checkRange("pa (packed A)", pa, paOff, mc == 0 ? 0 : packedASize(mc, kc), 4);
        Checks.checkRange("pb (packed B)", pb, pbOff, nc == 0 ? 0 : packedBSize(kc, nc), 4);
        Checks.checkMatrix("c (mc x nc)", c, cOff, mc, nc, ldc, 4);
        if (mc == 0 || nc == 0) {
            return;
        }
        macro(mc, nc, kc, alpha, pa, paOff, pb, pbOff, beta, c, cOff, ldc, SCRATCH.get().tile);
    }

    /**
     * {@link #multiplyPacked} with the packed-B block in a heap array ({@code pb[pbOff ..]}, same layout), for
     * callers that fill B panels with {@code FloatVector.intoArray} (decoders of quantized weights) and would
     * otherwise copy them into a native segment. Every element is computed by the same operations as in
     * {@link #multiplyPacked}, so the results are bit-identical. B is read with {@code fromArray}: a heap segment
     * passed to the segment kernel would make C2 compile every packed GEMM's loads for two segment kinds.
     */
    public static void multiplyPacked(int mc, int nc, int kc, float alpha, MemorySegment pa, long paOff, float[] pb,
                                      int pbOff, float beta, MemorySegment c, long cOff, int ldc) {
        Checks.checkCount("mc", mc);
        Checks.checkCount("nc", nc);
        Checks.checkCount("kc", kc);
        Checks.checkRange("pa (packed A)", pa, paOff, mc == 0 ? 0 : packedASize(mc, kc), 4);
        long need = nc == 0 ? 0 : packedBSize(kc, nc);
        if (pbOff < 0 || pbOff + need > pb.length) {
            throw new IndexOutOfBoundsException("pb (packed B): " + need + " floats from " + pbOff
                    + " do not fit in an array of " + pb.length);
        }
        Checks.checkMatrix("c (mc x nc)", c, cOff, mc, nc, ldc, 4);
        if (mc == 0 || nc == 0) {
            return;
        }
        MemorySegment tile = SCRATCH.get().tile;
        long ldcBytes = 4L * ldc;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int bb = pbOff + jr * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                long cb = (cOff + (long) ir * ldc + jr) * 4;
                kernel(kc, pa, (paOff + (long) ir * kc) * 4, pb, bb, tile);
                if (mr == MR && nr == NR) {
                    mergeFull(tile, alpha, beta, c, cb, ldcBytes);
                } else {
                    mergeTile(tile, mr, nr, alpha, beta, c, cb, ldcBytes);
                }
            }
        }
    }

    private static void macro(int mc, int nc, int kc, float alpha, MemorySegment pa, long paOff, MemorySegment pb,
                              long pbOff, float beta, MemorySegment c, long cOff, int ldc, MemorySegment tile) {
        long ldcBytes = 4L * ldc;
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            long bb = (pbOff + (long) jr * kc) * 4;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir);
                long ab = (paOff + (long) ir * kc) * 4;
                long cb = (cOff + (long) ir * ldc + jr) * 4;
                kernel(kc, pa, ab, pb, bb, tile);
                if (mr == MR && nr == NR) {
                    mergeFull(tile, alpha, beta, c, cb, ldcBytes);
                } else {
                    mergeTile(tile, mr, nr, alpha, beta, c, cb, ldcBytes);
                }
            }
        }
    }

    /** Full tiles: C = alpha * tile + beta * C (one fused multiply-add per vector when C is read). */
    private static void mergeFull(MemorySegment tile, float alpha, float beta, MemorySegment c, long cb,
                                  long ldcBytes) {
        FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
        boolean readC = beta != 0;
        for (int i = 0; i < MR; i++) {
            long row = cb + i * ldcBytes;
            for (int j = 0; j < NR; j += L) {
                FloatVector r = FloatVector.fromMemorySegment(S, tile, 4L * (i * NR + j), ORDER).mul(va);
                if (readC) {
                    r = FloatVector.fromMemorySegment(S, c, row + 4L * j, ORDER).fma(vb, r);
                }
                r.intoMemorySegment(c, row + 4L * j, ORDER);
            }
        }
    }

    /**
     * Edge tiles: the valid mr x nr corner of {@link #mergeFull}, with masked vector accesses and exactly its
     * operations.
     */
    private static void mergeTile(MemorySegment tile, int mr, int nr, float alpha, float beta, MemorySegment c,
                                  long cb, long ldcBytes) {
        FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
        boolean readC = beta != 0;
        for (int i = 0; i < mr; i++) {
            long row = cb + i * ldcBytes;
            for (int j = 0; j < nr; j += L) {
                VectorMask<Float> m = S.indexInRange(j, nr);
                FloatVector r = FloatVector.fromMemorySegment(S, tile, 4L * (i * NR + j), ORDER).mul(va);
                if (readC) {
                    r = FloatVector.fromMemorySegment(S, c, row + 4L * j, ORDER, m).fma(vb, r);
                }
                r.intoMemorySegment(c, row + 4L * j, ORDER, m);
            }
        }
    }

    /**
     * The MR x NR micro-kernel: 12 accumulators (MR rows x 2 vectors) live in registers for the whole k loop, then
     * go to {@code tile} (MR x NR row-major, per-thread scratch) for {@link #mergeFull} or {@link #mergeTile}. A is
     * a row-major micro-panel (row i at ab + i*kc*4, step p at + p*4), B a k-major one (step p at bb + p*NR*4).
     *
     * <p>The shape of this method is measured, not style (C2 in JDK 25, one Zen 3 core, L2-resident panels; GFLOP/s
     * at kc = 96 / 384 / 1024):
     * <ul>
     *   <li>The loop walks the two byte offsets themselves ({@code ao += 4}), and the six rows of A are loop-invariant
     *   distances from it; the 6 scalar loads of A then need no bounds check in the loop. Offsets computed from an int
     *   counter kept a check per A load and ran 70 / 77 / 79 (k-major A) or at half speed (row-major A, six row
     *   pointers).</li>
     *   <li>Row-major A panels, read as six streams, beat k-major ones (step p at ab + p*MR*4, one stream) with the
     *   same loop (Zen 5, one thread, alternating JVMs, MiniLM's pre-packed weights from L3: M = 384, K = 384, N = 384
     *   149 -> 170 GFLOP/s, N = 1152 161 -> 180, K = 1536, N = 384 146 -> 183; M = 12, N = 1536 133 -> 174; a probe
     *   with both kernels in one class gave the same), and packing A is a bulk copy per row (0.22-0.25 -> 0.08-0.11 ns
     *   per float).</li>
     *   <li>Only Vector API calls (always inlined) take a vector. Storing through a small helper method, as before,
     *   passed C2's NodeCountInliningCutoff: 7 of the 12 calls were not inlined and boxed their vector arguments,
     *   ~100 ns and ~700 bytes per tile (19.6 MB per 128-token MiniLM forward); 62 / 85 / 92 then, 82 / 94 / 97
     *   now.</li>
     *   <li>Unrolling the k loop by hand made C2 box accumulators (6x slower): keep the body as it is.</li>
     * </ul>
     */
    private static void kernel(int kc, MemorySegment pa, long ab, MemorySegment pb, long bb, MemorySegment tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        long r1 = 4L * kc, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1, aEnd = ab + r1;
        for (long ao = ab, bo = bb; ao < aEnd; ao += 4, bo += NR * 4) {
            FloatVector b0 = FloatVector.fromMemorySegment(S, pb, bo, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(S, pb, bo + 4L * L, ORDER);
            FloatVector x = FloatVector.broadcast(S, pa.get(FLOAT, ao));
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r1));
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r2));
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r3));
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r4));
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r5));
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        long row = 4L * NR, hi = 4L * L;
        c00.intoMemorySegment(tile, 0, ORDER);
        c01.intoMemorySegment(tile, hi, ORDER);
        c10.intoMemorySegment(tile, row, ORDER);
        c11.intoMemorySegment(tile, row + hi, ORDER);
        c20.intoMemorySegment(tile, 2 * row, ORDER);
        c21.intoMemorySegment(tile, 2 * row + hi, ORDER);
        c30.intoMemorySegment(tile, 3 * row, ORDER);
        c31.intoMemorySegment(tile, 3 * row + hi, ORDER);
        c40.intoMemorySegment(tile, 4 * row, ORDER);
        c41.intoMemorySegment(tile, 4 * row + hi, ORDER);
        c50.intoMemorySegment(tile, 5 * row, ORDER);
        c51.intoMemorySegment(tile, 5 * row + hi, ORDER);
    }

    /**
     * {@link #kernel} with B in a heap array (step p at {@code pb[bb + p * NR]}): the same loop and operations; only
     * the B loads differ ({@code fromArray}).
     */
    private static void kernel(int kc, MemorySegment pa, long ab, float[] pb, int bb, MemorySegment tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        long r1 = 4L * kc, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1, aEnd = ab + r1;
        int bo = bb;
        for (long ao = ab; ao < aEnd; ao += 4, bo += NR) {
            FloatVector b0 = FloatVector.fromArray(S, pb, bo);
            FloatVector b1 = FloatVector.fromArray(S, pb, bo + L);
            FloatVector x = FloatVector.broadcast(S, pa.get(FLOAT, ao));
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r1));
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r2));
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r3));
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r4));
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa.get(FLOAT, ao + r5));
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        long row = 4L * NR, hi = 4L * L;
        c00.intoMemorySegment(tile, 0, ORDER);
        c01.intoMemorySegment(tile, hi, ORDER);
        c10.intoMemorySegment(tile, row, ORDER);
        c11.intoMemorySegment(tile, row + hi, ORDER);
        c20.intoMemorySegment(tile, 2 * row, ORDER);
        c21.intoMemorySegment(tile, 2 * row + hi, ORDER);
        c30.intoMemorySegment(tile, 3 * row, ORDER);
        c31.intoMemorySegment(tile, 3 * row + hi, ORDER);
        c40.intoMemorySegment(tile, 4 * row, ORDER);
        c41.intoMemorySegment(tile, 4 * row + hi, ORDER);
        c50.intoMemorySegment(tile, 5 * row, ORDER);
        c51.intoMemorySegment(tile, 5 * row + hi, ORDER);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }

    // ------------------------------------------------------------------------------------------------ GEMV

    /** Matrix-vector paths: bandwidth-bound, the matrix is streamed once, parallel over output rows or columns. */
    static final class Gemv {
        private Gemv() {
        }

        /** Copies a strided vector into contiguous per-thread scratch (or returns the source when stride is 1). */
        private static final ThreadLocal<MemorySegment[]> VEC = ThreadLocal.withInitial(() ->
                new MemorySegment[]{MemorySegment.NULL});

        private static MemorySegment vec(long floats) {
            MemorySegment[] h = VEC.get();
            if (h[0].byteSize() < floats * 4) {
                h[0] = Arena.ofAuto().allocate(floats * 4, 64);
            }
            return h[0];
        }

        /**
         * {@code y[r*yInc] = alpha * dot(W[r, 0..k), x) + beta * y[r*yInc]} for r in [0, rows): W row-major with
         * leading dimension ldw, x strided by xInc.
         */
        static void dotRows(int rows, int k, float alpha, MemorySegment w, long wOff, int ldw, MemorySegment x,
                            long xOff, long xInc, float beta, MemorySegment y, long yOff, long yInc) {
            MemorySegment xs;
            long xb;
            if (xInc == 1) {
                xs = x;
                xb = xOff * 4;
            } else {
                xs = vec(k);
                gather(k, x, xOff * 4, 4 * xInc, xs, 0);
                xb = 0;
            }
            int grain = Math.max(4, ceilDiv(1 << 16, k));
            Parallel.forRange(0, rows, grain, (lo, hi) -> {
                int r = lo;
                for (; r + 4 <= hi; r += 4) {
                    dot4(k, alpha, w, (wOff + (long) r * ldw) * 4, 4L * ldw, xs, xb, beta, y,
                            (yOff + r * yInc) * 4, 4 * yInc);
                }
                for (; r < hi; r++) {
                    long yo = (yOff + r * yInc) * 4;
                    float d = alpha * dot1(k, w, (wOff + (long) r * ldw) * 4, xs, xb);
                    y.set(FLOAT, yo, beta == 0 ? d : Math.fma(y.get(FLOAT, yo), beta, d));
                }
            });
        }

        /** One row, with exactly the per-row operation sequence of {@link #dot4} (thread-count independent). */
        private static float dot1(int k, MemorySegment w, long wb, MemorySegment x, long xb) {
            FloatVector s0 = FloatVector.zero(S);
            int upper = S.loopBound(k);
            int p = 0;
            for (; p < upper; p += L) {
                long o = 4L * p;
                s0 = FloatVector.fromMemorySegment(S, w, wb + o, ORDER)
                        .fma(FloatVector.fromMemorySegment(S, x, xb + o, ORDER), s0);
            }
            float s = Simd.sumLanes(s0);
            for (; p < k; p++) {
                s = Math.fma(w.get(FLOAT, wb + 4L * p), x.get(FLOAT, xb + 4L * p), s);
            }
            return s;
        }

        /** Four rows at once: x is loaded once per four rows, four independent FMA chains. */
        private static void dot4(int k, float alpha, MemorySegment w, long wb, long ldwb, MemorySegment x, long xb,
                                 float beta, MemorySegment y, long yb, long yIncB) {
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            long w1 = wb + ldwb, w2 = w1 + ldwb, w3 = w2 + ldwb;
            int upper = S.loopBound(k);
            int p = 0;
            for (; p < upper; p += L) {
                long o = 4L * p;
                FloatVector xv = FloatVector.fromMemorySegment(S, x, xb + o, ORDER);
                s0 = FloatVector.fromMemorySegment(S, w, wb + o, ORDER).fma(xv, s0);
                s1 = FloatVector.fromMemorySegment(S, w, w1 + o, ORDER).fma(xv, s1);
                s2 = FloatVector.fromMemorySegment(S, w, w2 + o, ORDER).fma(xv, s2);
                s3 = FloatVector.fromMemorySegment(S, w, w3 + o, ORDER).fma(xv, s3);
            }
            float d0 = Simd.sumLanes(s0), d1 = Simd.sumLanes(s1), d2 = Simd.sumLanes(s2), d3 = Simd.sumLanes(s3);
            for (; p < k; p++) {
                long o = 4L * p;
                float xv = x.get(FLOAT, xb + o);
                d0 = Math.fma(w.get(FLOAT, wb + o), xv, d0);
                d1 = Math.fma(w.get(FLOAT, w1 + o), xv, d1);
                d2 = Math.fma(w.get(FLOAT, w2 + o), xv, d2);
                d3 = Math.fma(w.get(FLOAT, w3 + o), xv, d3);
            }
            put(y, yb, alpha * d0, beta);
            put(y, yb + yIncB, alpha * d1, beta);
            put(y, yb + 2 * yIncB, alpha * d2, beta);
            put(y, yb + 3 * yIncB, alpha * d3, beta);
        }

        private static void put(MemorySegment y, long yb, float v, float beta) {
            y.set(FLOAT, yb, beta == 0 ? v : Math.fma(y.get(FLOAT, yb), beta, v));
        }

        /**
         * {@code y[j*yInc] = alpha * sum_p x[p] * W[p, j] + beta * y[j*yInc]} for j in [0, cols): W is k x cols
         * row-major (leading dimension ldw), streamed row by row into an L1-resident accumulator strip.
         */
        static void axpyRows(int k, int cols, float alpha, MemorySegment w, long wOff, int ldw, MemorySegment x,
                             long xOff, long xInc, float beta, MemorySegment y, long yOff, long yInc) {
            MemorySegment xs;
            long xb;
            if (xInc == 1) {
                xs = x;
                xb = xOff * 4;
            } else {
                xs = vec(k);
                gather(k, x, xOff * 4, 4 * xInc, xs, 0);
                xb = 0;
            }
            // chunks are whole vectors of columns, so every column is summed the same way on any thread count
            int units = ceilDiv(cols, L);
            int grain = Math.max(1, ceilDiv(1 << 16, k * L));
            Parallel.forRange(0, units, grain, (lo, hi) -> {
                Scratch s = SCRATCH.get();
                MemorySegment acc = s.b = Scratch.grow(s.b, STRIP);
                int j1 = Math.min(cols, hi * L);
                for (int js = lo * L; js < j1; js += STRIP) {
                    int width = Math.min(STRIP, j1 - js);
                    axpyStrip(k, width, w, (wOff + js) * 4, 4L * ldw, xs, xb, acc);
                    for (int j = 0; j < width; j++) {
                        put(y, (yOff + (js + j) * yInc) * 4, alpha * acc.get(FLOAT, 4L * j), beta);
                    }
                }
            });
        }

        /** Accumulator strip width in floats (16 KiB, stays in L1 while W streams through; 2048 was 15% slower). */
        private static final int STRIP = 4096;

        /** acc[0..width) = sum_p x[p] * W[p, 0..width), one FMA chain per column in p order. */
        private static void axpyStrip(int k, int width, MemorySegment w, long wb, long ldwb, MemorySegment x,
                                      long xb, MemorySegment acc) {
            FloatOps.fill(width, 0f, acc, 0);
            int p = 0;
            for (; p + 8 <= k; p += 8) {
                axpy8(width, w, wb + ldwb * p, ldwb, x, xb + 4L * p, acc);
            }
            for (; p < k; p++) {
                float xv = x.get(FLOAT, xb + 4L * p);
                FloatOps.axpy(width, xv, w, (wb + ldwb * p) / 4, acc, 0);
            }
        }

        /**
         * acc[j] += sum of eight rows x[q] * W[q, j], as two independent four-FMA chains added to acc (short
         * dependency chains, and acc is loaded and stored once per eight rows of W).
         */
        private static void axpy8(int width, MemorySegment w, long r0, long ldwb, MemorySegment x, long xb,
                                  MemorySegment acc) {
            float y0 = x.get(FLOAT, xb), y1 = x.get(FLOAT, xb + 4), y2 = x.get(FLOAT, xb + 8);
            float y3 = x.get(FLOAT, xb + 12), y4 = x.get(FLOAT, xb + 16), y5 = x.get(FLOAT, xb + 20);
            float y6 = x.get(FLOAT, xb + 24), y7 = x.get(FLOAT, xb + 28);
            FloatVector x0 = FloatVector.broadcast(S, y0), x1 = FloatVector.broadcast(S, y1);
            FloatVector x2 = FloatVector.broadcast(S, y2), x3 = FloatVector.broadcast(S, y3);
            FloatVector x4 = FloatVector.broadcast(S, y4), x5 = FloatVector.broadcast(S, y5);
            FloatVector x6 = FloatVector.broadcast(S, y6), x7 = FloatVector.broadcast(S, y7);
            long r1 = r0 + ldwb, r2 = r1 + ldwb, r3 = r2 + ldwb, r4 = r3 + ldwb, r5 = r4 + ldwb, r6 = r5 + ldwb;
            long r7 = r6 + ldwb;
            int upper = S.loopBound(width);
            int j = 0;
            for (; j < upper; j += L) {
                long o = 4L * j;
                FloatVector u = FloatVector.fromMemorySegment(S, w, r0 + o, ORDER).mul(x0);
                FloatVector v = FloatVector.fromMemorySegment(S, w, r4 + o, ORDER).mul(x4);
                u = FloatVector.fromMemorySegment(S, w, r1 + o, ORDER).fma(x1, u);
                v = FloatVector.fromMemorySegment(S, w, r5 + o, ORDER).fma(x5, v);
                u = FloatVector.fromMemorySegment(S, w, r2 + o, ORDER).fma(x2, u);
                v = FloatVector.fromMemorySegment(S, w, r6 + o, ORDER).fma(x6, v);
                u = FloatVector.fromMemorySegment(S, w, r3 + o, ORDER).fma(x3, u);
                v = FloatVector.fromMemorySegment(S, w, r7 + o, ORDER).fma(x7, v);
                FloatVector.fromMemorySegment(S, acc, o, ORDER).add(u).add(v).intoMemorySegment(acc, o, ORDER);
            }
            for (; j < width; j++) {
                long o = 4L * j;
                float u = w.get(FLOAT, r0 + o) * y0, v = w.get(FLOAT, r4 + o) * y4;
                u = Math.fma(w.get(FLOAT, r1 + o), y1, u);
                v = Math.fma(w.get(FLOAT, r5 + o), y5, v);
                u = Math.fma(w.get(FLOAT, r2 + o), y2, u);
                v = Math.fma(w.get(FLOAT, r6 + o), y6, v);
                u = Math.fma(w.get(FLOAT, r3 + o), y3, u);
                v = Math.fma(w.get(FLOAT, r7 + o), y7, v);
                acc.set(FLOAT, o, acc.get(FLOAT, o) + u + v);
            }
        }
    }
}
