package org.nibble.models.bert;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.engine.Scope;
import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A constant FP32 weight matrix B [k, n] packed once, at load time, into {@link GemmF32}'s packed-B panels, so a
 * forward pass only packs its activations: with a dozen tokens per sentence the activations are small and packing
 * B on every call would cost as much as the multiply.
 *
 * <p>Layout: k is cut into {@code ceil(k / KC)} nearly equal blocks; block {@code b} of depth {@code kc_b} holds the
 * packed-B panels of rows {@code pc_b .. pc_b + kc_b - 1} and all n columns ({@code n <= GemmF32.NC}), at element
 * {@code blockOff[b]}; the panel of columns {@code j .. j + NR - 1} (j a multiple of NR) starts {@code j * kc_b}
 * elements into its block.
 */
final class PackedWeights {
    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    private static final java.nio.ByteOrder ORDER = Simd.ORDER;

    private final int k;
    private final int n;
    private final int kc;
    private final MemorySegment packed;
    private final long[] blockOff;

    PackedWeights(Scope scope, MemorySegment b, int k, int n) {
        this(k, n, null, scope);
        for (int bl = 0; bl + 1 < blockOff.length; bl++) {
            int depth = Math.min(kc, k - bl * kc);
            GemmF32.packB(false, b, 0, n, bl * kc, 0, depth, n, packed, blockOff[bl]);
        }
    }

    /**
     * An empty packed layout for [k, n] over {@code buffer} (at least {@link #floats(int, int)} floats), or over a
     * new allocation in {@code scope} when {@code buffer} is null; fill it with {@link #offset(int, int)}.
     */
    PackedWeights(int k, int n, MemorySegment buffer, Scope scope) {
        if (n > GemmF32.NC) {
            throw new IllegalArgumentException("n: expected <= " + GemmF32.NC + ", got " + n);
        }
        this.k = k;
        this.n = n;
        int blocks = Math.max(1, (k + GemmF32.KC - 1) / GemmF32.KC);
        this.kc = (k + blocks - 1) / blocks;
        blockOff = new long[blocks + 1];
        for (int bl = 0; bl < blocks; bl++) {
            int depth = Math.min(kc, k - bl * kc);
            blockOff[bl + 1] = blockOff[bl] + GemmF32.packedBSize(depth, n);
        }
        packed = buffer != null ? buffer : scope.allocate(4L * blockOff[blocks]);
    }

    /** Floats of the packed layout of [k, n]. */
    static long floats(int k, int n) {
        return new PackedWeights(k, n, MemorySegment.NULL, null).blockOff[(k + GemmF32.KC - 1) / GemmF32.KC];
    }

    /** Element offset of B[row][col] in the packed layout (see the class comment). */
    long offset(int row, int col) {
        int bl = row / kc, p = row - bl * kc, depth = Math.min(kc, k - bl * kc);
        int panel = col / GemmF32.NR;
        return blockOff[bl] + (long) panel * GemmF32.NR * depth + (long) p * GemmF32.NR + (col - panel * GemmF32.NR);
    }

    /**
     * Writes columns {@code col0 .. col0 + cols - 1} of B from {@code values}, k-major with {@code width} values per
     * row of B ({@code values[row * width + j]} is B[row][col0 + j], as
     * {@link org.nibble.kernels.quant.QuantPanels}' decode writes them with row stride {@code width}). When the
     * columns are one whole GEMM panel ({@code width == NR}, col0 a multiple of NR) each K block is one bulk copy;
     * otherwise element by element (only with 128-bit vectors, where NR = 8 is narrower than a 16-column decoded
     * panel).
     */
    void setPanel(int col0, int cols, float[] values, int width) {
        int nr = GemmF32.NR;
        if (width == nr && col0 % nr == 0) {
            for (int bl = 0; bl + 1 < blockOff.length; bl++) {
                int row0 = bl * kc, depth = Math.min(kc, k - row0);
                MemorySegment.copy(values, row0 * nr, packed, BertMath.F, 4L * offset(row0, col0), depth * nr);
            }
            return;
        }
        for (int j = 0; j < cols; j++) {
            int col = col0 + j, panel = col / nr, jj = col - panel * nr;
            for (int bl = 0; bl + 1 < blockOff.length; bl++) {
                int row0 = bl * kc, depth = Math.min(kc, k - row0);
                long base = 4L * (blockOff[bl] + (long) panel * nr * depth + jj);
                for (int p = 0; p < depth; p++) {
                    packed.set(BertMath.F, base + 4L * nr * p, values[(row0 + p) * width + j]);
                }
            }
        }
    }

