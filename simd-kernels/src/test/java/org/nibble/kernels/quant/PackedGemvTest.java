package org.nibble.kernels.quant;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.quant.QuantTestSupport.alloc;
import static org.nibble.kernels.quant.QuantTestSupport.bytes;
import static org.nibble.kernels.quant.QuantTestSupport.randomCodes;
import static org.nibble.kernels.quant.QuantTestSupport.randomFloats;
import static org.nibble.kernels.quant.QuantTestSupport.toBytes;

class PackedGemvTest {
    static final int[] COLS = {1, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129, 255, 1000, 1024, 4099};

    @Test
    void packUnpackRoundTripsEveryFormatAndTail() {
        SplittableRandom rng = new SplittableRandom(21);
        for (PackedFormat f : PackedFormat.values()) {
            for (int cols : COLS) {
                MemorySegment codes = randomCodes(rng, cols, f.qmax());
                codes.set(BYTE, 0, (byte) f.qmax());
                codes.set(BYTE, cols - 1, (byte) -f.qmax());
                MemorySegment packed = alloc(f.rowBytes(cols) + 3), back = alloc(cols);
                f.packRow(codes, 0, cols, packed, 3);
                f.unpackRow(packed, 3, cols, back, 0);
                assertArrayEquals(toBytes(codes, cols), toBytes(back, cols), f + " cols=" + cols);
                // padding codes decode to zero
                for (int k = cols; k < PackedFormat.paddedCols(cols); k++) {
                    assertEquals(0, f.code(packed, 3, cols, k));
                }
            }
        }
        assertEquals(256, PackedFormat.Q8.rowBytes(100));
        assertEquals(128, PackedFormat.Q4.rowBytes(100));
        assertEquals(192, PackedFormat.Q6.rowBytes(100));
    }

    @Test
    void packRejectsCodesOutOfRange() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> PackedFormat.Q4.packRow(bytes(1, -8, 0), 0, 3, alloc(PackedFormat.Q4.rowBytes(3)), 0));
        assertTrue(e.getMessage().contains("codes[1]") && e.getMessage().contains("7"), e.getMessage());
    }

    @Test
    void gemvEqualsScalarTwinAndDequantizedFloatGemv() {
        SplittableRandom rng = new SplittableRandom(22);
        for (PackedFormat f : PackedFormat.values()) {
            for (int cols : COLS) {
                int rows = 1 + rng.nextInt(20);
                long rb = f.rowBytes(cols);
                MemorySegment codes = randomCodes(rng, (long) rows * cols, f.qmax());
                MemorySegment w = alloc(5 + rows * rb), g = alloc(cols + 1);
                for (int r = 0; r < rows; r++) {
                    f.packRow(codes, (long) r * cols, cols, w, 5 + r * rb);
                }
                for (int k = 0; k < cols; k++) {
                    g.set(BYTE, 1 + k, (byte) rng.nextInt(5));
                }
                float s0 = 0.0123f;
                MemorySegment x = randomFloats(rng, cols + 2);
                MemorySegment y = alloc(4L * rows + 4), ys = alloc(4L * rows + 4);
                PackedGemv.gemv(f, rows, cols, w, 5, g, 1, s0, x, 2, y, 1);
                PackedGemvScalar.gemv(f, rows, cols, w, 5, g, 1, s0, x, 2, ys, 1);
                for (int r = 0; r < rows; r++) {
                    // reference: dequantize W = code * s0 * 2^-g (exact in double), float-free GEMV in double
                    double ref = 0, mag = 0;
                    for (int k = 0; k < cols; k++) {
                        double wv = codes.get(BYTE, (long) r * cols + k) * (double) s0
                                * Math.scalb(1.0, -g.get(BYTE, 1 + k));
                        ref += wv * x.getAtIndex(FLOAT, 2 + k);
                        mag += Math.abs(wv * x.getAtIndex(FLOAT, 2 + k));
                    }
                    double tol = 1e-6 + cols * 0x1p-22 * mag;
                    String what = f + " cols=" + cols + " row " + r;
                    assertEquals(ref, y.getAtIndex(FLOAT, 1 + r), tol, what);
                    assertEquals(ref, ys.getAtIndex(FLOAT, 1 + r), tol, what);
                }
            }
        }
    }
}
