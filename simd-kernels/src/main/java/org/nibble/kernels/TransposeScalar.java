package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link Transpose}: the naive double loop. */
public final class TransposeScalar {
    private TransposeScalar() {
    }

    public static void transpose(int rows, int cols, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff,
                                 int ldb) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                b.setAtIndex(FLOAT, bOff + (long) j * ldb + i, a.getAtIndex(FLOAT, aOff + (long) i * lda + j));
            }
        }
    }
}
