package org.nibble.engine.onnx;

import java.util.List;

/**
 * A graph input or output ({@code ValueInfoProto}): its name, element type and shape. Each dimension is either a
 * number or a symbolic name such as {@code "batch_size"}.
 *
 * @param name     value name
 * @param elemType element type, {@link OnnxDataType#UNDEFINED} when the file does not say
 * @param dims     one entry per dimension: a {@code Long} (dim_value) or a {@code String} (dim_param)
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, List<Object> dims) {
}
