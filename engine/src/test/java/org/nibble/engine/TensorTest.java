package org.nibble.engine;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {

    private static float[] iota(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void allocationIsZeroedAlignedAndContiguous() {
        try (Scope s = Scope.open("t")) {
            Tensor t = s.zeros(DType.F32, 3, 5, 7);
            assertArrayEquals(new int[]{3, 5, 7}, t.shape());
            assertArrayEquals(new long[]{35, 7, 1}, t.strides());
            assertEquals(105, t.numel());
            assertTrue(t.isContiguous());
            assertEquals(0, t.segment().address() % Scope.ALIGNMENT, "64-byte aligned");
            for (float v : t.toFloatArray()) {
                assertEquals(0f, v);
            }
            assertEquals(105 * 4, s.allocatedBytes());
        }
    }

    @Test
    void sliceNarrowTransposeShareMemory() {
        try (Scope s = Scope.open("t")) {
            Tensor t = s.fromArray(iota(24), 2, 3, 4);
            Tensor row = t.slice(0, 1);             // [3,4] = 12..23
            assertArrayEquals(new int[]{3, 4}, row.shape());
            assertEquals(12f, row.getFloat(0, 0));
            assertEquals(23f, row.getFloat(2, 3));
            Tensor cols = t.narrow(2, 1, 2);         // [2,3,2]
            assertArrayEquals(new float[]{1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22}, cols.toFloatArray());
            assertFalse(cols.isContiguous());
            Tensor tr = t.transpose(1, 2);           // [2,4,3]
            assertArrayEquals(new int[]{2, 4, 3}, tr.shape());
            assertEquals(t.getFloat(1, 2, 3), tr.getFloat(1, 3, 2));
            assertEquals(t.getFloat(0, 1, 0), tr.getFloat(-0, 0, 1));
            // writes through a view are visible in the base
            tr.setFloat(-5f, 1, 3, 2);
            assertEquals(-5f, t.getFloat(1, 2, 3));
            // negative dimensions count from the end
            assertEquals(4, t.dim(-1));
            assertEquals(t.transpose(-1, -2).getFloat(0, 3, 1), t.getFloat(0, 1, 3));
        }
    }

    @Test
    void reshapeAndContiguous() {
        try (Scope s = Scope.open("t")) {
            Tensor t = s.fromArray(iota(12), 3, 4);
            Tensor r = t.reshape(2, -1, 3);
            assertArrayEquals(new int[]{2, 2, 3}, r.shape());
            assertArrayEquals(t.toFloatArray(), r.toFloatArray());
            Tensor tr = t.transpose(0, 1);
            var e = assertThrows(IllegalStateException.class, () -> tr.reshape(12));
            assertTrue(e.getMessage().contains("contiguous()"), e.getMessage());
            Tensor c = tr.contiguous();
            assertNotSame(tr, c);
            assertTrue(c.isContiguous());
            assertArrayEquals(new float[]{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, c.reshape(12).toFloatArray());
            assertSame(t, t.contiguous());
            var bad = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 3));
            assertTrue(bad.getMessage().contains("12") && bad.getMessage().contains("15"), bad.getMessage());
        }
    }

    @Test
    void copyInAndOutAndFill() {
        try (Scope s = Scope.open("t")) {
            Tensor t = s.zeros(DType.F32, 2, 3);
            t.copyFrom(new float[]{1, 2, 3, 4, 5, 6});
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, t.toFloatArray());
            t.narrow(1, 1, 2).fill(9f);
            assertArrayEquals(new float[]{1, 9, 9, 4, 9, 9}, t.toFloatArray());
            Tensor ids = s.fromArray(new int[]{3, -1, 7}, 3);
            assertArrayEquals(new int[]{3, -1, 7}, ids.toIntArray());
            Tensor a = s.arange(DType.I32, 5);
            assertArrayEquals(new int[]{0, 1, 2, 3, 4}, a.toIntArray());
            var e = assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[5]));
            assertTrue(e.getMessage().contains("expected 6") && e.getMessage().contains("got 5"), e.getMessage());
        }
    }

    @Test
    void halfPrecisionRoundsToNearestEven() {
        try (Scope s = Scope.open("t")) {
            float[] v = {1f, 1.0009766f, 65504f, 1e-8f, -2.5f, Float.NaN, Float.POSITIVE_INFINITY};
            Tensor f = s.fromArray(v, v.length);
            float[] h = f.to(DType.F16, s).toFloatArray();
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(v[i])), h[i], "f16 " + v[i]);
            }
            // bf16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 -> even (1); 1 + 3*2^-8 -> 1 + 2^-6
            assertEquals(1f, DType.bf16ToFloat(DType.floatToBf16(1f + 0x1p-8f)));
            assertEquals(1f + 0x1p-6f, DType.bf16ToFloat(DType.floatToBf16(1f + 3 * 0x1p-8f)));
            assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
            assertEquals(Float.NEGATIVE_INFINITY, DType.bf16ToFloat(DType.floatToBf16(Float.NEGATIVE_INFINITY)));
            Tensor b = f.to(DType.BF16, s);
            assertEquals(-2.5f, b.getFloat(4));
            Tensor i8 = s.zeros(DType.I8, 2);
            i8.setFloat(-128f, 0);
            assertEquals(-128f, i8.getFloat(0));
            var e = assertThrows(IllegalArgumentException.class, () -> i8.setFloat(128f, 1));
            assertTrue(e.getMessage().contains("I8") && e.getMessage().contains("128"), e.getMessage());
        }
    }

    @Test
    void randomFillIsSeededAndReproducible() {
        try (Scope s = Scope.open("t")) {
            Tensor a = s.zeros(DType.F32, 1000).fillNormal(Rng.of(7), 0, 1);
            Tensor b = s.zeros(DType.F32, 1000).fillNormal(Rng.of(7), 0, 1);
            Tensor c = s.zeros(DType.F32, 1000).fillNormal(Rng.of(8), 0, 1);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            assertFalse(Arrays.equals(a.toFloatArray(), c.toFloatArray()));
            double mean = 0, var = 0;
            for (float v : a.toFloatArray()) {
                mean += v / 1000.0;
            }
            for (float v : a.toFloatArray()) {
                var += (v - mean) * (v - mean) / 1000.0;
            }
            assertEquals(0, mean, 0.1);
            assertEquals(1, var, 0.15);
            Tensor u = s.zeros(DType.F32, 1000).fillUniform(Rng.of(1), -2, 3);
            for (float v : u.toFloatArray()) {
                assertTrue(v >= -2 && v < 3);
            }
        }
    }

    @Test
    void useAfterCloseFailsClearly() {
        Scope s = Scope.open("step");
        Tensor t = s.zeros(DType.F32, 4);
        Tensor view = t.narrow(0, 1, 2);
        s.close();
        assertFalse(s.isAlive());
        var e = assertThrows(IllegalStateException.class, () -> t.getFloat(0));
        assertTrue(e.getMessage().contains("'step'") && e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, view::toFloatArray);
        assertThrows(IllegalStateException.class, () -> t.fill(1f));
        assertThrows(IllegalStateException.class, () -> s.zeros(DType.F32, 1));
        assertTrue(t.toString().contains("closed"));
        s.close(); // idempotent
    }

    @Test
    void offHeapMemoryIsReturnedOnClose() {
        long before = Scope.liveBytes();
        try (Scope s = Scope.open("t")) {
            s.zeros(DType.F32, 1 << 20);
            assertEquals(before + (4L << 20), Scope.liveBytes());
            assertTrue(Scope.peakBytes() >= before + (4L << 20));
        }
        assertEquals(before, Scope.liveBytes());
    }

    @Test
    void argumentErrorsNameArgumentExpectedAndActual() {
        try (Scope s = Scope.open("t")) {
            var e1 = assertThrows(IllegalArgumentException.class, () -> s.zeros(DType.F32, 2, -3));
            assertTrue(e1.getMessage().contains("shape[1]") && e1.getMessage().contains("-3"), e1.getMessage());
            Tensor t = s.zeros(DType.F32, 2, 3);
            var e2 = assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(1, 3));
            assertTrue(e2.getMessage().contains("index[1]") && e2.getMessage().contains("< 3")
                    && e2.getMessage().contains("got 3"), e2.getMessage());
            var e3 = assertThrows(IllegalArgumentException.class, () -> t.getFloat(1));
            assertTrue(e3.getMessage().contains("expected 2 coordinates") && e3.getMessage().contains("got 1"),
                    e3.getMessage());
            var e4 = assertThrows(IndexOutOfBoundsException.class, () -> t.transpose(0, 2));
            assertTrue(e4.getMessage().contains("d1") && e4.getMessage().contains("got 2"), e4.getMessage());
            var e5 = assertThrows(IndexOutOfBoundsException.class, () -> t.narrow(1, 2, 2));
            assertTrue(e5.getMessage().contains("start=2") && e5.getMessage().contains("length=2"), e5.getMessage());
            var e6 = assertThrows(IllegalArgumentException.class, () -> t.allClose(s.zeros(DType.F32, 3, 2), 0, 0));
            assertTrue(e6.getMessage().contains("[2, 3]") && e6.getMessage().contains("[3, 2]"), e6.getMessage());
            var e7 = assertThrows(IllegalArgumentException.class, () -> Scope.open(" "));
            assertTrue(e7.getMessage().contains("name"), e7.getMessage());
        }
    }

    @Test
    void allCloseFollowsNumpy() {
        try (Scope s = Scope.open("t")) {
            Tensor a = s.fromArray(new float[]{1f, 100f, Float.POSITIVE_INFINITY}, 3);
            Tensor b = s.fromArray(new float[]{1.0001f, 100.01f, Float.POSITIVE_INFINITY}, 3);
            assertTrue(a.allClose(b, 1e-3, 0));
            assertFalse(a.allClose(b, 1e-6, 1e-6));
            Tensor n = s.fromArray(new float[]{Float.NaN, 1, 1}, 3);
            assertFalse(n.allClose(n, 1, 1));
        }
    }

    @Test
    void toStringLooksLikeNumpy() {
        try (Scope s = Scope.open("t")) {
            Tensor t = s.fromArray(new float[]{0, 1.5f, -2, 3e-6f, 4, 5}, 2, 3);
            assertEquals("tensor([[0.0000, 1.5000, -2.0000],\n        [3.0000e-06, 4.0000, 5.0000]], shape=[2, 3], "
                    + "dtype=F32)", t.toString());
            Tensor big = s.zeros(DType.I32, 2000);
            String str = big.toString();
            assertTrue(str.startsWith("tensor([0, 0, 0, ..., 0, 0, 0], shape=[2000], dtype=I32"), str);
        }
    }
}
