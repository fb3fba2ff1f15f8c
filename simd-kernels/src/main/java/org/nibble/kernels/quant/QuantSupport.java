package org.nibble.kernels.quant;

import org.nibble.kernels.Checks;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Pieces shared by {@link ShiftQuant} and its scalar twin {@link ShiftQuantScalar}: argument checks, the group-index
 * fast path, the per-channel multiplier convention and the counter-based hash behind stochastic rounding. All of it is
 * O(channels) or scalar-per-row work; the per-element loops live in the two twins.
 */
final class QuantSupport {
    private QuantSupport() {
    }

    /**
     * Below this tensor range (2^-100) a tensor quantizes to all zeros with base scale 1: the multiplier
     * {@code qmax * 2^(G-1) / R} would overflow float for ranges near {@link Float#MIN_NORMAL}. The error made is
     * below 2^-100 per element.
     */
    static final float MIN_RANGE = 0x1p-100f;

    /** 1.5 * 2^23: {@code (v + MAGIC) - MAGIC == Math.rint(v)} for |v| < 2^22 under IEEE round-to-nearest-even. */
    static final float MAGIC = 0x1.8p23f;

    static int qmax(int bits) {
        return (1 << (bits - 1)) - 1;
    }

    /** Validates the bit width and group count; with {@code preShift}, also the int8 container bound. */
    static void checkSpec(int bits, int groups, boolean preShift) {
        if (bits < 2 || bits > 8) {
            throw new IllegalArgumentException("bits: expected 2..8, got " + bits);
        }
        if (groups < 1 || groups > 8) {
            throw new IllegalArgumentException("groups: expected 1..8, got " + groups);
        }
        if (preShift && (qmax(bits) << (groups - 1)) > 127) {
            throw new IllegalArgumentException("groups: pre-shifted int8 containers need qmax * 2^(G-1) <= 127, got "
                    + "qmax " + qmax(bits) + " (bits " + bits + ") * 2^" + (groups - 1) + " = "
                    + (qmax(bits) << (groups - 1)) + "; use at most G = " + maxContainerGroups(bits)
                    + " groups for " + bits + " bits, or plain (unshifted) codes");
        }
    }

    /** Largest G whose pre-shifted codes fit an int8 container for {@code bits} (b=4: 5, b=6: 3, b=8: 1). */
    static int maxContainerGroups(int bits) {
        int g = 1;
        while ((qmax(bits) << g) <= 127) {
            g++;
        }
        return g;
    }

    static void checkArgs(String name, MemorySegment x, long xOff, int rows, int cols, int ldx, ChannelAxis axis,
                          int bits, int groups, Rounding rounding, boolean preShift, MemorySegment q, long qOff,
                          int ldq, MemorySegment groupIds, long gOff) {
        if (name == null) {
            throw new NullPointerException("name is null");
        }
        if (axis == null || rounding == null) {
            throw new NullPointerException(name + ": axis and rounding must not be null");
        }
        checkSpec(bits, groups, preShift);
        Checks.checkMatrix(name, x, xOff, rows, cols, ldx, 4);
        Checks.checkMatrix(name, " codes", q, qOff, rows, cols, ldq, 1);
        Checks.checkRange(name, " group ids", groupIds, gOff, channels(axis, rows, cols), 1);
    }

    static int channels(ChannelAxis axis, int rows, int cols) {
        return axis == ChannelAxis.COLUMNS ? cols : rows;
    }

    /**
     * Fast exact group index (papers.md 1.3): the largest {@code g <= G-1} with {@code r * 2^g <= R}, computed from
     * the exponent and mantissa bits ({@code floor(log2(R/r)) = eR - er - (mr > mR ? 1 : 0)}), no log. Zero and
     * subnormal ranges go to the last group.
     */
    static int groupIndex(float bigR, float r, int groups) {
        if (r < Float.MIN_NORMAL) {
            return groups - 1;
        }
        int mR = Float.floatToRawIntBits(bigR) & 0x7FFFFF, mr = Float.floatToRawIntBits(r) & 0x7FFFFF;
        int g = Math.getExponent(bigR) - Math.getExponent(r) - (mr > mR ? 1 : 0);
        return Math.min(groups - 1, g);
    }

