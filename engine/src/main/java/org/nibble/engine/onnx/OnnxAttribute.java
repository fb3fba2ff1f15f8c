package org.nibble.engine.onnx;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A node attribute ({@code AttributeProto}). Only the field matching {@link #type()} is meaningful.
 *
 * @param name    attribute name
 * @param type    {@code AttributeProto.AttributeType} code: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS,
 *                8 STRINGS (others are kept as their type code only)
 * @param f       FLOAT value
 * @param i       INT value
 * @param s       STRING value (bytes)
 * @param t       TENSOR value
 * @param floats  FLOATS value
 * @param ints    INTS value
 * @param strings STRINGS value
 */
public record OnnxAttribute(String name, int type, float f, long i, byte[] s, OnnxTensor t, float[] floats,
                            long[] ints, List<byte[]> strings) {
    /** Attribute type codes of onnx.proto. */
    public static final int FLOAT = 1, INT = 2, STRING = 3, TENSOR = 4, GRAPH = 5, FLOATS = 6, INTS = 7, STRINGS = 8;

    /** The STRING value decoded as UTF-8. */
    public String string() {
        return s == null ? null : new String(s, StandardCharsets.UTF_8);
    }
}
