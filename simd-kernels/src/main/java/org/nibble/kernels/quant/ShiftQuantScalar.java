package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/**
 * Scalar reference twin of {@link ShiftQuant}: same signatures, plain loops, the readable spec of papers.md 1.3 and
 * the test oracle. The vector twin must produce bit-identical codes, group ids and scales.
 */
public final class ShiftQuantScalar {
    private ShiftQuantScalar() {
    }

    /** See {@link ShiftQuant#quantize}. */
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
        if (bigR < QuantSupport.MIN_RANGE) {
            for (int c = 0; c < nc; c++) {
                groupIds.set(BYTE, gOff + c, (byte) (groups - 1));
            }
            for (int i = 0; i < rows; i++) {
                for (int k = 0; k < cols; k++) {
                    q.set(BYTE, qOff + (long) i * ldq + k, (byte) 0);
                }
            }
            return 1f;
        }
        float[] m = new float[nc], pow = new float[nc];
        for (int c = 0; c < nc; c++) {
            int g = QuantSupport.groupIndex(bigR, r[c], groups);
            groupIds.set(BYTE, gOff + c, (byte) g);
            m[c] = QuantSupport.multiplier(qmax, bigR, g);
            pow[c] = preShift ? 1 << (groups - 1 - g) : 1;   // the pre-shift, papers.md 1.4 option 2
        }
        for (int i = 0; i < rows; i++) {
            int key = QuantSupport.rowKey(seed, i);
            for (int k = 0; k < cols; k++) {
                int c = axis == ChannelAxis.COLUMNS ? k : i;
                float v = x.getAtIndex(FLOAT, xOff + (long) i * ldx + k) * m[c];
                q.set(BYTE, qOff + (long) i * ldq + k, code(v, qmax, rounding, key, k, pow[c]));
            }
        }
        return bigR / qmax;
    }

    /** r[c] = max |x| over channel c (papers.md 1.3); throws naming the tensor on NaN/Inf. */
    static float[] ranges(String name, MemorySegment x, long xOff, int rows, int cols, int ldx, ChannelAxis axis) {
        float[] r = new float[QuantSupport.channels(axis, rows, cols)];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                int c = axis == ChannelAxis.COLUMNS ? k : i;
                r[c] = Math.max(r[c], Math.abs(x.getAtIndex(FLOAT, xOff + (long) i * ldx + k)));
            }
        }
        for (float v : r) {
            if (!(v <= Float.MAX_VALUE)) {   // Math.max propagates NaN; Inf stays Inf
                throw QuantSupport.nonFinite(name, x, xOff, rows, cols, ldx);
            }
        }
        return r;
    }

    /** One code: clamp to [-qmax, qmax], round, clamp again (SR can reach qmax + 1 by float rounding), pre-shift. */
    static byte code(float v, int qmax, Rounding rounding, int key, int col, float pow) {
        v = Math.min(Math.max(v, -qmax), qmax);
        float r = rounding == Rounding.NEAREST_EVEN ? (float) Math.rint(v)
                : Math.min((float) Math.floor(v + QuantSupport.uniform(key, col)), qmax);
        return (byte) (int) (r * pow);
    }

    /** See {@link ShiftQuant#quantizePerChannel}. */
    public static void quantizePerChannel(String name, MemorySegment x, long xOff, int rows, int cols, int ldx,
                                          ChannelAxis axis, int bits, Rounding rounding, long seed, MemorySegment q,
                                          long qOff, int ldq, MemorySegment scales, long sOff) {
        QuantSupport.checkPerChannel(name, x, xOff, rows, cols, ldx, axis, bits, rounding, q, qOff, ldq, scales,
                sOff);
        float[] r = QuantSupport.perChannelMultipliers(ranges(name, x, xOff, rows, cols, ldx, axis), bits, scales,
                sOff);
        int qmax = QuantSupport.qmax(bits);
        for (int i = 0; i < rows; i++) {
            int key = QuantSupport.rowKey(seed, i);
            for (int k = 0; k < cols; k++) {
                int c = axis == ChannelAxis.COLUMNS ? k : i;
                float v = x.getAtIndex(FLOAT, xOff + (long) i * ldx + k) * r[c];
                q.set(BYTE, qOff + (long) i * ldq + k, code(v, qmax, rounding, key, k, 1f));
            }
        }
    }

    /** See {@link ShiftQuant#dequantize}. */
    public static void dequantize(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                                  MemorySegment groupIds, long gOff, float s0, int groups, boolean preShifted,
                                  MemorySegment out, long outOff, int ldo) {
        QuantSupport.checkDequant(q, qOff, rows, cols, ldq, axis, groupIds, gOff, groups, out, outOff, ldo);
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                int c = axis == ChannelAxis.COLUMNS ? k : i;
                float scale = Math.scalb(s0, -(preShifted ? groups - 1 : groupIds.get(BYTE, gOff + c)));
                out.setAtIndex(FLOAT, outOff + (long) i * ldo + k, q.get(BYTE, qOff + (long) i * ldq + k) * scale);
            }
        }
    }

    /** See {@link ShiftQuant#dequantizePerChannel}. */
    public static void dequantizePerChannel(MemorySegment q, long qOff, int rows, int cols, int ldq, ChannelAxis axis,
                                            MemorySegment scales, long sOff, MemorySegment out, long outOff,
                                            int ldo) {
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                int c = axis == ChannelAxis.COLUMNS ? k : i;
                out.setAtIndex(FLOAT, outOff + (long) i * ldo + k,
                        q.get(BYTE, qOff + (long) i * ldq + k) * scales.getAtIndex(FLOAT, sOff + c));
            }
        }
    }
}
