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

    private static float[] buffer(ThreadLocal<float[]> local, int size) {
        float[] b = local.get();
        if (b.length < size) {
            b = new float[size];
            local.set(b);
        }
        return b;
    }

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
