package org.nibble.engine.onnx;

import java.util.List;
import java.util.Map;

/**
 * A graph node ({@code NodeProto}).
 *
 * @param name       node name (may be empty)
 * @param opType     operator, e.g. {@code "MatMul"}
 * @param domain     operator domain ({@code ""} is the default ONNX domain)
 * @param inputs     input value names ({@code ""} marks an omitted optional input)
 * @param outputs    output value names
 * @param attributes attributes by name, in file order
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       Map<String, OnnxAttribute> attributes) {

    /** The attribute, or {@code null}. */
    public OnnxAttribute attribute(String attrName) {
        return attributes.get(attrName);
    }

    /** A short description for error messages: op type, name, inputs and outputs. */
    public String describe() {
        return opType + " node '" + name + "' (inputs " + inputs + ", outputs " + outputs + ")";
    }
}