    /**
     * The one convention for {@code x / s[k]} used by both twins and the tests: {@code v = x * m[k]} with
     * {@code m[k] = 2^g[k] * (qmax / R)} computed in float ({@code qmax / R} rounded once, then scaled exactly by the
     * power of two). The worked test vector of papers.md 1.4 (e.g. 0.5 * 7 = 3.5 -> 4, half-even) comes out as
     * specified with it; {@code x * (1 / s0)} would give 3.4999998 -> 3 there.
     */
    static float multiplier(int qmax, float bigR, int g) {
        return Math.scalb(qmax / bigR, g);
    }

    /** 32-bit finalizer ("lowbias32", C. Wellons): a bijection with good avalanche, cheap in int lanes. */
    static int mix(int h) {
        h ^= h >>> 16;
        h *= 0x7FEB352D;
        h ^= h >>> 15;
        h *= 0x846CA68B;
        h ^= h >>> 16;
        return h;
    }

    static final int GOLDEN = 0x9E3779B9;

    /** Per-row key of the stochastic-rounding hash: depends on the seed and the row index only. */
    static int rowKey(long seed, int row) {
        return mix((int) seed ^ mix(row * GOLDEN + (int) (seed >>> 32)));
    }

    /**
     * Uniform {@code u in [0, 1)} for element (row, col) of the source matrix: 24 hash bits scaled by 2^-24 (exact).
     * {@code u = (mix(rowKey + col * GOLDEN) >>> 8) * 2^-24}.
     */
    static float uniform(int rowKey, int col) {
        return (mix(rowKey + col * GOLDEN) >>> 8) * 0x1p-24f;
    }

    /** Throws the NaN/Inf error naming the tensor and the first offending element. */
    static IllegalArgumentException nonFinite(String name, MemorySegment x, long xOff, int rows, int cols, int ldx) {
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                float v = x.getAtIndex(FLOAT, xOff + (long) i * ldx + k);
                if (!Float.isFinite(v)) {
                    return new IllegalArgumentException(name + ": expected finite values to quantize, got " + v
                            + " at [" + i + ", " + k + "]");
                }
            }
        }
        return new IllegalArgumentException(name + ": expected finite values to quantize, got a non-finite range");
    }

    static void checkPerChannel(String name, MemorySegment x, long xOff, int rows, int cols, int ldx,
                                ChannelAxis axis, int bits, Rounding rounding, MemorySegment q, long qOff, int ldq,
                                MemorySegment scales, long sOff) {
        if (name == null) {
            throw new NullPointerException("name is null");
        }
        if (axis == null || rounding == null) {
            throw new NullPointerException(name + ": axis and rounding must not be null");
        }
        checkSpec(bits, 1, false);
        Checks.checkMatrix(name, x, xOff, rows, cols, ldx, 4);
        Checks.checkMatrix(name, " codes", q, qOff, rows, cols, ldq, 1);
        Checks.checkRange(name, " scales", scales, sOff, channels(axis, rows, cols), 4);
    }

    /**
     * Per-channel symmetric baseline: writes {@code s[c] = r[c] / qmax} (1 for an all-zero channel) and returns the
     * multipliers {@code qmax / r[c]} (0 for an all-zero channel), the same convention as {@link #multiplier}.
     */
    static float[] perChannelMultipliers(float[] r, int bits, MemorySegment scales, long sOff) {
        int qmax = qmax(bits);
        float[] m = new float[r.length];
        for (int c = 0; c < r.length; c++) {
            boolean zero = r[c] < MIN_RANGE;
            scales.setAtIndex(FLOAT, sOff + c, zero ? 1f : r[c] / qmax);
            m[c] = zero ? 0f : qmax / r[c];
        }
        return m;
    }

    static void checkDequant(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                             MemorySegment groupIds, long gOff, int groups, MemorySegment out, long outOff,
                             int ldo) {
        if (axis == null) {
            throw new NullPointerException("axis is null");
        }
        checkSpec(2, groups, false);
        Checks.checkMatrix("q", q, qOff, rows, cols, ldq, 1);
        Checks.checkRange("groupIds", groupIds, gOff, channels(axis, rows, cols), 1);
        Checks.checkMatrix("out", out, outOff, rows, cols, ldo, 4);
    }
}
