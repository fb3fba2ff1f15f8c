package org.nibble.engine.quant;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.quant.ChannelAxis;
import org.nibble.kernels.quant.PackedFormat;
import org.nibble.kernels.quant.PackedGemv;
import org.nibble.kernels.quant.Rounding;
import org.nibble.kernels.quant.ShiftQuant;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static org.nibble.kernels.Simd.BYTE;

/**
 * A weight matrix in packed ShiftQuant storage: Q8, Q6 or Q4 codes ({@link PackedFormat}), one group id per column
 * (the contraction axis K of {@code y = W x}) and one float base scale (papers.md 1.3):
 * <pre>
 *   QuantizedTensor  rows x cols, format Q4|Q6|Q8, G groups
 *   data      | row 0: rowBytes | row 1: rowBytes | ... |   rowBytes = format.rowBytes(cols), cols padded to 256
 *             each row: 32-bit little-endian words of two's complement fields, field j of word w of an 8-word
 *             group = code 8j + w of that group's block (Q8: 4 fields/word; Q4: 8 nibbles/word; Q6: a Q4-layout
 *             plane of low nibbles, then a plane of words with the signed top 2 bits, each word serving two low words) --
 *             drawn in full in
 *             {@link PackedFormat}
 *   groupIds  | g[0] | g[1] | ... | g[cols-1] |         one byte each, 0 .. G-1
 *   s0        float
 *   value(r, k) = code(r, k) * s0 * 2^-g[k]             |code| <= 2^(b-1) - 1, no zero point
 * </pre>
 *
 * <p><b>Why a class and not new {@link DType} constants.</b> {@code DType} promises a whole number of bytes per element
 * ({@link DType#byteSize()}) and a {@link Tensor} reads any element on its own from (segment, offset, strides). A Q4
 * code is half a byte, a Q6 code is split over two planes, and no code means anything without its column's group id
 * and the tensor's base scale; strided views (transpose, narrow) of packed rows make no sense either. So the packed
 * formats live beside {@code Tensor}, not inside it: a {@code QuantizedTensor} is a read-only 2-D weight whose only
 * operations are the ones inference needs ({@link #gemv}, {@link #dequantize}, {@link #unpack}), and {@code DType}
 * keeps its byte-size contract. Memory belongs to a {@link Scope} like any tensor's.
 */
public final class QuantizedTensor {
    private final Scope scope;
    private final PackedFormat format;
    private final int rows, cols, groups;
    private final float baseScale;
    private final MemorySegment data, groupIds;

    private QuantizedTensor(Scope scope, PackedFormat format, int rows, int cols, int groups, float baseScale,
                            MemorySegment data, MemorySegment groupIds) {
        this.scope = scope;
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.groups = groups;
        this.baseScale = baseScale;
        this.data = data;
        this.groupIds = groupIds;
    }

    /**
     * Quantizes a 2-D F32 weight {@code w} (rows = output features, cols = K) with ShiftQuant, round-to-nearest-even,
     * {@code groups} groups along the columns, at {@code format.bits()} bits, and packs it into {@code scope}.
     */
    public static QuantizedTensor quantize(Tensor w, PackedFormat format, int groups, Scope scope) {
        if (w == null || format == null || scope == null) {
            throw new NullPointerException("w, format and scope must not be null");
        }
        if (w.rank() != 2 || w.dtype() != DType.F32) {
            throw new IllegalArgumentException("w: expected a 2-D F32 tensor, got shape " + Arrays.toString(w.shape())
                    + " " + w.dtype());
        }
        Tensor c = w.contiguous();
        int rows = c.dim(0), cols = c.dim(1);
        MemorySegment codes = scope.allocate((long) rows * cols), g = scope.allocate(Math.max(1, cols));
        float s0 = ShiftQuant.quantize("w", c.segment(), c.offset(), rows, cols, cols, ChannelAxis.COLUMNS,
                format.bits(), groups, Rounding.NEAREST_EVEN, 0, false, codes, 0, cols, g, 0);
        QuantizedTensor q = packInto(scope, format, codes, rows, cols, g, s0, groups);
        return q;
    }