    /** The packed buffer. */
    MemorySegment buffer() {
        return packed;
    }

    long bytes() {
        return packed.byteSize();
    }

    /** Per-thread scratch: the packed A block of a task, and all of A packed for a column split (caller's). */
    private static final class Scratch {
        MemorySegment pa = MemorySegment.NULL;
        MemorySegment whole = MemorySegment.NULL;
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Column panels per chunk when a row block ends in a 2-row tail: those of one {@link #twoRows} call. Chunking
     * itself (2 panels for either tail, before {@link #oneRow} existed) took MiniLM on one thread from 5.6 to 5.2 ms
     * at 13 tokens and from 37.6 to 37.0 ms at 128; 4 or 8 panels per chunk gained less. A 1-row tail takes the four
     * panels of one {@link #oneRow} call.
     */
    static final int TWO_ROW_PANELS = 2;
    /** Column panels per {@link #oneRow} call: 8 accumulators, 8 independent FMA chains. */
    static final int ONE_ROW_PANELS = 4;

    private static MemorySegment grow(MemorySegment s, long floats) {
        return s.byteSize() >= floats * 4 ? s : Arena.ofAuto().allocate(floats * 4, 64);
    }


    /**
     * Columns per thread below which the threads split rows, not columns, once there are {@link #MIN_SPLIT_ROWS}
     * rows per thread. In a column split both threads read all of the packed A, written half by each; in a row split
     * each packs its own rows but reads all of B. MiniLM F32 forward on 2 threads against ORT in the same JVM, medians
     * of 5 rounds, 3 JVMs each: at 384 rows (32 x 12 tokens) the row split for N = 384 took the ratio from 1.09-1.13
     * to 1.06-1.08, at 128 tokens from 1.01-1.07 to 0.94-1.00. Alone (L3-resident weights), N = 384 at M = 128 .. 384
     * went 12-22% faster, N = 1152 equal, N = 1536 0-7% slower.
     */
    static final int MIN_SPLIT_COLUMNS = 512;
    /**
     * Rows per thread below which the column split stays: fewer rows make the GEMM bound by reading B, which a row
     * split reads once per thread. Same measurement: the row split lost 5% at 41 tokens and 2% at 64.
     */
    static final int MIN_SPLIT_ROWS = 64;

    /**
     * {@code C[m, n] = A[m, k] · B + C} (C holds the bias rows on entry), A and C contiguous.
     *
     * <p>Work split: with fewer than two row blocks ({@link GemmF32#MC} rows) per thread, and either fewer than
     * {@link #MIN_SPLIT_ROWS} rows or at least {@link #MIN_SPLIT_COLUMNS} columns per thread, each thread takes a
     * contiguous range of NR-column panels and all rows, with A packed once before, its MR-row panels split over the
     * threads ({@link #wholeA}), rather than by every column task. Otherwise each thread takes a contiguous range of
     * MR-row panels and all columns, packing each row block of its rows once per K block and then running the
     * macro-kernel over all columns (packing A once per 128-column piece, as before, cost 30% at M = 128).
     * Every element of C is computed by the same operations whatever the split (rows are cut at MR multiples, so
     * every row sits in the same tile position, the last partial panel included), so results do not depend on the
     * thread count.
     */
    void multiplyAdd(int m, MemorySegment a, MemorySegment c) {
        if (m <= 0) {
            return;
        }
        int rowBlocks = (m + GemmF32.MC - 1) / GemmF32.MC;
        int threads = Parallel.threads();
        if (threads == 1) {
            rows(a, c, 0, m, 0, n);
        } else if (rowBlocks < 2 * threads && (n >= MIN_SPLIT_COLUMNS * threads || m < MIN_SPLIT_ROWS * threads)) {
            // A is packed once, MR-row panels split over the threads, instead of by every column task
            MemorySegment pa = wholeA(m, a);
            int panels = (n + GemmF32.NR - 1) / GemmF32.NR;
            Parallel.forRange(0, panels, grain(m, GemmF32.NR, panels), (lo, hi) ->
                    rows(a, c, 0, m, lo * GemmF32.NR, Math.min(n, hi * GemmF32.NR), pa));
        } else {
            int panels = (m + GemmF32.MR - 1) / GemmF32.MR;
            Parallel.forRange(0, panels, grain(n, GemmF32.MR, panels), (lo, hi) ->
                    rows(a, c, lo * GemmF32.MR, Math.min(m, hi * GemmF32.MR), 0, n));
        }
    }

    /**
     * Panels per chunk for ~2 MFLOP per chunk at least (below that, waking a thread costs more than it saves):
     * panels of {@code width} rows or columns, each against {@code other} columns or rows and the k of this matrix.
     */
    private int grain(int other, int width, int panels) {
        return (int) Math.max(1, Math.min(panels, 2_000_000L / (2L * other * k * width)));
    }

    /** All m rows of A packed once ({@link GemmF32#packAllA}: K block {@code bl} at element {@code m' * bl * kc}). */
    private MemorySegment wholeA(int m, MemorySegment a) {
        Scratch s = SCRATCH.get();
        MemorySegment pa = s.whole = grow(s.whole, GemmF32.packedASize(m, k));
        GemmF32.packAllA(false, m, k, a, 0, k, pa, 0);
        return pa;
    }

    /** Rows [i0, i1) x columns [j0, j1) of C, single-threaded, packing A per row block; j0 a multiple of NR. */
    private void rows(MemorySegment a, MemorySegment c, int i0, int i1, int j0, int j1) {
        rows(a, c, i0, i1, j0, j1, null);
    }

    /**
     * Rows [i0, i1) x columns [j0, j1) of C, single-threaded; j0 a multiple of NR. A comes from {@code whole}
     * ({@link #wholeA}, i0 = 0, i1 = m) or, when that is null, is packed here per row block and K block.
     */
    private void rows(MemorySegment a, MemorySegment c, int i0, int i1, int j0, int j1, MemorySegment whole) {
        MemorySegment pa = whole;
        if (pa == null) {
            Scratch s = SCRATCH.get();
            pa = s.pa = grow(s.pa, GemmF32.packedASize(Math.min(GemmF32.MC, i1 - i0), kc));
        }
        int mp = GemmF32.MR * ((i1 + GemmF32.MR - 1) / GemmF32.MR);
        for (int ic = i0; ic < i1; ic += GemmF32.MC) {
            int mc = Math.min(GemmF32.MC, i1 - ic);
            for (int bl = 0; bl + 1 < blockOff.length; bl++) {
                int depth = Math.min(kc, k - bl * kc);
                long paOff = 0;
                if (whole == null) {
                    GemmF32.packA(false, a, 0, k, ic, bl * kc, mc, depth, pa, 0);
                } else {
                    paOff = (long) mp * bl * kc + (long) ic * depth;
                }
                long pb = blockOff[bl] + (long) j0 * depth;
                int tail = mc % GemmF32.MR;
                if (tail == 0 || tail > 2) {
                    GemmF32.multiplyPacked(mc, j1 - j0, depth, 1f, pa, paOff, packed, pb, 1f, c, (long) ic * n + j0,
                            n);
                    continue;
                }
                // the last MR panel holds 1 or 2 rows: the MR-row kernel would spend a full tile on it (4.5% of
                // the GEMM at M = 128); the 1- and 2-row kernels of tailRows do it in less. Full tiles and tail go
                // chunk by chunk of columns, so the tail reads B while the full tiles have just brought it to cache
                // (after all columns, the tail read the whole K block of B again from memory)
                int full = mc - tail, chunk = (tail == 1 ? ONE_ROW_PANELS : TWO_ROW_PANELS) * GemmF32.NR;
                for (int jc = j0; jc < j1; jc += chunk) {
                    int nc = Math.min(chunk, j1 - jc);
                    long pbc = pb + (long) (jc - j0) * depth;
                    if (full > 0) {
                        GemmF32.multiplyPacked(full, nc, depth, 1f, pa, paOff, packed, pbc, 1f, c,
                                (long) ic * n + jc, n);
                    }
                    tailRows(tail, nc, depth, pa, paOff + (long) full * depth, pbc, c, (long) (ic + full) * n + jc);
                }
            }
        }
    }

    /**
     * {@code C[rows, nc] += A[rows, depth] · B} for the last 1 or 2 rows of a row block: A is their packed panel
     * (MR rows, row-major, element offset {@code paOff}), B this layout's panels from element {@code pbOff}. One row:
     * groups of four NR panels run through {@link #oneRow}; then pairs through {@link #twoRows} (which for one row
     * spends half its FMAs on a row that is not stored); a last single panel through GemmF32.
     */
    private void tailRows(int rows, int nc, int depth, MemorySegment pa, long paOff, long pbOff, MemorySegment c,
                          long cOff) {
        int nr = GemmF32.NR, jr = 0;
        if (rows == 1) {
            for (; jr + ONE_ROW_PANELS * nr <= nc; jr += ONE_ROW_PANELS * nr) {
                oneRow(depth, pa, 4 * paOff, packed, 4 * (pbOff + (long) jr * depth), 4L * nr * depth, c,
                        4 * (cOff + jr));
            }
        }
        for (; jr + 2 * nr <= nc; jr += 2 * nr) {
            twoRows(depth, rows == 2, pa, 4 * paOff, packed, 4 * (pbOff + (long) jr * depth),
                    4 * (pbOff + (long) (jr + nr) * depth), c, 4 * (cOff + jr), 4L * n);
        }
        if (jr < nc) {
            GemmF32.multiplyPacked(rows, nc - jr, depth, 1f, pa, paOff, packed, pbOff + (long) jr * depth, 1f, c,
                    cOff + jr, n);
        }
    }

    /**
     * The 1-row micro-kernel: row 0 of a packed A panel (step p at {@code ab + p * 4}) times four consecutive
     * packed B panels (the first at {@code b0}, {@code ps} bytes apart, step p at {@code + p * NR * 4}), 8
     * accumulators (fewer chains would leave the FMA latency exposed), added to C. Each element is one FMA chain in
     * increasing p plus the add to C, as in GemmF32's kernel with alpha = beta = 1, so the results are bit-identical
     * to it.
     */
    private static void oneRow(int kc, MemorySegment pa, long ab, MemorySegment pb, long b0, long ps,
                               MemorySegment c, long cb) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
        long hi = 4L * L, aEnd = ab + 4L * kc;
        // the loop walks the byte offsets (no bounds check per load in the loop; see GemmF32's kernel)
        for (long ao = ab, bo = b0; ao < aEnd; ao += 4, bo += GemmF32.NR * 4) {
            FloatVector x = FloatVector.broadcast(S, pa.get(Simd.FLOAT, ao));
            c0 = x.fma(FloatVector.fromMemorySegment(S, pb, bo, ORDER), c0);
            c1 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + hi, ORDER), c1);
            c2 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + ps, ORDER), c2);
            c3 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + ps + hi, ORDER), c3);
            c4 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + 2 * ps, ORDER), c4);
            c5 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + 2 * ps + hi, ORDER), c5);
            c6 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + 3 * ps, ORDER), c6);
            c7 = x.fma(FloatVector.fromMemorySegment(S, pb, bo + 3 * ps + hi, ORDER), c7);
        }
        long w = 4L * GemmF32.NR;
        FloatVector.fromMemorySegment(S, c, cb, ORDER).add(c0).intoMemorySegment(c, cb, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + hi, ORDER).add(c1).intoMemorySegment(c, cb + hi, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + w, ORDER).add(c2).intoMemorySegment(c, cb + w, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + w + hi, ORDER).add(c3).intoMemorySegment(c, cb + w + hi, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + 2 * w, ORDER).add(c4).intoMemorySegment(c, cb + 2 * w, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + 2 * w + hi, ORDER).add(c5)
                .intoMemorySegment(c, cb + 2 * w + hi, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + 3 * w, ORDER).add(c6).intoMemorySegment(c, cb + 3 * w, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + 3 * w + hi, ORDER).add(c7)
                .intoMemorySegment(c, cb + 3 * w + hi, ORDER);
    }

    /**
     * The 2-row micro-kernel: rows 0 and 1 of a packed A panel (step p at {@code ab + p * 4}, row 1 {@code 4 * kc}
     * bytes after row 0) times two packed B panels (at {@code b0} and {@code b1}, step p at {@code + p * NR * 4}), 8
     * accumulators (2 rows x 4 vectors), added to C (row 1 only when {@code two}). Each element is one FMA chain in
     * increasing p plus the add to C, as in GemmF32's kernel with alpha = beta = 1, so the results are bit-identical
     * to it.
     */
    private static void twoRows(int kc, boolean two, MemorySegment pa, long ab, MemorySegment pb, long b0, long b1,
                                MemorySegment c, long cb, long ldcB) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        long hi = 4L * L, b1Off = b1 - b0, row1 = 4L * kc, aEnd = ab + row1;
        // the loop walks the byte offsets (no bounds check per load in the loop; see GemmF32's kernel)
        for (long ao = ab, bo = b0; ao < aEnd; ao += 4, bo += GemmF32.NR * 4) {
            FloatVector v0 = FloatVector.fromMemorySegment(S, pb, bo, ORDER);
            FloatVector v1 = FloatVector.fromMemorySegment(S, pb, bo + hi, ORDER);
            FloatVector v2 = FloatVector.fromMemorySegment(S, pb, bo + b1Off, ORDER);
            FloatVector v3 = FloatVector.fromMemorySegment(S, pb, bo + b1Off + hi, ORDER);
            FloatVector x = FloatVector.broadcast(S, pa.get(Simd.FLOAT, ao));
            c00 = x.fma(v0, c00);
            c01 = x.fma(v1, c01);
            c02 = x.fma(v2, c02);
            c03 = x.fma(v3, c03);
            x = FloatVector.broadcast(S, pa.get(Simd.FLOAT, ao + row1));
            c10 = x.fma(v0, c10);
            c11 = x.fma(v1, c11);
            c12 = x.fma(v2, c12);
            c13 = x.fma(v3, c13);
        }
        long w = 4L * GemmF32.NR;
        FloatVector.fromMemorySegment(S, c, cb, ORDER).add(c00).intoMemorySegment(c, cb, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + hi, ORDER).add(c01).intoMemorySegment(c, cb + hi, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + w, ORDER).add(c02).intoMemorySegment(c, cb + w, ORDER);
        FloatVector.fromMemorySegment(S, c, cb + w + hi, ORDER).add(c03).intoMemorySegment(c, cb + w + hi, ORDER);
        if (two) {
            cb += ldcB;
            FloatVector.fromMemorySegment(S, c, cb, ORDER).add(c10).intoMemorySegment(c, cb, ORDER);
            FloatVector.fromMemorySegment(S, c, cb + hi, ORDER).add(c11).intoMemorySegment(c, cb + hi, ORDER);
            FloatVector.fromMemorySegment(S, c, cb + w, ORDER).add(c12).intoMemorySegment(c, cb + w, ORDER);
            FloatVector.fromMemorySegment(S, c, cb + w + hi, ORDER).add(c13)
                    .intoMemorySegment(c, cb + w + hi, ORDER);
        }
    }
}
