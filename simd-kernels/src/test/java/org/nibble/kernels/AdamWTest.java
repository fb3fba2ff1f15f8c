package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class AdamWTest {
    @Test
    void equalsTwinBitForBitOverSteps() {
        for (int n : SIZES) {
            for (long off : OFFSETS) {
                try (Arena a = Arena.ofShared()) {
                    MemorySegment p1 = random(a, off, n, n, -1, 1), p2 = random(a, off, n, n, -1, 1);
                    MemorySegment m1 = guarded(a, off + 1, n), m2 = guarded(a, off + 1, n);
                    MemorySegment v1 = guarded(a, 2, n), v2 = guarded(a, 2, n);
                    for (int i = 0; i < n; i++) {
                        m1.setAtIndex(FLOAT, off + 1 + i, 0f);
                        m2.setAtIndex(FLOAT, off + 1 + i, 0f);
                        v1.setAtIndex(FLOAT, 2 + i, 0f);
                        v2.setAtIndex(FLOAT, 2 + i, 0f);
                    }
                    for (int step = 1; step <= 3; step++) {
                        MemorySegment g = random(a, 3, n, n * 10L + step, -0.1f, 0.1f);
                        AdamW.step(n, p1, off, g, 3, m1, off + 1, v1, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, step);
                        AdamWScalar.step(n, p2, off, g, 3, m2, off + 1, v2, 2, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f,
                                step);
                    }
                    assertGuards("param", p1, off, n);
                    assertGuards("m", m1, off + 1, n);
                    assertGuards("v", v1, 2, n);
                    assertArrayClose("param", read(p2, off, n), read(p1, off, n), 0, 0);
                    assertArrayClose("m", read(m2, off + 1, n), read(m1, off + 1, n), 0, 0);
                    assertArrayClose("v", read(v2, 2, n), read(v1, 2, n), 0, 0);
                }
            }
        }
    }

    /** First step from zero moments: m_hat = g, v_hat = g^2, so p' = p (1 - lr wd) - lr g / (|g| + eps). */
    @Test
    void firstStepClosedForm() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment p = of(a, 1f, -2f, 0.5f), g = of(a, 0.3f, -0.01f, 0f), m = floats(a, 3), v = floats(a, 3);
            float lr = 0.01f, wd = 0.1f, eps = 1e-8f;
            float[] p0 = read(p, 0, 3), g0 = read(g, 0, 3);
            AdamW.step(3, p, 0, g, 0, m, 0, v, 0, lr, 0.9f, 0.95f, eps, wd, 1);
            for (int i = 0; i < 3; i++) {
                double expect = p0[i] * (1 - (double) lr * wd) - lr * g0[i] / (Math.abs(g0[i]) + eps);
                assertEquals(expect, p.getAtIndex(FLOAT, i), 2e-7, "p[" + i + "]");
                assertEquals(0.1 * g0[i], m.getAtIndex(FLOAT, i), 1e-8);
                assertEquals(0.05 * g0[i] * g0[i], v.getAtIndex(FLOAT, i), 1e-9);
            }
        }
    }

    @Test
    void argumentErrors() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment s = floats(a, 4);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> AdamW.step(4, s, 0, s, 0, s, 0, s, 0, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 0));
            assertTrue(e.getMessage().startsWith("step") && e.getMessage().contains("got 0"), e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class,
                    () -> AdamW.step(4, s, 0, s, 0, s, 0, s, 0, 1e-3f, 1f, 0.999f, 1e-8f, 0f, 1));
            assertTrue(e2.getMessage().startsWith("beta1"), e2.getMessage());
            var e3 = assertThrows(IndexOutOfBoundsException.class,
                    () -> AdamW.step(4, s, 0, s, 0, s, 0, s, 1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0f, 1));
            assertTrue(e3.getMessage().startsWith("v:"), e3.getMessage());
        }
    }
}