    /**
     * Packs plain codes (row-major {@code rows x cols}, |code| <= qmax of the format) with their group ids (one per
     * column, 0..G-1) and base scale.
     */
    public static QuantizedTensor pack(PackedFormat format, byte[] codes, int rows, int cols, byte[] groupIds,
                                       float baseScale, int groups, Scope scope) {
        if (format == null || codes == null || groupIds == null || scope == null) {
            throw new NullPointerException("format, codes, groupIds and scope must not be null");
        }
        if (rows < 0 || cols < 0 || codes.length != (long) rows * cols) {
            throw new IllegalArgumentException("codes: expected rows * cols = " + (long) rows * cols + " codes, got "
                    + codes.length + " (rows " + rows + ", cols " + cols + ")");
        }
        if (groupIds.length != cols) {
            throw new IllegalArgumentException("groupIds: expected " + cols + " (cols), got " + groupIds.length);
        }
        if (groups < 1 || groups > 8) {
            throw new IllegalArgumentException("groups: expected 1..8, got " + groups);
        }
        for (int k = 0; k < cols; k++) {
            if (groupIds[k] < 0 || groupIds[k] >= groups) {
                throw new IllegalArgumentException("groupIds[" + k + "]: expected 0.." + (groups - 1) + ", got "
                        + groupIds[k]);
            }
        }
        if (!(baseScale > 0) || Float.isInfinite(baseScale)) {
            throw new IllegalArgumentException("baseScale: expected a finite value > 0, got " + baseScale);
        }
        MemorySegment c = scope.allocate(codes.length), g = scope.allocate(Math.max(1, cols));
        MemorySegment.copy(codes, 0, c, BYTE, 0, codes.length);
        MemorySegment.copy(groupIds, 0, g, BYTE, 0, cols);
        return packInto(scope, format, c, rows, cols, g, baseScale, groups);
    }

    private static QuantizedTensor packInto(Scope scope, PackedFormat format, MemorySegment codes, int rows, int cols,
                                            MemorySegment g, float s0, int groups) {
        long rb = format.rowBytes(cols);
        MemorySegment data = scope.allocate(rows * rb);
        for (int r = 0; r < rows; r++) {
            format.packRow(codes, (long) r * cols, cols, data, r * rb);
        }
        return new QuantizedTensor(scope, format, rows, cols, groups, s0, data, g);
    }

    /** The plain codes, row-major {@code rows x cols}. */
    public byte[] unpack() {
        checkAlive();
        byte[] out = new byte[Math.multiplyExact(rows, cols)];
        MemorySegment seg = MemorySegment.ofArray(out);
        long rb = format.rowBytes(cols);
        for (int r = 0; r < rows; r++) {
            format.unpackRow(data, r * rb, cols, seg, (long) r * cols);
        }
        return out;
    }

    /** A new F32 {@code rows x cols} tensor in {@code into}: {@code code * s0 * 2^-g[k]}. */
    public Tensor dequantize(Scope into) {
        checkAlive();
        Tensor out = into.zeros(DType.F32, rows, cols);
        MemorySegment codes = MemorySegment.ofArray(unpack());
        ShiftQuant.dequantize(codes, 0, rows, cols, cols, ChannelAxis.COLUMNS, groupIds, 0, baseScale, groups, false,
                out.segment(), out.offset(), cols);
        return out;
    }

    /**
     * {@code y = W x}: F32 vectors {@code x} (cols elements) and {@code y} (rows elements), contiguous; the packed
     * weights are decoded in registers and streamed once ({@link PackedGemv}).
     */
    public void gemv(Tensor x, Tensor y) {
        checkAlive();
        checkVector("x", x, cols);
        checkVector("y", y, rows);
        PackedGemv.gemv(format, rows, cols, data, 0, groupIds, 0, baseScale, x.segment(), x.offset(), y.segment(),
                y.offset());
    }

    private static void checkVector(String name, Tensor t, int n) {
        if (t.dtype() != DType.F32 || t.numel() != n || !t.isContiguous()) {
            throw new IllegalArgumentException(name + ": expected a contiguous F32 tensor of " + n
                    + " elements, got shape " + Arrays.toString(t.shape()) + " " + t.dtype()
                    + (t.isContiguous() ? "" : " (not contiguous)"));
        }
    }

    private void checkAlive() {
        if (!scope.isAlive()) {
            throw new IllegalStateException("scope '" + scope.name() + "' is closed: this " + format
                    + " tensor can no longer be used");
        }
    }

    public PackedFormat format() {
        return format;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Number of shift groups G. */
    public int groups() {
        return groups;
    }

    /** The base scale s0 (the coarsest group's scale). */
    public float baseScale() {
        return baseScale;
    }

    /** A copy of the group ids, one per column. */
    public byte[] groupIds() {
        checkAlive();
        return groupIds.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    /** Bytes of packed codes (excluding the group ids and the scale). */
    public long byteSize() {
        return data.byteSize();
    }

    /** The packed codes (layout in the class comment). */
    public MemorySegment segment() {
        checkAlive();
        return data;
    }

    @Override
    public String toString() {
        return "QuantizedTensor[" + format + ", " + rows + "x" + cols + ", G=" + groups + ", s0=" + baseScale + ", "
                + data.byteSize() + " bytes]";
    }
}
