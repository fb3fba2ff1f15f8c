package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;
import static org.nibble.kernels.Simd.SHORT;

class ConvertTest {
    /** All 65536 half bit patterns widen exactly as Float.float16ToFloat (and as bf16 << 16). */
    @Test
    void widenAllHalfPatterns() {
        int n = 1 << 16;
        try (Arena a = Arena.ofShared()) {
            MemorySegment h = a.allocate(2L * (n + 3), 2), f = floats(a, n + 1);
            for (int i = 0; i < n; i++) {
                h.setAtIndex(SHORT, 3 + i, (short) i);
            }
            Convert.f16ToF32(n, h, 3, f, 1);
            for (int i = 0; i < n; i++) {
                float e = Float.float16ToFloat((short) i), v = f.getAtIndex(FLOAT, 1 + i);
                if (Float.isNaN(e) ? !Float.isNaN(v) : Float.floatToRawIntBits(e) != Float.floatToRawIntBits(v)) {
                    fail("f16 " + Integer.toHexString(i) + ": expected " + e + ", got " + v);
                }
            }
            Convert.bf16ToF32(n, h, 3, f, 1);
            for (int i = 0; i < n; i++) {
                assertEquals(i << 16, f.getAtIndex(INT, 1 + i), "bf16 " + Integer.toHexString(i));
            }
        }
    }

    /**
     * Float patterns: every half value, its neighbours and the midpoints between halves (ties), each exponent's
     * edges, specials, and a million random bit patterns. F16 must equal Float.floatToFloat16 and BF16 the rule of
     * engine's DType.floatToBf16 (restated here independently), bit for bit; NaN payloads are compared for F16 only
     * as "is a NaN of the same sign" because the intrinsic of Float.floatToFloat16 may quiet them differently.
     */
    @Test
    void narrowManyBitPatterns() {
        int[] bits = patterns();
        int n = bits.length;
        try (Arena a = Arena.ofShared()) {
            MemorySegment f = floats(a, n + 2), h = a.allocate(2L * (n + 5), 2), b = a.allocate(2L * (n + 5), 2);
            for (int i = 0; i < n; i++) {
                f.setAtIndex(INT, 2 + i, bits[i]);
            }
            Convert.f32ToF16(n, f, 2, h, 5);
            Convert.f32ToBf16(n, f, 2, b, 5);
            for (int i = 0; i < n; i++) {
                float x = Float.intBitsToFloat(bits[i]);
                short e = Float.floatToFloat16(x), v = h.getAtIndex(SHORT, 5 + i);
                boolean ok = Float.isNaN(x) ? isHalfNaN(v) && (v & 0x8000) == (e & 0x8000) : e == v;
                if (!ok) {
                    fail("f16 of " + Integer.toHexString(bits[i]) + ": expected " + Integer.toHexString(e & 0xFFFF)
                            + ", got " + Integer.toHexString(v & 0xFFFF));
                }
                short eb = bf16Reference(bits[i]), vb = b.getAtIndex(SHORT, 5 + i);
                if (eb != vb) {
                    fail("bf16 of " + Integer.toHexString(bits[i]) + ": expected " + Integer.toHexString(eb & 0xFFFF)
                            + ", got " + Integer.toHexString(vb & 0xFFFF));
                }
                assertEquals(eb, ConvertScalar.floatToBf16(x));
            }
        }
    }

    private static boolean isHalfNaN(short h) {
        return (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    }

    /** Round to nearest even on the upper 16 bits, written with a long and explicit tie test. */
    private static short bf16Reference(int bits) {
        float x = Float.intBitsToFloat(bits);
        if (Float.isNaN(x)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        long u = bits & 0xFFFFFFFFL;
        long hi = u >>> 16, lo = u & 0xFFFF;
        if (lo > 0x8000 || (lo == 0x8000 && (hi & 1) == 1)) {
            hi++;
        }
        return (short) hi;
    }

    private static int[] patterns() {
        java.util.ArrayList<Integer> list = new java.util.ArrayList<>();
        for (int h = 0; h < 1 << 16; h++) {
            int f = Float.floatToRawIntBits(Float.float16ToFloat((short) h));
            list.add(f);
            list.add(f + 1);
            list.add(f - 1);
            list.add(f + 0x1000); // midpoint to the next half for normal halves (13 dropped bits)
            list.add(f + 0x0FFF);
            list.add(f + 0x1001);
        }
        for (int e = 0; e < 256; e++) {
            for (int s = 0; s < 2; s++) {
                int base = s << 31 | e << 23;
                for (int m : new int[]{0, 1, 0x7FFF, 0x8000, 0x8001, 0x18000, 0x3FFFFF, 0x400000, 0x7FFFFF}) {
                    list.add(base | m);
                }
            }
        }
        SplittableRandom r = new SplittableRandom(2026);
        for (int i = 0; i < 400_000; i++) {
            list.add(r.nextInt());
        }
        return list.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void twinsAgreeAndTailsAreMasked() {
        for (int n : SIZES) {
            try (Arena a = Arena.ofShared()) {
                MemorySegment f = random(a, 1, n, n, -70000, 70000);
                MemorySegment hv = a.allocate(2L * (n + 8), 2), hr = a.allocate(2L * (n + 8), 2);
                hv.fill((byte) 0x5A);
                hr.fill((byte) 0x5A);
                Convert.f32ToF16(n, f, 1, hv, 3);
                ConvertScalar.f32ToF16(n, f, 1, hr, 3);
                assertEquals(-1L, hv.mismatch(hr), "f16 n=" + n);
                Convert.f32ToBf16(n, f, 1, hv, 3);
                ConvertScalar.f32ToBf16(n, f, 1, hr, 3);
                assertEquals(-1L, hv.mismatch(hr), "bf16 n=" + n);
                MemorySegment fv = guarded(a, 2, n), fr = guarded(a, 2, n);
                Convert.bf16ToF32(n, hv, 3, fv, 2);
                ConvertScalar.bf16ToF32(n, hv, 3, fr, 2);
                assertGuards("bf16 widen", fv, 2, n);
                assertEquals(-1L, fv.mismatch(fr), "bf16 widen n=" + n);
                Convert.f16ToF32(n, hr, 3, fv, 2);
                ConvertScalar.f16ToF32(n, hr, 3, fr, 2);
                assertEquals(-1L, fv.mismatch(fr), "f16 widen n=" + n);
            }
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment f = floats(a, 4), h = a.allocate(6);
            var e = assertThrows(IndexOutOfBoundsException.class, () -> Convert.f32ToF16(4, f, 0, h, 0));
            assertTrue(e.getMessage().startsWith("dst") && e.getMessage().contains("2 bytes"), e.getMessage());
        }
    }
}
