package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/** Scalar reference twin of {@link AdamW}: the same float operations, one element at a time. */
public final class AdamWScalar {
    private AdamWScalar() {
    }

    public static void step(int n, MemorySegment param, long pOff, MemorySegment grad, long gOff, MemorySegment m,
                            long mOff, MemorySegment v, long vOff, float lr, float beta1, float beta2, float eps,
                            float weightDecay, int step) {
        AdamW.Factors f = AdamW.Factors.of(n, param, pOff, grad, gOff, m, mOff, v, vOff, lr, beta1, beta2, eps,
                weightDecay, step);
        for (int i = 0; i < n; i++) {
            float g = grad.getAtIndex(FLOAT, gOff + i);
            float mi = m.getAtIndex(FLOAT, mOff + i) * f.b1() + g * f.c1();
            float vi = v.getAtIndex(FLOAT, vOff + i) * f.b2() + g * g * f.c2();
            float p = param.getAtIndex(FLOAT, pOff + i) * f.decay();
            float denom = (float) Math.sqrt(vi) * f.invSqrtBc2() + f.eps();
            param.setAtIndex(FLOAT, pOff + i, p - mi * f.stepSize() / denom);
            m.setAtIndex(FLOAT, mOff + i, mi);
            v.setAtIndex(FLOAT, vOff + i, vi);
        }
    }
}
