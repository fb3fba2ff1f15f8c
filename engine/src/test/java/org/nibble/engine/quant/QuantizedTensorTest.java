package org.nibble.engine.quant;

import org.junit.jupiter.api.Test;
import org.nibble.engine.DType;
import org.nibble.engine.Rng;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.quant.PackedFormat;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QuantizedTensorTest {
    @Test
    void quantizeDequantizeUnpackAndRepackAgree() {
        try (Scope s = Scope.open("q")) {
            for (PackedFormat f : PackedFormat.values()) {
                for (int cols : new int[]{1, 33, 130, 257}) {
                    Tensor w = s.zeros(DType.F32, 7, cols).fillNormal(Rng.of(cols), 0, 1);
                    QuantizedTensor q = QuantizedTensor.quantize(w, f, 4, s);
                    byte[] codes = q.unpack();
                    for (byte c : codes) {
                        assertTrue(Math.abs(c) <= f.qmax());
                    }
                    QuantizedTensor q2 = QuantizedTensor.pack(f, codes, 7, cols, q.groupIds(), q.baseScale(), 4, s);
                    assertArrayEquals(codes, q2.unpack());
                    assertEquals(f.rowBytes(cols) * 7, q.byteSize());
                    // dequantized values: code * s0 * 2^-g, and within one group step of the original
                    float[] d = q.dequantize(s).toFloatArray(), orig = w.toFloatArray();
                    byte[] g = q.groupIds();
                    for (int i = 0; i < d.length; i++) {
                        int k = i % cols;
                        assertEquals(codes[i] * q.baseScale() * Math.scalb(1f, -g[k]), d[i], 0f);
                        assertEquals(orig[i], d[i], 0.5 * q.baseScale() * Math.scalb(1f, -g[k]) * 1.0001);
                    }
                }
            }
        }
    }

    @Test
    void gemvMatchesDequantizedFloatProduct() {
        SplittableRandom rng = new SplittableRandom(3);
        try (Scope s = Scope.open("g")) {
            for (PackedFormat f : PackedFormat.values()) {
                int rows = 37, cols = 300;
                Tensor w = s.zeros(DType.F32, rows, cols).fillNormal(Rng.of(1), 0, 1);
                QuantizedTensor q = QuantizedTensor.quantize(w, f, f == PackedFormat.Q8 ? 1 : 5, s);
                Tensor x = s.zeros(DType.F32, cols).fillUniform(Rng.of(2), -1, 1), y = s.zeros(DType.F32, rows);
                q.gemv(x, y);
                float[] wd = q.dequantize(s).toFloatArray(), xv = x.toFloatArray(), yv = y.toFloatArray();
                for (int r = 0; r < rows; r++) {
                    double ref = 0, mag = 0;
                    for (int k = 0; k < cols; k++) {
                        ref += (double) wd[r * cols + k] * xv[k];
                        mag += Math.abs((double) wd[r * cols + k] * xv[k]);
                    }
                    assertEquals(ref, yv[r], 1e-5 * mag, f + " row " + r);
                }
            }
            assertTrue(rng.nextInt(1) == 0);
        }
    }

    @Test
    void validationAndClosedScope() {
        Scope s = Scope.open("v");
        Tensor w3 = s.zeros(DType.F32, 2, 3, 4);
        var e = assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.quantize(w3, PackedFormat.Q4, 4, s));
        assertTrue(e.getMessage().contains("2-D F32"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.pack(PackedFormat.Q4,
                new byte[]{1, 2}, 1, 2, new byte[]{0, 9}, 1f, 4, s));
        assertTrue(e2.getMessage().contains("groupIds[1]"), e2.getMessage());
        Tensor nan = s.zeros(DType.F32, 2, 2).fill(Float.NaN);
        var e3 = assertThrows(IllegalArgumentException.class, () -> QuantizedTensor.quantize(nan, PackedFormat.Q8, 1,
                s));
        assertTrue(e3.getMessage().startsWith("w:"), e3.getMessage());
        QuantizedTensor q = QuantizedTensor.quantize(s.zeros(DType.F32, 2, 2).fill(1f), PackedFormat.Q6, 3, s);
        Tensor x = s.zeros(DType.F32, 3), y = s.zeros(DType.F32, 2);
        var e4 = assertThrows(IllegalArgumentException.class, () -> q.gemv(x, y));
        assertTrue(e4.getMessage().startsWith("x: expected a contiguous F32 tensor of 2"), e4.getMessage());
        s.close();
        assertThrows(IllegalStateException.class, q::unpack);
    }
}
