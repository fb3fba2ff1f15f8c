package org.nibble.kernels.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Packed-weight GEMV for inference (the decode path): {@code y[r] = s0 * sum_k code(r,k) * 2^-g[k] * x[k]} with the
 * weights in a {@link PackedFormat} (Q8/Q6/Q4) and F32 activations.
 *
 * <p>llama3.java's recipe (java-peers.md 2.7), adapted: the power-of-two group factor is folded into the activations
 * once per call ({@code x'[k] = x[k] * 2^-g[k]}, exact), and x' is laid out in the order the packed fields come out
 * of a vector of 32-bit lanes (see {@link PackedFormat}). Each row is then one pass over its packed words: a vector
 * load, per field a shift left + arithmetic shift right of 32-bit lanes (sign-extends the field), an int -> float
 * conversion and an FMA into one of four accumulators; {@code s0} is applied once per row. The weights are streamed
 * exactly once; rows run in parallel ({@link Parallel}). {@link PackedGemvScalar} is the twin (sums in double); the
 * results agree within {@code cols * 2^-22 * s0 * sum|code * x'|}.
 */
public final class PackedGemv {
    private PackedGemv() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final VectorSpecies<Integer> SI = Simd.I32;
    private static final int L = S.length();

    /**
     * {@code y[r] = s0 * sum_k code(r,k) * 2^-g[k] * x[k]} for {@code rows} packed rows of {@code cols} codes starting
     * at byte {@code wOff} of {@code w} (row stride {@code format.rowBytes(cols)}), group ids (one byte per column) at
     * {@code groupIds[gOff..]}, F32 {@code x[xOff..xOff+cols)} and {@code y[yOff..yOff+rows)}.
     */
    public static void gemv(PackedFormat format, int rows, int cols, MemorySegment w, long wOff,
                            MemorySegment groupIds, long gOff, float s0, MemorySegment x, long xOff, MemorySegment y,
                            long yOff) {
        check(format, rows, cols, w, wOff, groupIds, gOff, x, xOff, y, yOff);
        float[] xp = permuted(format, cols, groupIds, gOff, x, xOff);
        long rowBytes = format.rowBytes(cols);
        int words = PackedFormat.paddedCols(cols) / format.codesPerWord();
        Parallel.forRange(0, rows, 16, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long wb = wOff + r * rowBytes;
                float d = switch (format) {
                    case Q8 -> dotQ8(w, wb, words, xp);
                    case Q4 -> dotQ4(w, wb, words, xp);
                    case Q6 -> dotQ6(w, wb, words, xp);
                };
                y.setAtIndex(FLOAT, yOff + r, s0 * d);
            }
        });
    }

    /** Activation rows {@link #gemm} runs against each decoded weight vector. */
    static final int GEMM_ROWS = 4;

    /**
     * The multi-row form of {@link #gemv}: {@code y[i][r] = s0 * sum_k code(r,k) * 2^-g[k] * x[i][k]} for {@code m}
     * activation rows {@code x[i] = x[xOff + i*ldx ..]} and {@code y[i] = y[yOff + i*ldy ..]}; runs on the calling
     * thread (callers parallelise over row blocks).
     *
     * <p>Each packed weight vector is decoded once per {@link #GEMM_ROWS} activation rows and used by all of them:
     * the rows are first scaled by {@code 2^-g[k]} into a buffer in the field order of {@link PackedFormat} (with
     * 8-lane vectors that order is the natural one), then one pass over the packed words keeps one accumulator per
     * activation row (Q6: two, even and odd fields).
     */
    public static void gemm(PackedFormat format, int m, int rows, int cols, MemorySegment w, long wOff,
                            MemorySegment groupIds, long gOff, float s0, MemorySegment x, long xOff, int ldx,
                            MemorySegment y, long yOff, int ldy) {
        checkGemm(format, m, rows, cols, w, wOff, groupIds, gOff, x, xOff, ldx, y, yOff, ldy);
        int kp = PackedFormat.paddedCols(cols);
        int words = kp / format.codesPerWord();
        long rowBytes = format.rowBytes(cols);
        float[] buf = buffer(XS, (GEMM_ROWS + 1) * kp + GEMM_ROWS);
        int sums = (GEMM_ROWS + 1) * kp;
        for (int k = 0; k < cols; k++) {
            buf[k] = Math.scalb(1f, -groupIds.get(BYTE, gOff + k));
        }
        for (int r0 = 0; r0 < m; r0 += GEMM_ROWS) {
            int rr = Math.min(GEMM_ROWS, m - r0);
            for (int i = 0; i < GEMM_ROWS; i++) {
                scaledRow(format, cols, kp, buf, i < rr ? xOff + (long) (r0 + i) * ldx : -1, x, kp + i * kp);
            }
            for (int r = 0; r < rows; r++) {
                long wb = wOff + r * rowBytes;
                if (format == PackedFormat.Q6) {
                    dot4Q6(w, wb, words, buf, kp, sums);
                } else {
                    dot4(w, wb, words, format.bits(), buf, kp, sums);
                }
                for (int i = 0; i < rr; i++) {
                    y.setAtIndex(FLOAT, yOff + (long) (r0 + i) * ldy + r, s0 * buf[sums + i]);
                }
            }
        }
    }

    /**
     * The codes of one packed row of {@code cols} codes at byte {@code rowOff} of {@code w}, as floats, into
     * {@code out[outOff .. outOff + paddedCols(cols))} in natural order (padding codes are 0). With 8-lane vectors the
     * field order of {@link PackedFormat} is the natural order and whole word vectors are decoded at a time; other
     * widths decode code by code.
     */
    public static void decodeRow(PackedFormat format, int cols, MemorySegment w, long rowOff, float[] out,
                                 int outOff) {
        Checks.checkCount("cols", cols);
        Checks.checkRange("w", w, rowOff, format.rowBytes(cols), 1);
        int kp = PackedFormat.paddedCols(cols);
        java.util.Objects.checkFromIndexSize(outOff, kp, out.length);
        if (L != 8) {
            PackedGemvScalar.decodeRow(format, cols, w, rowOff, out, outOff);
            return;
        }
        int words = kp / format.codesPerWord();
        if (format == PackedFormat.Q6) {
            long hb = rowOff + 4L * words;
            for (int o = 0; o < words; o += L) {
                IntVector v = IntVector.fromMemorySegment(SI, w, rowOff + 4L * o, ORDER);
                IntVector h = IntVector.fromMemorySegment(SI, w, hb + 4L * ((o >>> 5) * 16 + (o & 15)), ORDER);
                int sh = 30 - 16 * ((o >>> 4) & 1);
                for (int j = 0; j < 8; j++) {
                    ((FloatVector) h.lanewise(VectorOperators.LSHL, sh - 2 * j).lanewise(VectorOperators.ASHR, 26)
                            .and(~15).or(v.lanewise(VectorOperators.LSHR, 4 * j).and(15))
                            .convert(VectorOperators.I2F, 0)).intoArray(out, outOff + o * 8 + j * L);
                }
            }
            return;
        }
        int bits = format.bits(), groups = 8 / bits, sar = 32 - bits;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, rowOff + 4L * o, ORDER);
            for (int gr = 0; gr < groups; gr++) {
                int top = sar - 4 * bits * gr, ob = outOff + 4 * (o * groups + gr * L);
                for (int j = 0; j < 4; j++) {
                    ((FloatVector) v.lanewise(VectorOperators.LSHL, top - bits * j)
                            .lanewise(VectorOperators.ASHR, sar).convert(VectorOperators.I2F, 0))
                            .intoArray(out, ob + j * L);
                }
            }
        }
    }

    static void checkGemm(PackedFormat format, int m, int rows, int cols, MemorySegment w, long wOff,
                          MemorySegment groupIds, long gOff, MemorySegment x, long xOff, int ldx, MemorySegment y,
                          long yOff, int ldy) {
        Checks.checkCount("m", m);
        check(format, rows, cols, w, wOff, groupIds, gOff, x, xOff, y, yOff);
        Checks.checkMatrix("x", x, xOff, m, cols, ldx, 4);
        Checks.checkMatrix("y", y, yOff, m, rows, ldy, 4);
    }

    private static final ThreadLocal<float[]> XS = ThreadLocal.withInitial(() -> new float[0]);

    private static float[] buffer(ThreadLocal<float[]> local, int size) {
        float[] b = local.get();
        if (b.length < size) {
            b = new float[size];
            local.set(b);
        }
        return b;
    }

    /**
     * {@code buf[dst + idx] = x[k] * buf[k]} (the row scaled by {@code 2^-g}, kept in {@code buf[0..cols)}) for
     * every field-order index {@code idx} of k, zero for padding, or all zeros when {@code xRow < 0}.
     */
    private static void scaledRow(PackedFormat f, int cols, int kp, float[] buf, long xRow, MemorySegment x,
                                  int dst) {
        if (xRow < 0) {
            java.util.Arrays.fill(buf, dst, dst + kp, 0f);
            return;
        }
        if (L == 8) { // field order == natural order (see PackedFormat)
            int k = 0;
            for (; k <= cols - L; k += L) {
                FloatVector.fromMemorySegment(S, x, 4 * (xRow + k), ORDER).mul(FloatVector.fromArray(S, buf, k))
                        .intoArray(buf, dst + k);
            }
            for (; k < cols; k++) {
                buf[dst + k] = x.getAtIndex(FLOAT, xRow + k) * buf[k];
            }
            java.util.Arrays.fill(buf, dst + cols, dst + kp, 0f);
            return;
        }
        int cpw = f.codesPerWord(), block = 8 * cpw;
        for (int idx = 0; idx < kp; idx++) {
            int o = idx / (cpw * L) * L, rest = idx - o * cpw, j = rest / L, wd = o + rest % L;
            int k = wd / 8 * block + 8 * j + wd % 8;
            buf[dst + idx] = k < cols ? x.getAtIndex(FLOAT, xRow + k) * buf[k] : 0f;
        }
    }

    /**
     * Q8/Q4 rows against the 4 scaled activation rows at {@code xs[kp + i*kp ..]}; sums to {@code xs[out + i]}. The
     * fields of a word vector are taken 4 at a time (Q8: one group, Q4: two), so the inner loop has a constant trip
     * count and unrolls into constant shifts. Row sums by {@code reduceLanes}: each output is one thread's sum, and
     * the in-order lane sum cost 40% here.
     */
    private static void dot4(MemorySegment w, long wb, int words, int bits, float[] xs, int kp, int out) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int groups = 8 / bits, sar = 32 - bits;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, wb + 4L * o, ORDER);
            for (int gr = 0; gr < groups; gr++) {
                int top = sar - 4 * bits * gr, xb = kp + 4 * (o * groups + gr * L);
                for (int j = 0; j < 4; j++) {
                    FloatVector c = (FloatVector) v.lanewise(VectorOperators.LSHL, top - bits * j)
                            .lanewise(VectorOperators.ASHR, sar).convert(VectorOperators.I2F, 0);
                    int xi = xb + j * L;
                    a0 = c.fma(xv(xs, xi), a0);
                    a1 = c.fma(xv(xs, xi + kp), a1);
                    a2 = c.fma(xv(xs, xi + 2 * kp), a2);
                    a3 = c.fma(xv(xs, xi + 3 * kp), a3);
                }
            }
        }
        xs[out] = a0.reduceLanes(VectorOperators.ADD);
        xs[out + 1] = a1.reduceLanes(VectorOperators.ADD);
        xs[out + 2] = a2.reduceLanes(VectorOperators.ADD);
        xs[out + 3] = a3.reduceLanes(VectorOperators.ADD);
    }

    /** Q6 form of {@link #dot4} (decode as in {@link #dotQ6}). */
    private static void dot4Q6(MemorySegment w, long wb, int words, float[] xs, int kp, int out) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        long hb = wb + 4L * words;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, wb + 4L * o, ORDER);
            IntVector h = IntVector.fromMemorySegment(SI, w, hb + 4L * ((o >>> 5) * 16 + (o & 15)), ORDER);
            int sh = 30 - 16 * ((o >>> 4) & 1);
            for (int j = 0; j < 8; j += 2) {
                FloatVector c0 = (FloatVector) h.lanewise(VectorOperators.LSHL, sh - 2 * j)
                        .lanewise(VectorOperators.ASHR, 26).and(~15)
                        .or(v.lanewise(VectorOperators.LSHR, 4 * j).and(15)).convert(VectorOperators.I2F, 0);
                FloatVector c1 = (FloatVector) h.lanewise(VectorOperators.LSHL, sh - 2 * j - 2)
                        .lanewise(VectorOperators.ASHR, 26).and(~15)
                        .or(v.lanewise(VectorOperators.LSHR, 4 * j + 4).and(15)).convert(VectorOperators.I2F, 0);
                int xi = kp + o * 8 + j * L;
                a0 = c0.fma(xv(xs, xi), a0);
                b0 = c1.fma(xv(xs, xi + L), b0);
                a1 = c0.fma(xv(xs, xi + kp), a1);
                b1 = c1.fma(xv(xs, xi + kp + L), b1);
                a2 = c0.fma(xv(xs, xi + 2 * kp), a2);
                b2 = c1.fma(xv(xs, xi + 2 * kp + L), b2);
                a3 = c0.fma(xv(xs, xi + 3 * kp), a3);
                b3 = c1.fma(xv(xs, xi + 3 * kp + L), b3);
            }
        }
        xs[out] = a0.add(b0).reduceLanes(VectorOperators.ADD);
        xs[out + 1] = a1.add(b1).reduceLanes(VectorOperators.ADD);
        xs[out + 2] = a2.add(b2).reduceLanes(VectorOperators.ADD);
        xs[out + 3] = a3.add(b3).reduceLanes(VectorOperators.ADD);
    }

    static void check(PackedFormat format, int rows, int cols, MemorySegment w, long wOff, MemorySegment groupIds,
                      long gOff, MemorySegment x, long xOff, MemorySegment y, long yOff) {
        if (format == null) {
            throw new NullPointerException("format is null");
        }
        Checks.checkCount("rows", rows);
        Checks.checkCount("cols", cols);
        Checks.checkRange("w", w, wOff, rows * format.rowBytes(cols), 1);
        Checks.checkRange("groupIds", groupIds, gOff, cols, 1);
        Checks.checkRange("x", x, xOff, cols, 4);
        Checks.checkRange("y", y, yOff, rows, 4);
    }

    private static final ThreadLocal<float[]> XP = ThreadLocal.withInitial(() -> new float[0]);

    /** x' = x * 2^-g in the field order of {@link PackedFormat}, zero-padded (a grow-only buffer of this thread). */
    private static float[] permuted(PackedFormat f, int cols, MemorySegment groupIds, long gOff, MemorySegment x,
                                    long xOff) {
        int kp = PackedFormat.paddedCols(cols), cpw = f.codesPerWord(), block = 8 * cpw;
        float[] xp = buffer(XP, kp);
        int words = kp / cpw;
        for (int o = 0; o < words; o += L) {
            for (int j = 0; j < cpw; j++) {
                for (int l = 0; l < L; l++) {
                    int wd = o + l, k = wd / 8 * block + 8 * j + wd % 8;
                    xp[o * cpw + j * L + l] = k < cols
                            ? Math.scalb(x.getAtIndex(FLOAT, xOff + k), -groupIds.get(BYTE, gOff + k)) : 0f;
                }
            }
        }
        return xp;
    }

    /** Field j of every lane, sign-extended: {@code (w << (32 - width*(j+1))) >> (32 - width)}, as floats. */
    private static FloatVector field(IntVector w, int shl, int sar) {
        return (FloatVector) w.lanewise(VectorOperators.LSHL, shl).lanewise(VectorOperators.ASHR, sar)
                .convert(VectorOperators.I2F, 0);
    }

    private static FloatVector xv(float[] xp, int off) {
        return FloatVector.fromArray(S, xp, off);
    }

    static float dotQ4(MemorySegment w, long wb, int words, float[] xp) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, wb + 4L * o, ORDER);
            int xb = o * 8;
            a0 = field(v, 28, 28).fma(xv(xp, xb), a0);
            a1 = field(v, 24, 28).fma(xv(xp, xb + L), a1);
            a2 = field(v, 20, 28).fma(xv(xp, xb + 2 * L), a2);
            a3 = field(v, 16, 28).fma(xv(xp, xb + 3 * L), a3);
            a0 = field(v, 12, 28).fma(xv(xp, xb + 4 * L), a0);
            a1 = field(v, 8, 28).fma(xv(xp, xb + 5 * L), a1);
            a2 = field(v, 4, 28).fma(xv(xp, xb + 6 * L), a2);
            a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0))
                    .fma(xv(xp, xb + 7 * L), a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    static float dotQ8(MemorySegment w, long wb, int words, float[] xp) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, wb + 4L * o, ORDER);
            int xb = o * 4;
            a0 = field(v, 24, 24).fma(xv(xp, xb), a0);
            a1 = field(v, 16, 24).fma(xv(xp, xb + L), a1);
            a2 = field(v, 8, 24).fma(xv(xp, xb + 2 * L), a2);
            a3 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0))
                    .fma(xv(xp, xb + 3 * L), a3);
        }
        return a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Q6: code = (signed high 2 bits) * 16 + low nibble. The high word vector is lane-aligned with the low word vector
     * (see {@link PackedFormat}); field j of half h sits at bits {@code 16h + 2j}: one shift left puts it at bits 30..31,
     * an arithmetic shift right by 26 brings it to bits 4..5 sign-extended, a mask clears bits 0..3:
     * {@code hi_j = ((h << (30 - 16h - 2j)) >> 26) & ~15}; {@code lo_j = (w >>> 4j) & 15}.
     */
    static float dotQ6(MemorySegment w, long wb, int words, float[] xp) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        long hb = wb + 4L * words;
        for (int o = 0; o < words; o += L) {
            IntVector v = IntVector.fromMemorySegment(SI, w, wb + 4L * o, ORDER);
            IntVector h = IntVector.fromMemorySegment(SI, w, hb + 4L * ((o >>> 5) * 16 + (o & 15)), ORDER);
            int sh = 30 - 16 * ((o >>> 4) & 1);
            int xb = o * 8;
            // two fields per step, written out (no helper taking vectors: a callee compiled on its own before the
            // caller may be too big to inline, and then every vector is boxed)
            for (int j = 0; j < 8; j += 2) {
                IntVector c0 = h.lanewise(VectorOperators.LSHL, sh - 2 * j).lanewise(VectorOperators.ASHR, 26)
                        .and(~15).or(v.lanewise(VectorOperators.LSHR, 4 * j).and(15));
                IntVector c1 = h.lanewise(VectorOperators.LSHL, sh - 2 * j - 2).lanewise(VectorOperators.ASHR, 26)
                        .and(~15).or(v.lanewise(VectorOperators.LSHR, 4 * j + 4).and(15));
                a0 = ((FloatVector) c0.convert(VectorOperators.I2F, 0)).fma(xv(xp, xb + j * L), a0);
                a1 = ((FloatVector) c1.convert(VectorOperators.I2F, 0)).fma(xv(xp, xb + (j + 1) * L), a1);
            }
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }
}
