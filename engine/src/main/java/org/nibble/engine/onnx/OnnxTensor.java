package org.nibble.engine.onnx;

import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A constant tensor of an ONNX file ({@code TensorProto}): an initializer or the value of a {@code Constant} node.
 *
 * <p>The reader has checked that the stored data holds exactly {@link #elementCount()} elements, so the accessors
 * never read past it. {@code raw_data} is not copied at parse time: it stays a view into the file's bytes until an
 * accessor converts it. Data may come from {@code raw_data} (little-endian, any numeric type), {@code float_data}
 * (FLOAT), {@code int32_data} (INT32 and the narrower integer types, BOOL, FLOAT16/BFLOAT16 bit patterns) or
 * {@code int64_data} (INT64).
 */
public final class OnnxTensor {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final String name;
    private final OnnxDataType dataType;
    private final long[] dims;
    private final int count;
    private final MemorySegment raw;   // null unless raw_data
    private final float[] floatData;   // null unless float_data
    private final int[] int32Data;     // null unless int32_data
    private final long[] int64Data;    // null unless int64_data

    OnnxTensor(String name, OnnxDataType dataType, long[] dims, int count, MemorySegment raw, float[] floatData,
               int[] int32Data, long[] int64Data) {
        this.name = name;
        this.dataType = dataType;
        this.dims = dims;
        this.count = count;
        this.raw = raw;
        this.floatData = floatData;
        this.int32Data = int32Data;
        this.int64Data = int64Data;
    }

    /** Tensor name ({@code ""} for an unnamed Constant value). */
    public String name() {
        return name;
    }

    /** Element type. */
    public OnnxDataType dataType() {
        return dataType;
    }

    /** Dimensions (a copy); empty for a scalar. */
    public long[] dims() {
        return dims.clone();
    }

    /** Dimensions as ints (every dimension of a readable tensor fits in an int). */
    public int[] shape() {
        int[] s = new int[dims.length];
        for (int d = 0; d < dims.length; d++) {
            s[d] = (int) dims[d];
        }
        return s;
    }

    /** Number of elements (1 for a scalar). */
    public int elementCount() {
        return count;
    }

    /** Bytes of data as stored in the file (raw_data length, or the decoded typed data size). */
    public long storedBytes() {
        return raw != null ? raw.byteSize() : (long) count * Math.max(1, dataType.byteSize());
    }

    /** Which field held the data: {@code raw_data}, {@code float_data}, {@code int32_data} or {@code int64_data}. */
    public String storage() {
        return raw != null ? "raw_data" : floatData != null ? "float_data" : int32Data != null ? "int32_data"
                : int64Data != null ? "int64_data" : "none";
    }

    private IllegalStateException wrongType(String wanted) {
        return new IllegalStateException("tensor '" + name + "': expected " + wanted + ", got " + dataType
                + " stored in " + storage());
    }

    /** FLOAT data (also FLOAT16/BFLOAT16, widened). */
    public float[] floats() {
        float[] out = new float[count];
        switch (dataType) {
            case FLOAT -> {
                if (floatData != null) {
                    return floatData.clone();
                }
                MemorySegment.copy(raw, F, 0, out, 0, count);
            }
            case FLOAT16 -> {
                for (int e = 0; e < count; e++) {
                    out[e] = Float.float16ToFloat((short) bits16(e));
                }
            }
            case BFLOAT16 -> {
                for (int e = 0; e < count; e++) {
                    out[e] = Float.intBitsToFloat(bits16(e) << 16);
                }
            }
            default -> throw wrongType("FLOAT, FLOAT16 or BFLOAT16");
        }
        return out;
    }

    private int bits16(int e) {
        return raw != null ? raw.get(S, 2L * e) & 0xFFFF : int32Data[e] & 0xFFFF;
    }

    /** Integer data of any integer type as longs (UINT8/UINT16/UINT32 zero-extended, BOOL as 0/1). */
    public long[] longs() {
        if (int64Data != null) {
            return int64Data.clone();
        }
        long[] out = new long[count];
        if (int32Data != null) {
            checkIntegral();
            for (int e = 0; e < count; e++) {
                out[e] = switch (dataType) {
                    case UINT8 -> int32Data[e] & 0xFFL;
                    case UINT16 -> int32Data[e] & 0xFFFFL;
                    default -> int32Data[e];
                };
            }
            return out;
        }
        if (raw == null) {
            throw wrongType("an integer type");
        }
        for (int e = 0; e < count; e++) {
            out[e] = switch (dataType) {
                case INT8 -> raw.get(ValueLayout.JAVA_BYTE, e);
                case UINT8, BOOL -> raw.get(ValueLayout.JAVA_BYTE, e) & 0xFFL;
                case INT16 -> raw.get(S, 2L * e);
                case UINT16 -> raw.get(S, 2L * e) & 0xFFFFL;
                case INT32 -> raw.get(I, 4L * e);
                case UINT32 -> raw.get(I, 4L * e) & 0xFFFFFFFFL;
                case INT64, UINT64 -> raw.get(L, 8L * e);
                default -> throw wrongType("an integer type");
            };
        }
        return out;
    }

    private void checkIntegral() {
        switch (dataType) {
            case INT8, UINT8, INT16, UINT16, INT32, BOOL -> {
            }
            default -> throw wrongType("an integer type");
        }
    }

    /** Integer data as ints; fails if a value does not fit in an int. */
    public int[] ints() {
        long[] l = longs();
        int[] out = new int[l.length];
        for (int e = 0; e < l.length; e++) {
            if (l[e] != (int) l[e]) {
                throw new IllegalStateException("tensor '" + name + "': element " + e + " = " + l[e]
                        + " does not fit in an int");
            }
            out[e] = (int) l[e];
        }
        return out;
    }

    /** Float value of a one-element FLOAT tensor, or of an integer one converted. */
    public float scalarFloat() {
        if (count != 1) {
            throw new IllegalStateException("tensor '" + name + "': expected one element, got shape "
                    + Arrays.toString(dims));
        }
        return dataType == OnnxDataType.FLOAT || dataType == OnnxDataType.FLOAT16
                || dataType == OnnxDataType.BFLOAT16 ? floats()[0] : longs()[0];
    }

    /**
     * Copies elements {@code first .. first + count - 1} (row-major) of FLOAT data into {@code dst} as floats of
     * {@code layout} from byte {@code dstOffset}, with no intermediate array (a model's weights go straight from the
     * file's bytes into the memory that keeps them).
     */
    public void copyFloats(long first, int count, MemorySegment dst, ValueLayout.OfFloat layout, long dstOffset) {
        if (dataType != OnnxDataType.FLOAT) {
            throw wrongType("FLOAT");
        }
        java.util.Objects.checkFromIndexSize(first, count, this.count);
        if (raw != null) {
            MemorySegment.copy(raw, F, 4 * first, dst, layout, dstOffset, count);
        } else {
            MemorySegment.copy(floatData, (int) first, dst, layout, dstOffset, count);
        }
    }

    /** Copies FLOAT data into a new F32 tensor of the same shape in {@code scope}. */
    public Tensor toTensor(Scope scope) {
        if (dataType != OnnxDataType.FLOAT) {
            throw wrongType("FLOAT");
        }
        Tensor t = scope.zeros(DType.F32, shape());
        if (raw != null) {
            MemorySegment.copy(raw, 0, t.segment(), t.offset() * 4, 4L * count);
        } else {
            MemorySegment.copy(floatData, 0, t.segment(), F, t.offset() * 4, count);
        }
        return t;
    }

    @Override
    public String toString() {
        return "OnnxTensor[" + name + " " + dataType + " " + Arrays.toString(dims) + " in " + storage() + "]";
    }
}
