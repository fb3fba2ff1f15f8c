package org.nibble.engine.onnx;

import java.util.Map;

/**
 * A parsed ONNX model ({@code ModelProto}).
 *
 * @param irVersion       ONNX IR version
 * @param producerName    producer, e.g. {@code "pytorch"}
 * @param producerVersion producer version
 * @param opsets          operator set version by domain ({@code ""} is the default ONNX domain)
 * @param graph           the main graph
 */
public record OnnxModel(long irVersion, String producerName, String producerVersion, Map<String, Long> opsets,
                        OnnxGraph graph) {
}
