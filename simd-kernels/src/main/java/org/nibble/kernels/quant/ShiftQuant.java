package org.nibble.kernels.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * ShiftQuant (papers.md 1.3): symmetric b-bit quantization (b in 2..8, no zero point) with {@code G} power-of-two
 * related groups along the contraction axis, one float base scale and one small group id per channel. Also the two
 * baselines it is measured against: per-tensor ({@code G = 1}) and per-channel symmetric quantization.
 *
 * <pre>
 * qmax = 2^(b-1) - 1        r[c] = max |x| over channel c        R = max_c r[c]        s0 = R / qmax
 * g[c] = min(G-1, floor(log2(R / r[c])))   (G-1 for a zero or subnormal channel; exponent-bit fast path, no log)
 * v    = x * m[c],   m[c] = 2^g[c] * (qmax / R)          (the one convention for x / s[c]; see QuantSupport)
 * q    = clamp(ROUND(v), -qmax, qmax)                    ROUND = rint (half-even) or floor(v + u) (stochastic)
 * stored code = q                    (plain: |code| <= qmax, dequantize q * s0 * 2^-g[c])
 *             = q << (G-1-g[c])      (pre-shifted int8 container for ShiftMM, needs qmax * 2^(G-1) <= 127;
 *                                     dequantize code * s0 * 2^-(G-1))
 * </pre>
 * A tensor whose range is below 2^-100 (including all zeros) quantizes to all-zero codes with {@code s0 = 1} and every
 * group id {@code G-1}. NaN or infinite input throws {@link IllegalArgumentException} naming the tensor.
 *
 * <p>Stochastic rounding draws {@code u} from a counter-based hash of (seed, row, column) of the source matrix,
 * computed in int lanes ({@link QuantSupport#uniform}); results depend on the seed only, not on threads or the vector
 * width. Every method has a twin with the same signature in {@link ShiftQuantScalar}; codes, group ids and scales are
 * bit-identical. Rows are quantized in parallel ({@link Parallel}).
 */
public final class ShiftQuant {
    private ShiftQuant() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final VectorSpecies<Integer> SI = Simd.I32;
    private static final int L = S.length();
    /** Bytes of one float vector's codes; 64-bit minimum shape, masked when the float vector has 4 lanes. */
    private static final VectorSpecies<Byte> SB = ByteVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(Math.max(64, 8 * L)));
    private static final VectorMask<Byte> SB_MASK = SB.indexInRange(0, L);
    private static final boolean SB_FULL = SB.length() == L;
    private static final int[] IOTA = new int[L];

    static {
        for (int i = 0; i < L; i++) {
            IOTA[i] = i;
        }
    }

    /** Minimum elements per parallel chunk. */
    private static final int GRAIN = 1 << 14;

    /**
     * Quantizes the row-major {@code rows x cols} matrix {@code x} (leading dimension {@code ldx}) with groups along
     * {@code axis}; writes int8 codes to {@code q} (leading dimension {@code ldq}) and one group id per channel to
     * {@code groupIds}; returns the base scale {@code s0}.
     *
     * @param name      the tensor's name, used in exception messages
     * @param bits      bit width b in 2..8
     * @param groups    G in 1..8 ({@code G = 1} is per-tensor symmetric quantization)
     * @param seed      seed of the stochastic-rounding hash (ignored for {@link Rounding#NEAREST_EVEN})
     * @param preShift  store {@code q << (G-1-g)} (the ShiftMM int8 container; requires {@code qmax * 2^(G-1) <= 127},
     *                  else {@link IllegalArgumentException}) instead of plain codes
     */
    public static float quantize(String name, MemorySegment x, long xOff, int rows, int cols, int ldx,
                                 ChannelAxis axis, int bits, int groups, Rounding rounding, long seed,
                                 boolean preShift, MemorySegment q, long qOff, int ldq, MemorySegment groupIds,
                                 long gOff) {
        QuantSupport.checkArgs(name, x, xOff, rows, cols, ldx, axis, bits, groups, rounding, preShift, q, qOff, ldq,
                groupIds, gOff);
        int qmax = QuantSupport.qmax(bits);
        int nc = QuantSupport.channels(axis, rows, cols);
        float[] r = ranges(name, x, xOff, rows, cols, ldx, axis);
        float bigR = 0;
        for (float v : r) {
            bigR = Math.max(bigR, v);
        }
        float[] m = new float[nc], pow = new float[nc];
        boolean zero = bigR < QuantSupport.MIN_RANGE;
        for (int c = 0; c < nc; c++) {
            int g = zero ? groups - 1 : QuantSupport.groupIndex(bigR, r[c], groups);
            groupIds.set(BYTE, gOff + c, (byte) g);
            m[c] = zero ? 0f : QuantSupport.multiplier(qmax, bigR, g);   // m = 0: every code 0
            pow[c] = preShift ? 1 << (groups - 1 - g) : 1;
        }
        quantizePass(x, xOff, rows, cols, ldx, axis, qmax, rounding, seed, m, pow, q, qOff, ldq);
        return zero ? 1f : bigR / qmax;
    }

    /**
     * Per-tensor symmetric baseline: {@link #quantize} with one group ({@code s = R / qmax}); returns the scale. The
     * axis only decides which range is reported as a group id (all 0).
     */
    public static float quantizePerTensor(String name, MemorySegment x, long xOff, int rows, int cols, int ldx,
                                          int bits, Rounding rounding, long seed, MemorySegment q, long qOff,
                                          int ldq) {
        MemorySegment g = MemorySegment.ofArray(new byte[Math.max(1, cols)]);
        return quantize(name, x, xOff, rows, cols, ldx, ChannelAxis.COLUMNS, bits, 1, rounding, seed, false, q, qOff,
                ldq, g, 0);
    }

    /**
     * Per-channel symmetric baseline (the "upper bound" ShiftQuant approaches): channel {@code c} gets its own float
     * scale {@code s[c] = r[c] / qmax}, written to {@code scales}; codes {@code clamp(ROUND(x * (qmax / r[c])))}.
     */
    public static void quantizePerChannel(String name, MemorySegment x, long xOff, int rows, int cols, int ldx,
                                          ChannelAxis axis, int bits, Rounding rounding, long seed, MemorySegment q,
                                          long qOff, int ldq, MemorySegment scales, long sOff) {
        QuantSupport.checkPerChannel(name, x, xOff, rows, cols, ldx, axis, bits, rounding, q, qOff, ldq, scales,
                sOff);
        float[] m = QuantSupport.perChannelMultipliers(ranges(name, x, xOff, rows, cols, ldx, axis), bits, scales,
                sOff);
        float[] pow = new float[m.length];
        java.util.Arrays.fill(pow, 1f);
        quantizePass(x, xOff, rows, cols, ldx, axis, QuantSupport.qmax(bits), rounding, seed, m, pow, q, qOff, ldq);
    }

    /**
     * Dequantizes ShiftQuant codes: {@code out = code * s0 * 2^-(G-1)} for pre-shifted containers, else
     * {@code code * s0 * 2^-g[c]} (exact power-of-two scalings of {@code s0}).
     */
    public static void dequantize(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                                  MemorySegment groupIds, long gOff, float s0, int groups, boolean preShifted,
                                  MemorySegment out, long outOff, int ldo) {
        QuantSupport.checkDequant(q, qOff, rows, cols, ldq, axis, groupIds, gOff, groups, out, outOff, ldo);
        int nc = QuantSupport.channels(axis, rows, cols);
        float[] scale = new float[nc];
        for (int c = 0; c < nc; c++) {
            scale[c] = Math.scalb(s0, -(preShifted ? groups - 1 : groupIds.get(BYTE, gOff + c)));
        }
        dequantPass(q, qOff, rows, cols, ldq, axis, scale, out, outOff, ldo);
    }

    /** Dequantizes per-channel codes: {@code out = code * scales[c]}. */
    public static void dequantizePerChannel(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                                            MemorySegment scales, long sOff, MemorySegment out, long outOff,
                                            int ldo) {
        int nc = QuantSupport.channels(axis, rows, cols);
        org.nibble.kernels.Checks.checkRange("scales", scales, sOff, nc, 4);
        org.nibble.kernels.Checks.checkMatrix("q", q, qOff, rows, cols, ldq, 1);
        org.nibble.kernels.Checks.checkMatrix("out", out, outOff, rows, cols, ldo, 4);
        float[] scale = new float[nc];
        MemorySegment.copy(scales, FLOAT, sOff * 4, scale, 0, nc);
        dequantPass(q, qOff, rows, cols, ldq, axis, scale, out, outOff, ldo);
    }

    // ------------------------------------------------------------------ ranges

    /** r[c] = max |x| over channel c; throws naming the tensor on NaN/Inf. Parallel over rows; max is exact. */
    static float[] ranges(String name, MemorySegment x, long xOff, int rows, int cols, int ldx, ChannelAxis axis) {
        int nc = QuantSupport.channels(axis, rows, cols);
        float[] r = new float[nc];
        int grain = Math.max(1, GRAIN / Math.max(1, cols));
        if (axis == ChannelAxis.ROWS) {
            Parallel.forRange(0, rows, grain, (lo, hi) -> {
                for (int i = lo; i < hi; i++) {
                    r[i] = rowMax(x, (xOff + (long) i * ldx) * 4, cols);
                }
            });
        } else {
            int chunks = Parallel.chunks(rows, grain);
            float[][] part = new float[Math.max(1, chunks)][];
            Parallel.forRange(0, rows, grain, (lo, hi) -> {
                float[] p = new float[nc];
                for (int i = lo; i < hi; i++) {
                    colMax(x, (xOff + (long) i * ldx) * 4, cols, p);
                }
                for (int c = 0; c < part.length; c++) {
                    if (Parallel.chunkStart(0, rows, part.length, c) == lo) {
                        part[c] = p;
                    }
                }
            });
            for (float[] p : part) {
                if (p != null) {
                    for (int c = 0; c < nc; c++) {
                        r[c] = Math.max(r[c], p[c]);
                    }
                }
            }
        }
        for (float v : r) {
            if (!(v <= Float.MAX_VALUE)) {
                throw QuantSupport.nonFinite(name, x, xOff, rows, cols, ldx);
            }
        }
        return r;
    }

    private static float rowMax(MemorySegment x, long xb, int n) {
        FloatVector m = FloatVector.zero(S);
        int upper = S.loopBound(n);
        int k = 0;
        for (; k < upper; k += L) {
            m = m.max(FloatVector.fromMemorySegment(S, x, xb + 4L * k, ORDER).abs());
        }
        float r = m.reduceLanes(VectorOperators.MAX);
        for (; k < n; k++) {
            r = Math.max(r, Math.abs(x.get(FLOAT, xb + 4L * k)));
        }
        return r;
    }

    private static void colMax(MemorySegment x, long xb, int n, float[] r) {
        int upper = S.loopBound(n);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector.fromArray(S, r, k).max(FloatVector.fromMemorySegment(S, x, xb + 4L * k, ORDER).abs())
                    .intoArray(r, k);
        }
        for (; k < n; k++) {
            r[k] = Math.max(r[k], Math.abs(x.get(FLOAT, xb + 4L * k)));
        }
    }

    // ------------------------------------------------------------------ quantize pass

    private static void quantizePass(MemorySegment x, long xOff, int rows, int cols, int ldx, ChannelAxis axis,
                                     int qmax, Rounding rounding, long seed, float[] m, float[] pow, MemorySegment q,
                                     long qOff, int ldq) {
        boolean sr = rounding == Rounding.STOCHASTIC;
        boolean byCol = axis == ChannelAxis.COLUMNS;
        Parallel.forRange(0, rows, Math.max(1, GRAIN / Math.max(1, cols)), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int key = QuantSupport.rowKey(seed, i);
                long xb = (xOff + (long) i * ldx) * 4, qb = qOff + (long) i * ldq;
                if (byCol) {
                    rowPerColumn(x, xb, q, qb, cols, m, pow, qmax, sr, key);
                } else {
                    rowUniform(x, xb, q, qb, cols, m[i], pow[i], qmax, sr, key);
                }
            }
        });
    }

    /** One row, channel = column: multiplier and pre-shift vary per lane. */
    private static void rowPerColumn(MemorySegment x, long xb, MemorySegment q, long qb, int n, float[] m,
                                     float[] pow, int qmax, boolean sr, int key) {
        Rounding rounding = sr ? Rounding.STOCHASTIC : Rounding.NEAREST_EVEN;
        int upper = S.loopBound(n);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * k, ORDER).mul(FloatVector.fromArray(S, m, k));
            store(round(v, qmax, sr, key, k).mul(FloatVector.fromArray(S, pow, k)), q, qb + k);
        }
        for (; k < n; k++) {
            q.set(BYTE, qb + k, ShiftQuantScalar.code(x.get(FLOAT, xb + 4L * k) * m[k], qmax, rounding, key, k,
                    pow[k]));
        }
    }

    /** One row, channel = row: one multiplier and pre-shift for the whole row. */
    private static void rowUniform(MemorySegment x, long xb, MemorySegment q, long qb, int n, float m, float pow,
                                   int qmax, boolean sr, int key) {
        Rounding rounding = sr ? Rounding.STOCHASTIC : Rounding.NEAREST_EVEN;
        int upper = S.loopBound(n);
        int k = 0;
        for (; k < upper; k += L) {
            FloatVector v = FloatVector.fromMemorySegment(S, x, xb + 4L * k, ORDER).mul(m);
            store(round(v, qmax, sr, key, k).mul(pow), q, qb + k);
        }
        for (; k < n; k++) {
            q.set(BYTE, qb + k, ShiftQuantScalar.code(x.get(FLOAT, xb + 4L * k) * m, qmax, rounding, key, k, pow));
        }
    }

    /**
     * Clamp to [-qmax, qmax] and round. Half-even: {@code (v + 1.5*2^23) - 1.5*2^23} equals {@code Math.rint(v)} for
     * |v| < 2^22. Stochastic: {@code floor(v + u)} as truncate-then-fix, exact; clamped again since
     * {@code qmax + u} can round up to {@code qmax + 1}.
     */
    private static FloatVector round(FloatVector v, int qmax, boolean sr, int key, int k) {
        v = v.max(-qmax).min(qmax);
        if (!sr) {
            return v.add(QuantSupport.MAGIC).sub(QuantSupport.MAGIC);
        }
        FloatVector y = v.add(uniform(key, k));
        FloatVector t = (FloatVector) y.convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0);
        return t.sub(1f, y.lt(t)).min(qmax);
    }

    /** Lanes of {@link QuantSupport#uniform} for columns {@code k .. k+L-1}. */
    private static FloatVector uniform(int key, int k) {
        IntVector h = IntVector.fromArray(SI, IOTA, 0).add(k).mul(QuantSupport.GOLDEN).add(key);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16)).mul(0x7FEB352D);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 15)).mul(0x846CA68B);
        h = h.lanewise(VectorOperators.XOR, h.lanewise(VectorOperators.LSHR, 16));
        return ((FloatVector) h.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(0x1p-24f);
    }

    private static void store(FloatVector codes, MemorySegment q, long qb) {
        ByteVector b = (ByteVector) codes.convertShape(VectorOperators.F2B, SB, 0);
        if (SB_FULL) {
            b.intoMemorySegment(q, qb, ORDER);
        } else {
            b.intoMemorySegment(q, qb, ORDER, SB_MASK);
        }
    }

    // ------------------------------------------------------------------ dequantize pass

    private static void dequantPass(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                                    float[] scale, MemorySegment out, long outOff, int ldo) {
        boolean byCol = axis == ChannelAxis.COLUMNS;
        Parallel.forRange(0, rows, Math.max(1, GRAIN / Math.max(1, cols)), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                long qb = qOff + (long) i * ldq, ob = (outOff + (long) i * ldo) * 4;
                int upper = S.loopBound(cols);
                int k = 0;
                for (; k < upper; k += L) {
                    FloatVector s = byCol ? FloatVector.fromArray(S, scale, k) : FloatVector.broadcast(S, scale[i]);
                    codes(q, qb + k).mul(s).intoMemorySegment(out, ob + 4L * k, ORDER);
                }
                for (; k < cols; k++) {
                    out.set(FLOAT, ob + 4L * k, q.get(BYTE, qb + k) * scale[byCol ? k : i]);
                }
            }
        });
    }

    /** L int8 codes widened to floats. */
    static FloatVector codes(MemorySegment q, long qb) {
        ByteVector b = SB_FULL ? ByteVector.fromMemorySegment(SB, q, qb, ORDER)
                : ByteVector.fromMemorySegment(SB, q, qb, ORDER, SB_MASK);
        return (FloatVector) b.convertShape(VectorOperators.B2F, S, 0);
    }
}
