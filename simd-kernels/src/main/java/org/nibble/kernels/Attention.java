package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Scaled dot-product attention of one head over one sequence, without mask:
 * {@code out = softmax(scale * Q K^T) V} with Q, K, V {@code [n, d]} and out {@code [n, d]}, each a strided row-major
 * view (offsets and leading dimensions in elements), so a head can be read straight out of a fused QKV activation
 * ({@code [tokens, 3 * hidden]}, head {@code h} at column {@code h * d}) and written into its columns of the context.
 * Vector API implementation; the twin with the same signature is {@link AttentionScalar} (double).
 *
 * <p>Single-threaded: the caller runs heads (and sequences) in parallel. Scratch (the transposed queries, the score
 * matrix) is per thread and reused. Algorithm, for the small head dimensions of encoders (d = 32 to 128): Q is
 * transposed once into {@code Qt [d, np]} ({@code np} = n rounded up to two vectors, padding columns left as they
 * are); the raw scores are computed transposed, {@code S^T = K Qt} (row j: key j against every query, queries along
 * the lanes), in register tiles of {@value #R} key rows by two vectors of queries, K broadcast straight from its rows
 * (no packing: the depth is only d), into a score scratch of n rounded up to R rows. The softmax then runs down the
 * key rows for L queries at once, lanewise (maximum, {@code exp(scale * s - max)}, sum, {@code 1 / sum}), with no
 * reduction across lanes: per query row, as before, three reductions and their latency took most of a short
 * sentence's call (12 heads x 12 tokens, one core: 18.4 -> 11.4 us; 41 tokens 82 -> 68; 128 tokens 457 -> 420,
 * throwaway loop, alternating JVMs). Lanes of queries past n hold whatever the scratch held; nothing reads them.
 * The output tiles of {@code P V} are R query rows by two vectors of V columns, P read down a column of the
 * transposed scores, V read in place when d is a multiple of two vectors, else from a zero-padded copy. P is left
 * unnormalized and each output row is multiplied by its {@code 1 / sum} instead (d multiplies per query, not n).
 * Tile rows past n repeat row n - 1.
 *
 * <p>Both tile kernels store all 8 accumulators unconditionally, with no branch after the loop (the value tile only
 * multiplies each row by its {@code 1 / sum}): score rows past n land in the scratch's padding rows, and output tiles
 * that are partial (rows past n, or fewer than W columns) go through a per-thread tile scratch. They are kept small for
 * C2 (LogCompilation, JDK 25): with 6-row tiles (12 accumulators, as GemmF32's micro-kernel) each parsed to 21-24
 * thousand IR nodes, past C2's NodeCountInliningCutoff (18000), and in some JVM runs one of their FMAs or stores stayed
 * a call that boxed its vectors (96-577 KB per MiniLM forward; per-row stores under {@code if (rows > r)}, as before,
 * made it likelier: recompiled after their first uncommon trap, the method grew). With 4-row tiles they parse to about
 * 14 thousand nodes; attention over 128 tokens (12 heads, d = 32) then took 5% longer (330 vs 315 us, one core,
 * throwaway timing loop), about 0.5% of a MiniLM forward.
 *
 * <p>Accuracy against the twin: each output within {@code 1e-5 * (max |v| + 1)} absolute (exp within a few ulp,
 * float sums over d and n). {@code out} must not overlap Q, K or V.
 */
public final class Attention {
    private Attention() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();
    /**
     * Rows per register tile (key rows of the scores, query rows of the output): R x 2 vectors = 8 accumulators (see
     * the class comment for why not 6 rows).
     */
    private static final int R = 4;
    /** Columns per register tile. */
    private static final int W = 2 * L;

    /** Per-thread scratch, grown on demand. */
    private static final class Scratch {
        MemorySegment qt = MemorySegment.NULL;
        MemorySegment scores = MemorySegment.NULL;
        MemorySegment v = MemorySegment.NULL;
        MemorySegment inv = MemorySegment.NULL;
        final MemorySegment tile = Arena.ofAuto().allocate(4L * R * W, 64);

        static MemorySegment grow(MemorySegment s, long floats) {
            return s.byteSize() >= floats * 4 ? s : Arena.ofAuto().allocate(Math.max(64, floats * 4), 64);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * {@code out[i, :] = sum_j softmax_j(scale * q_i . k_j) v_j} for {@code i < n}.
     *
     * @param n     sequence length (rows of Q, K, V and out)
     * @param d     head dimension (columns of Q, K, V and out)
     * @param scale factor of the dot products (usually {@code 1 / sqrt(d)})
     */
    public static void forward(int n, int d, float scale, MemorySegment q, long qOff, int ldq, MemorySegment k,
                               long kOff, int ldk, MemorySegment v, long vOff, int ldv, MemorySegment out, long oOff,
                               int ldo) {
        check(n, d, q, qOff, ldq, k, kOff, ldk, v, vOff, ldv, out, oOff, ldo);
        if (n == 0 || d == 0) {
            return;
        }
        int np = roundUp(n, W), dp = roundUp(d, W);
        Scratch s = SCRATCH.get();
        MemorySegment qt = s.qt = Scratch.grow(s.qt, (long) d * np);
        MemorySegment sc = s.scores = Scratch.grow(s.scores, (long) roundUp(n, R) * np);
        transpose(n, d, np, q, 4 * qOff, 4L * ldq, qt);
        long ldsB = 4L * np;
        // transposed scores: row j of sc holds key j's raw scores against all queries (queries along the lanes)
        for (int i = 0; i < np; i += W) {
            for (int j = 0; j < n; j += R) {
                scoreTile(d, n, j, k, 4 * kOff, 4L * ldk, qt, 4L * i, ldsB, sc, 4L * i, ldsB);
            }
        }
        MemorySegment inv = s.inv = Scratch.grow(s.inv, np);
        softmaxColumns(n, scale, sc, ldsB, inv);
        MemorySegment vs = v;
        long vb = 4 * vOff, ldvB = 4L * ldv;
        if (d != dp) {
            vs = s.v = Scratch.grow(s.v, (long) n * dp);
            padRows(n, d, dp, v, vb, ldvB, vs);
            vb = 0;
            ldvB = 4L * dp;
        }
        for (int c = 0; c < d; c += W) {
            int cols = Math.min(W, d - c);
            for (int i = 0; i < n; i += R) {
                valueTile(n, i, cols, sc, ldsB, inv, vs, vb + 4L * c, ldvB, out, 4 * (oOff + c), 4L * ldo, s.tile);
            }
        }
    }

    static void check(int n, int d, MemorySegment q, long qOff, int ldq, MemorySegment k, long kOff, int ldk,
                      MemorySegment v, long vOff, int ldv, MemorySegment out, long oOff, int ldo) {
        Checks.checkCount("n", n);
        Checks.checkCount("d", d);
        Checks.checkMatrix("q", q, qOff, n, d, ldq, 4);
        Checks.checkMatrix("k", k, kOff, n, d, ldk, 4);
        Checks.checkMatrix("v", v, vOff, n, d, ldv, 4);
        Checks.checkMatrix("out", out, oOff, n, d, ldo, 4);
    }

    /**
     * {@code qt[p * np + i] = Q[i, p]} for i < n. Columns n .. np - 1 keep whatever the scratch held: they only give
     * scores in lanes of queries that do not exist, which nothing reads (zeroing them was half of a 12-token call).
     */
    private static void transpose(int n, int d, int np, MemorySegment q, long qb, long ldqB, MemorySegment qt) {
        for (int i = 0; i < n; i++) {
            long src = qb + i * ldqB, dst = 4L * i;
            for (int p = 0; p < d; p++) {
                qt.set(FLOAT, dst + 4L * p * np, q.get(FLOAT, src + 4L * p));
            }
        }
    }

    /** V's rows copied into [n, dp] with zero columns d .. dp - 1. */
    private static void padRows(int n, int d, int dp, MemorySegment v, long vb, long ldvB, MemorySegment dst) {
        for (int j = 0; j < n; j++) {
            long src = vb + j * ldvB, o = 4L * j * dp;
            for (int p = 0; p < dp; p++) {
                dst.set(FLOAT, o + 4L * p, p < d ? v.get(FLOAT, src + 4L * p) : 0f);
            }
        }
    }

    /**
     * Raw scores of key rows i .. i + R - 1 (rows past n repeat row n - 1, stored into the scratch's padding rows)
     * against the queries of one column tile: {@code sc[i, j .. j + W) = sum_p q[i, p] * kt[p, j .. j + W)}, with
     * {@code q} the keys and {@code kt} the transposed queries.
     */
    private static void scoreTile(int d, int n, int i, MemorySegment q, long qb, long ldqB,
                                  MemorySegment kt, long ktb, long ldktB, MemorySegment sc, long scb, long ldsB) {
        int rows = Math.min(R, n - i);
        long q0 = qb + i * ldqB;
        long q1 = rows > 1 ? q0 + ldqB : q0, q2 = rows > 2 ? q1 + ldqB : q1, q3 = rows > 3 ? q2 + ldqB : q2;
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        for (int p = 0; p < d; p++) {
            long ko = ktb + p * ldktB, qo = 4L * p;
            FloatVector b0 = FloatVector.fromMemorySegment(S, kt, ko, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(S, kt, ko + 4L * L, ORDER);
            FloatVector x = FloatVector.broadcast(S, q.get(FLOAT, q0 + qo));
            a00 = x.fma(b0, a00);
            a01 = x.fma(b1, a01);
            x = FloatVector.broadcast(S, q.get(FLOAT, q1 + qo));
            a10 = x.fma(b0, a10);
            a11 = x.fma(b1, a11);
            x = FloatVector.broadcast(S, q.get(FLOAT, q2 + qo));
            a20 = x.fma(b0, a20);
            a21 = x.fma(b1, a21);
            x = FloatVector.broadcast(S, q.get(FLOAT, q3 + qo));
            a30 = x.fma(b0, a30);
            a31 = x.fma(b1, a31);
        }
        long o = scb + i * ldsB, hi = 4L * L;
        a00.intoMemorySegment(sc, o, ORDER);
        a01.intoMemorySegment(sc, o + hi, ORDER);
        a10.intoMemorySegment(sc, o + ldsB, ORDER);
        a11.intoMemorySegment(sc, o + ldsB + hi, ORDER);
        a20.intoMemorySegment(sc, o + 2 * ldsB, ORDER);
        a21.intoMemorySegment(sc, o + 2 * ldsB + hi, ORDER);
        a30.intoMemorySegment(sc, o + 3 * ldsB, ORDER);
        a31.intoMemorySegment(sc, o + 3 * ldsB + hi, ORDER);
    }

    /**
     * Each query's raw scores (a column of the transposed scores: query i in lane i % L of the vectors at column
     * {@code i - i % L}) become its unnormalized probabilities, {@code e_j = exp(scale * s_j - max)} over keys j < n,
     * and {@code inv[i] = 1 / sum_j e_j}, which {@link #valueTile} applies to the output row (one multiply per output
     * instead of one per score); the maximum is taken of the scaled scores (any finite scale: a negative one works as
     * in the twin). The softmax runs down the key rows, L queries at a time: maxima, exponentials and sums are
     * lanewise, with no reduction across lanes (per query row, three cross-lane reductions and their latency were most
     * of a 12-token call). Lanes of queries past n hold whatever the scratch held and are never read. The helpers pass
     * their lanewise maxima, then the sums' reciprocals, through {@code inv}, not as returned vectors: a vector
     * returned from a call that C2 leaves out of line is boxed, which CI saw (ForwardAllocationTest) though this
     * machine inlined both.
     */
    private static void softmaxColumns(int n, float scale, MemorySegment sc, long ldsB, MemorySegment inv) {
        for (int i = 0; i < n; i += L) {
            maxScaled(n, scale, sc, 4L * i, ldsB, inv);
            expScaled(n, scale, sc, 4L * i, ldsB, inv);
        }
    }

    /**
     * Lanewise maximum of {@code scale * sc[j, lanes at cb]} over key rows j < n (two chains: even and odd j), stored
     * into {@code inv} at the same byte offset {@code cb}.
     */
    private static void maxScaled(int n, float scale, MemorySegment sc, long cb, long ldsB, MemorySegment inv) {
        FloatVector m0 = FloatVector.fromMemorySegment(S, sc, cb, ORDER).mul(scale), m1 = m0;
        int j = 1;
        for (; j + 1 < n; j += 2) {
            long o = cb + j * ldsB;
            FloatVector v0 = FloatVector.fromMemorySegment(S, sc, o, ORDER).mul(scale);
            FloatVector v1 = FloatVector.fromMemorySegment(S, sc, o + ldsB, ORDER).mul(scale);
            // max as compare + blend, without Java's NaN/-0 rules (several instructions on AVX2)
            m0 = m0.blend(v0, m0.compare(VectorOperators.LT, v0));
            m1 = m1.blend(v1, m1.compare(VectorOperators.LT, v1));
        }
        if (j < n) {
            FloatVector v0 = FloatVector.fromMemorySegment(S, sc, cb + j * ldsB, ORDER).mul(scale);
            m0 = m0.blend(v0, m0.compare(VectorOperators.LT, v0));
        }
        m0.blend(m1, m0.compare(VectorOperators.LT, m1)).intoMemorySegment(inv, cb, ORDER);
    }

    private static final float LOG2E = (float) (1.0 / Math.log(2.0));
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds |t| < 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    /** Cephes expf minimax coefficients: {@code e^r = 1 + r + r^2 P(r)} for |r| <= ln2/2 (about 1 ulp). */
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * {@code sc[j, lanes] = exp(scale * sc[j, lanes] - max)} for key rows j < n, with the maxima read from
     * {@code inv} at byte offset {@code cb}, where {@code 1 / sum} per lane then replaces them.
     *
     * <p>The exponential, of x <= 0, is written out in the loop, not called: a helper taking and returning vectors
     * boxes them whenever C2 does not inline it (ForwardAllocationTest). -Infinity gives 0 through the clamp at
     * -87.3, whose e^x, 1.2e-38, is still normal, so one exponent factor suffices. A shorter dependency chain than
     * {@link VectorMath#exp} (Estrin evaluation, one scale factor): that one ran at 1 ns per float here, bound by
     * the latency of its Horner chain, not by throughput.
     */
    private static void expScaled(int n, float scale, MemorySegment sc, long cb, long ldsB, MemorySegment inv) {
        FloatVector max = FloatVector.fromMemorySegment(S, inv, cb, ORDER);
        FloatVector lo = FloatVector.broadcast(S, -87.3f);
        FloatVector negLn2Hi = FloatVector.broadcast(S, -LN2_HI), negLn2Lo = FloatVector.broadcast(S, -LN2_LO);
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < n; j++) {
            long o = cb + j * ldsB;
            FloatVector x = FloatVector.fromMemorySegment(S, sc, o, ORDER).mul(scale).sub(max);
            // clamp as compare + blend: Java's max (NaN and -0 rules) is several instructions on AVX2
            FloatVector xc = x.blend(lo, x.compare(VectorOperators.LT, lo));
            FloatVector t = xc.fma(LOG2E, ROUND_MAGIC);
            FloatVector k = t.sub(ROUND_MAGIC);
            FloatVector r = k.fma(negLn2Lo, k.fma(negLn2Hi, xc));
            FloatVector r2 = r.mul(r);
            FloatVector a = r.fma(P0, P1), b = r.fma(P2, P3), c = r.fma(P4, P5);
            FloatVector p = a.fma(r2.mul(r2), b.fma(r2, c));
            // the low mantissa bits of t hold k (|k| <= 126); shifted into the exponent field and biased: 2^k
            FloatVector twoK = t.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(127 << 23)
                    .reinterpretAsFloats();
            FloatVector e = p.fma(r2, r.add(1f)).mul(twoK);
            e.intoMemorySegment(sc, o, ORDER);
            acc = acc.add(e);
        }
        FloatVector.broadcast(S, 1f).div(acc).intoMemorySegment(inv, cb, ORDER);
    }

    /**
     * Output rows i .. i + R - 1 (rows past n repeat row n - 1 and are not stored), {@code cols <= W} columns:
     * {@code out[i, c ..] = inv[i] * sum_{j < n} e[i, j] * v[j, c .. c + W)}, with e[i, j] at {@code sc[j, i]}
     * (transposed, unnormalized) and {@code inv[i] = 1 / sum_j e[i, j]}.
     */
    private static void valueTile(int n, int i, int cols, MemorySegment sc, long ldsB, MemorySegment inv,
                                  MemorySegment v, long vb, long ldvB, MemorySegment out, long ob, long ldoB,
                                  MemorySegment tile) {
        int rows = Math.min(R, n - i);
        long p0 = 4L * i;
        long p1 = rows > 1 ? p0 + 4 : p0, p2 = rows > 2 ? p1 + 4 : p1, p3 = rows > 3 ? p2 + 4 : p2;
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
        FloatVector a30 = a00, a31 = a00;
        for (int j = 0; j < n; j++) {
            long vo = vb + j * ldvB, po = j * ldsB;
            FloatVector b0 = FloatVector.fromMemorySegment(S, v, vo, ORDER);
            FloatVector b1 = FloatVector.fromMemorySegment(S, v, vo + 4L * L, ORDER);
            FloatVector x = FloatVector.broadcast(S, sc.get(FLOAT, p0 + po));
            a00 = x.fma(b0, a00);
            a01 = x.fma(b1, a01);
            x = FloatVector.broadcast(S, sc.get(FLOAT, p1 + po));
            a10 = x.fma(b0, a10);
            a11 = x.fma(b1, a11);
            x = FloatVector.broadcast(S, sc.get(FLOAT, p2 + po));
            a20 = x.fma(b0, a20);
            a21 = x.fma(b1, a21);
            x = FloatVector.broadcast(S, sc.get(FLOAT, p3 + po));
            a30 = x.fma(b0, a30);
            a31 = x.fma(b1, a31);
        }
        // each row divided by its softmax sum here, not each score in the softmax
        FloatVector r0 = FloatVector.broadcast(S, inv.get(FLOAT, p0));
        FloatVector r1 = FloatVector.broadcast(S, inv.get(FLOAT, p1));
        FloatVector r2 = FloatVector.broadcast(S, inv.get(FLOAT, p2));
        FloatVector r3 = FloatVector.broadcast(S, inv.get(FLOAT, p3));
        a00 = a00.mul(r0);
        a01 = a01.mul(r0);
        a10 = a10.mul(r1);
        a11 = a11.mul(r1);
        a20 = a20.mul(r2);
        a21 = a21.mul(r2);
        a30 = a30.mul(r3);
        a31 = a31.mul(r3);
        // stores written out (no helper taking vectors: once this method is large, C2 stops inlining such helpers
        // and boxes every vector passed to them, measured 4x slower) and unmasked (masked stores with a variable
        // mask are not intrinsified on AVX2, 100x slower): a partial tile goes through the per-thread tile scratch
        boolean full = cols == W && rows == R;
        MemorySegment dst = full ? out : tile;
        long ldB = full ? ldoB : 4L * W, o = full ? ob + i * ldoB : 0, hi = 4L * L;
        a00.intoMemorySegment(dst, o, ORDER);
        a01.intoMemorySegment(dst, o + hi, ORDER);
        a10.intoMemorySegment(dst, o + ldB, ORDER);
        a11.intoMemorySegment(dst, o + ldB + hi, ORDER);
        a20.intoMemorySegment(dst, o + 2 * ldB, ORDER);
        a21.intoMemorySegment(dst, o + 2 * ldB + hi, ORDER);
        a30.intoMemorySegment(dst, o + 3 * ldB, ORDER);
        a31.intoMemorySegment(dst, o + 3 * ldB + hi, ORDER);
        if (!full) {
            copyTile(rows, cols, tile, out, ob + i * ldoB, ldoB);
        }
    }

    /** The valid {@code rows x cols} corner of a tile scratch (row stride W) into out. */
    private static void copyTile(int rows, int cols, MemorySegment tile, MemorySegment out, long o, long ldoB) {
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out.set(FLOAT, o + r * ldoB + 4L * c, tile.get(FLOAT, 4L * (r * W + c)));
            }
        }
    }

    private static int roundUp(int a, int b) {
        return (a + b - 1) / b * b;
    }
}
