package org.nibble.models.bert;

/** ShiftQuant weight projections (needs the quant kernels; not available yet). */
final class ShiftProjections {
    private ShiftProjections() {
    }

    static BertEncoder.ProjectionFactory factory(int bits) {
        return (scope, refs) -> {
            throw new UnsupportedOperationException("ShiftQuant " + bits + "-bit weights are not available yet");
        };
    }
}
