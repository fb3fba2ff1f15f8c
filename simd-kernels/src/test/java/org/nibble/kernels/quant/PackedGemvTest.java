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

    @Test
    void multiRowGemmEqualsScalarTwinForEveryFormatTailAndRowCount() {
        SplittableRandom rng = new SplittableRandom(23);
        int[] ms = {1, 3, 4, 5, 8, 13};
        for (PackedFormat f : PackedFormat.values()) {
            for (int cols : COLS) {
                int m = ms[rng.nextInt(ms.length)], rows = 1 + rng.nextInt(9);
                long rb = f.rowBytes(cols);
                MemorySegment codes = randomCodes(rng, (long) rows * cols, f.qmax());
                MemorySegment w = alloc(3 + rows * rb), g = alloc(cols + 2);
                for (int r = 0; r < rows; r++) {
                    f.packRow(codes, (long) r * cols, cols, w, 3 + r * rb);
                }
                for (int k = 0; k < cols; k++) {
                    g.set(BYTE, 2 + k, (byte) rng.nextInt(8));
                }
                int ldx = cols + 3, ldy = rows + 2;
                MemorySegment x = randomFloats(rng, 1 + (long) m * ldx);
                MemorySegment y = alloc(4L * (m * ldy + 1)), ys = alloc(4L * (m * ldy + 1));
                PackedGemv.gemm(f, m, rows, cols, w, 3, g, 2, 0.5f, x, 1, ldx, y, 1, ldy);
                PackedGemvScalar.gemm(f, m, rows, cols, w, 3, g, 2, 0.5f, x, 1, ldx, ys, 1, ldy);
                for (int i = 0; i < m; i++) {
                    for (int r = 0; r < rows; r++) {
                        double mag = 0;
                        for (int k = 0; k < cols; k++) {
                            mag += Math.abs(codes.get(BYTE, (long) r * cols + k) * 0.5
                                    * Math.scalb(1.0, -g.get(BYTE, 2 + k)) * x.getAtIndex(FLOAT, 1 + (long) i * ldx + k));
                        }
                        long at = 1 + (long) i * ldy + r;
                        assertEquals(ys.getAtIndex(FLOAT, at), y.getAtIndex(FLOAT, at), 1e-6 + cols * 0x1p-22 * mag,
                                f + " cols=" + cols + " m=" + m + " (" + i + ", " + r + ")");
                    }
                    // the padding between rows of y is untouched
                    for (int r = rows; r < ldy && i + 1 < m; r++) {
                        assertEquals(0f, y.getAtIndex(FLOAT, 1 + (long) i * ldy + r));
                    }
                }
            }
        }
        var e = assertThrows(IllegalArgumentException.class, () -> PackedGemv.gemm(PackedFormat.Q4, 2, 1, 8,
                alloc(PackedFormat.Q4.rowBytes(8)), 0, alloc(8), 0, 1f, alloc(64), 0, 4, alloc(8), 0, 1));
        assertTrue(e.getMessage().contains("x") && e.getMessage().contains("8"), e.getMessage());
    }

    @Test
    void decodeRowEqualsScalarTwinAndTheCodes() {
        SplittableRandom rng = new SplittableRandom(24);
        for (PackedFormat f : PackedFormat.values()) {
            for (int cols : COLS) {
                MemorySegment codes = randomCodes(rng, cols, f.qmax());
                MemorySegment w = alloc(7 + f.rowBytes(cols));
                f.packRow(codes, 0, cols, w, 7);
                int kp = PackedFormat.paddedCols(cols);
                float[] v = new float[kp + 5], sc = new float[kp + 5];
                java.util.Arrays.fill(v, Float.NaN);
                PackedGemv.decodeRow(f, cols, w, 7, v, 3);
                PackedGemvScalar.decodeRow(f, cols, w, 7, sc, 3);
                for (int k = 0; k < kp; k++) {
                    float expected = k < cols ? codes.get(BYTE, k) : 0f;
                    assertEquals(expected, v[3 + k], 0f, f + " cols=" + cols + " k=" + k);
                    assertEquals(expected, sc[3 + k], 0f, f + " scalar cols=" + cols + " k=" + k);
                }
                assertTrue(Float.isNaN(v[2]) && Float.isNaN(v[kp + 3]), "outside the row untouched");
            }
        }
    }
}
