package org.nibble.kernels.quant;

import org.nibble.kernels.Checks;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.INT;
import static org.nibble.kernels.Simd.SHORT;

/**
 * Bit-packed storage of plain ShiftQuant codes (|q| <= qmax, not pre-shifted) for memory and bandwidth: 8, 6 or 4 bits
 * per code, one row of a weight matrix at a time. The group ids and the base scale are kept beside the codes by the
 * owner (e.g. {@code org.nibble.engine.quant.QuantizedTensor}); a code's value is {@code q * s0 * 2^-g[k]}.
 *
 * <p>Layout, designed so the GEMV decodes with shifts of 32-bit lanes (never byte shifts, java-peers.md 2.7) and
 * contiguous loads on any vector width. A row of {@code k} codes is padded with zero codes to
 * {@code kp = roundUp(k, 128)}. Codes are two's complement fields inside little-endian 32-bit words; words come in
 * groups of 8, and field {@code j} of word {@code w} of a group holds code {@code 8j + w} of that group's block:
 * <pre>
 * Q8: block = 32 codes = 8 words x 4 bytes                 (kp bytes per row)
 *       word w:  | byte3: code 24+w | byte2: code 16+w | byte1: code 8+w | byte0: code w |
 * Q4: block = 64 codes = 8 words x 8 nibbles               (kp/2 bytes per row)
 *       word w:  | n7: code 56+w | ... | n1: code 8+w | n0: code w |   (4-bit two's complement)
 * Q6: block = 64 codes = low plane 8 words x 8 nibbles + high plane 8 shorts x 8 two-bit fields   (3kp/4 bytes per row)
 *       row:     [ low plane: kp/8 words (Q4 layout, unsigned low 4 bits) ][ high plane: kp/8 shorts ]
 *       short w: | f7 | ... | f1 | f0 |   f_j = signed top 2 bits of code 8j + w;  code = f_j * 16 + nibble_j
 * </pre>
 * A vector of L int lanes loaded at word {@code o} therefore yields, for field {@code j}, the codes
 * {@code k(o+l, j) = ((o+l)/8)*block + 8j + (o+l)%8} for lanes {@code l}; the GEMV lays the activations out in that
 * order once per call, so the weights are streamed once with plain contiguous loads.
 */
public enum PackedFormat {
    /** 8-bit codes, b = 8 (qmax 127). */
    Q8(8, 4),
    /** 6-bit codes, b = 6 (qmax 31). */
    Q6(6, 8),
    /** 4-bit codes, b = 4 (qmax 7). */
    Q4(4, 8);

    /** Row padding in codes: a multiple of every block and of 16 words (512-bit vectors). */
    public static final int ROW_ALIGN = 128;

    private final int bits, codesPerWord;

    PackedFormat(int bits, int codesPerWord) {
        this.bits = bits;
        this.codesPerWord = codesPerWord;
    }

    /** Bits per code (the ShiftQuant bit width b). */
    public int bits() {
        return bits;
    }

    /** Largest |code|: {@code 2^(b-1) - 1}. */
    public int qmax() {
        return (1 << (bits - 1)) - 1;
    }

    /** Codes per 32-bit word of the (low) plane: 4 for Q8, 8 for Q4 and Q6. */
    public int codesPerWord() {
        return codesPerWord;
    }

    /** Row length after padding: {@code roundUp(k, 128)}. */
    public static int paddedCols(int k) {
        return (k + ROW_ALIGN - 1) / ROW_ALIGN * ROW_ALIGN;
    }

    /** Bytes per packed row of {@code k} codes. */
    public long rowBytes(int k) {
        long kp = paddedCols(k);
        return switch (this) {
            case Q8 -> kp;
            case Q4 -> kp / 2;
            case Q6 -> kp / 2 + kp / 4;
        };
    }

    /** Word index and field of code {@code k} (see the layout). */
    private int word(int k) {
        int block = 8 * codesPerWord, t = k % block;
        return k / block * 8 + t % 8;
    }

    private int field(int k) {
        return k % (8 * codesPerWord) / 8;
    }

    /** The scalar decoder: code {@code k} of the packed row at byte {@code rowOff} of a row of {@code cols} codes. */
    public int code(MemorySegment packed, long rowOff, int cols, int k) {
        int w = packed.get(INT, rowOff + 4L * word(k)), j = field(k);
        return switch (this) {
            case Q8 -> (w << (24 - 8 * j)) >> 24;
            case Q4 -> (w << (28 - 4 * j)) >> 28;
            case Q6 -> {
                int hi = packed.get(SHORT, rowOff + paddedCols(cols) / 2 + 2L * word(k));
                yield ((hi << (30 - 2 * j)) >> 30) * 16 + ((w >>> (4 * j)) & 0xF);
            }
        };
    }

    /**
     * Packs one row: {@code cols} int8 codes at {@code codes[codesOff..]} (|q| <= qmax) into {@code rowBytes(cols)}
     * bytes at {@code dst[dstOff..]} (padding codes are 0).
     */
    public void packRow(MemorySegment codes, long codesOff, int cols, MemorySegment dst, long dstOff) {
        Checks.checkRange("codes", codes, codesOff, cols, 1);
        Checks.checkRange("dst", dst, dstOff, rowBytes(cols), 1);
        int kp = paddedCols(cols), words = kp / codesPerWord;
        int mask = (1 << (this == Q6 ? 4 : bits)) - 1;
        int[] lo = new int[words];
        short[] hi = new short[this == Q6 ? words : 0];
        for (int k = 0; k < cols; k++) {
            int q = codes.get(BYTE, codesOff + k);
            if (q > qmax() || q < -qmax()) {
                throw new IllegalArgumentException("codes[" + k + "]: expected |q| <= " + qmax() + " for " + this
                        + ", got " + q);
            }
            int w = word(k), j = field(k);
            int fieldBits = this == Q6 ? 4 : bits;
            lo[w] |= (q & mask) << (fieldBits * j);
            if (this == Q6) {
                hi[w] |= (short) (((q >> 4) & 3) << (2 * j));
            }
        }
        for (int w = 0; w < words; w++) {
            dst.set(INT, dstOff + 4L * w, lo[w]);
        }
        for (int w = 0; w < hi.length; w++) {
            dst.set(SHORT, dstOff + kp / 2 + 2L * w, hi[w]);
        }
    }

    /** Unpacks one row into {@code cols} int8 codes (the inverse of {@link #packRow}). */
    public void unpackRow(MemorySegment src, long srcOff, int cols, MemorySegment codes, long codesOff) {
        Checks.checkRange("src", src, srcOff, rowBytes(cols), 1);
        Checks.checkRange("codes", codes, codesOff, cols, 1);
        for (int k = 0; k < cols; k++) {
            codes.set(BYTE, codesOff + k, (byte) code(src, srcOff, cols, k));
        }
    }
}
