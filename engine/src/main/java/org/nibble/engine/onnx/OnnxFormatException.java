package org.nibble.engine.onnx;

import java.io.IOException;

/** An ONNX file that cannot be read: truncated, corrupt, not ONNX, or using a feature nibble does not support. */
public final class OnnxFormatException extends IOException {
    /** @param message names what is wrong and where (message, field, tensor or node) */
    public OnnxFormatException(String message) {
        super(message);
    }

    /** @param message names what is wrong and where; {@code cause} is the low-level protobuf error */
    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
