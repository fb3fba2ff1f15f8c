package org.nibble.engine.onnx;

import com.google.protobuf.CodedOutputStream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Writes protobuf messages field by field (test-side encoder for synthetic ONNX files). */
final class OnnxBytes {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CodedOutputStream out = CodedOutputStream.newInstance(bytes);

    OnnxBytes varint(int field, long v) {
        return io(() -> out.writeInt64(field, v));
    }

    OnnxBytes string(int field, String s) {
        return io(() -> out.writeString(field, s));
    }

    OnnxBytes bytes(int field, byte[] b) {
        return io(() -> out.writeByteArray(field, b));
    }

    OnnxBytes message(int field, OnnxBytes m) {
        return bytes(field, m.toByteArray());
    }

    OnnxBytes fixed32Float(int field, float f) {
        return io(() -> out.writeFloat(field, f));
    }

    /** Packed repeated floats. */
    OnnxBytes packedFloats(int field, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return bytes(field, b.array());
    }

    /** Packed repeated varints. */
    OnnxBytes packedVarints(int field, long... v) {
        OnnxBytes inner = new OnnxBytes();
        for (long x : v) {
            inner.io(() -> inner.out.writeInt64NoTag(x));
        }
        return bytes(field, inner.toByteArray());
    }

    byte[] toByteArray() {
        io(out::flush);
        return bytes.toByteArray();
    }

    private interface IoRun {
        void run() throws IOException;
    }

    private OnnxBytes io(IoRun r) {
        try {
            r.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    static byte[] floatsLE(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static byte[] longsLE(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    /** TensorProto with dims, type and raw_data. */
    static OnnxBytes rawTensor(String name, int type, byte[] raw, long... dims) {
        OnnxBytes t = new OnnxBytes();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, type).string(8, name).bytes(9, raw);
    }

    /**
     * A small valid model: Y = MatMul(X, W) + B with W in raw_data [2,3], B in float_data, a Constant node with an
     * INT64 tensor in int64_data, an INT8 tensor in int32_data, inputs and outputs; the graph is the last field.
     */
    static byte[] smallModel() {
        OnnxBytes w = rawTensor("W", 1, floatsLE(1, 2, 3, 4, 5, 6), 2, 3);
        OnnxBytes b = new OnnxBytes().varint(1, 3).varint(2, 1).string(8, "B").packedFloats(4, 0.5f, -1f, 2f);
        OnnxBytes zp = new OnnxBytes().varint(1, 3).varint(2, 3).string(8, "ZP").packedVarints(5, -1, 0, 127);
        OnnxBytes shape = new OnnxBytes().varint(1, 2).varint(2, 7).packedVarints(7, 1, -1);
        OnnxBytes constant = new OnnxBytes().string(2, "shape_out").string(3, "c0").string(4, "Constant")
                .message(5, new OnnxBytes().string(1, "value").varint(20, 4).message(5, shape));
        OnnxBytes matmul = new OnnxBytes().string(1, "X").string(1, "W").string(2, "XW").string(3, "mm")
                .string(4, "MatMul");
        OnnxBytes add = new OnnxBytes().string(1, "XW").string(1, "B").string(2, "Y").string(3, "add")
                .string(4, "Add").message(5, new OnnxBytes().string(1, "alpha").varint(20, 1).fixed32Float(2, 0.25f))
                .message(5, new OnnxBytes().string(1, "perm").varint(20, 7).packedVarints(8, 0, 2, 1));
        OnnxBytes x = new OnnxBytes().string(1, "X").message(2, new OnnxBytes().message(1, new OnnxBytes()
                .varint(1, 1).message(2, new OnnxBytes().message(1, new OnnxBytes().string(2, "batch"))
                        .message(1, new OnnxBytes().varint(1, 2)))));
        OnnxBytes y = new OnnxBytes().string(1, "Y");
        OnnxBytes graph = new OnnxBytes().message(1, constant).message(1, matmul).message(1, add).string(2, "g")
                .message(5, w).message(5, b).message(5, zp).message(11, x).message(12, y);
        return new OnnxBytes().varint(1, 8).string(2, "test").string(3, "1.0")
                .message(8, new OnnxBytes().string(1, "").varint(2, 17)).message(7, graph).toByteArray();
    }
}
