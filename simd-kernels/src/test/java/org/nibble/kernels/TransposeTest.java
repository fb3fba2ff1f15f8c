package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class TransposeTest {
    @Test
    void equalsTwinOverShapes() {
        for (int rows : new int[]{0, 1, 3, 17, 31, 33, 64, 65, 129}) {
            for (int cols : new int[]{0, 1, 7, 32, 33, 100, 255}) {
                int lda = cols + 3, ldb = rows + 1;
                try (Arena a = Arena.ofShared()) {
                    MemorySegment x = SoftmaxTest.matrix(a, 2, rows, cols, lda, rows * 7L + cols, -1, 1);
                    MemorySegment bv = SoftmaxTest.out(a, 1, cols, ldb), br = SoftmaxTest.out(a, 1, cols, ldb);
                    Transpose.transpose(rows, cols, x, 2, lda, bv, 1, ldb);
                    TransposeScalar.transpose(rows, cols, x, 2, lda, br, 1, ldb);
                    SoftmaxTest.assertMatrixGuards("b", bv, 1, cols, rows, ldb);
                    for (int j = 0; j < cols; j++) {
                        assertArrayClose("b row " + j, read(br, 1 + (long) j * ldb, rows),
                                read(bv, 1 + (long) j * ldb, rows), 0, 0);
                        for (int i = 0; i < rows; i++) {
                            assertEquals(x.getAtIndex(FLOAT, 2 + (long) i * lda + j),
                                    bv.getAtIndex(FLOAT, 1 + (long) j * ldb + i));
                        }
                    }
                }
            }
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, 12), y = floats(a, 12);
            var e = assertThrows(IllegalArgumentException.class, () -> Transpose.transpose(3, 4, x, 0, 4, y, 0, 2));
            assertTrue(e.getMessage().startsWith("b:") && e.getMessage().contains(">= 3"), e.getMessage());
        }
    }
}
