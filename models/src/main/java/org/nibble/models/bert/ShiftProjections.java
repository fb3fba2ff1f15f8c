package org.nibble.models.bert;

/** Builds {@link ShiftProjection}s (weight-only ShiftQuant, 8/6/4-bit) from the FP32 projections of a file. */
final class ShiftProjections {
    private ShiftProjections() {
    }

    static BertEncoder.ProjectionFactory factory(int bits) {
        return (scope, refs) -> {
            float[][] f = Projections.fusedArrays(refs);
            return new ShiftProjection(scope, f[0], f[1], (int) f[2][0], (int) f[2][1], bits);
        };
    }
}
