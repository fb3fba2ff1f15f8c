package org.nibble.engine.onnx;

import java.util.List;
import java.util.Map;

/**
 * A graph ({@code GraphProto}): nodes in topological order as stored, initializers by name, inputs and outputs.
 *
 * @param name         graph name
 * @param nodes        nodes in file order
 * @param initializers constant tensors by name, in file order
 * @param inputs       graph inputs (initializers are excluded when the file also lists them as inputs)
 * @param outputs      graph outputs
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers,
                        List<OnnxValueInfo> inputs, List<OnnxValueInfo> outputs) {

    /** The initializer, or {@code null}. */
    public OnnxTensor initializer(String tensorName) {
        return initializers.get(tensorName);
    }
}
