package org.nibble.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * One AdamW step over a parameter segment, in place (Loshchilov and Hutter, "Decoupled Weight Decay
 * Regularization", 2019; the update PyTorch's {@code torch.optim.AdamW} performs), Vector API implementation; the
 * twin with identical signature is {@link AdamWScalar}. Per element, in this order and in float:
 * <pre>
 *   p = p * (1 - lr * weightDecay)                    decoupled weight decay
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   p = p - (m * lr / (1 - beta1^t)) / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * with the scalar factors computed once in double. The vector kernel performs exactly the twin's float operations
 * (no FMA contraction; sqrt and division are correctly rounded), so the two agree bit for bit. Elements are
 * independent and split across threads for large segments.
 */
public final class AdamW {
    private AdamW() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /** The per-step scalars: decay factor, 1 - beta1, 1 - beta2, step size, 1 / sqrt(bias correction 2). */
    record Factors(float decay, float b1, float b2, float c1, float c2, float stepSize, float invSqrtBc2, float eps) {
        static Factors of(int n, MemorySegment param, long pOff, MemorySegment grad, long gOff, MemorySegment m,
                          long mOff, MemorySegment v, long vOff, float lr, float beta1, float beta2, float eps,
                          float weightDecay, int step) {
            Checks.checkCount("n", n);
            Checks.checkRange("param", param, pOff, n, 4);
            Checks.checkRange("grad", grad, gOff, n, 4);
            Checks.checkRange("m", m, mOff, n, 4);
            Checks.checkRange("v", v, vOff, n, 4);
            if (step < 1) {
                throw new IllegalArgumentException("step: expected >= 1 (1-based), got " + step);
            }
            if (!(beta1 >= 0 && beta1 < 1)) {
                throw new IllegalArgumentException("beta1: expected in [0, 1), got " + beta1);
            }
            if (!(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("beta2: expected in [0, 1), got " + beta2);
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("eps: expected > 0, got " + eps);
            }
            if (!(lr >= 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("lr, weightDecay: expected >= 0, got " + lr + ", " + weightDecay);
            }
            double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
            return new Factors((float) (1 - (double) lr * weightDecay), beta1, beta2, 1 - beta1, 1 - beta2,
                    (float) (lr / bc1), (float) (1 / Math.sqrt(bc2)), eps);
        }
    }

    /**
     * Updates {@code param}, {@code m} and {@code v} in place from {@code grad}.
     *
     * @param step the 1-based step number t used by the bias corrections
     */
    public static void step(int n, MemorySegment param, long pOff, MemorySegment grad, long gOff, MemorySegment m,
                            long mOff, MemorySegment v, long vOff, float lr, float beta1, float beta2, float eps,
                            float weightDecay, int step) {
        Factors f = Factors.of(n, param, pOff, grad, gOff, m, mOff, v, vOff, lr, beta1, beta2, eps, weightDecay,
                step);
        long pb = 4 * pOff, gb = 4 * gOff, mb = 4 * mOff, vb = 4 * vOff;
        Parallel.forRange(0, n, 1 << 15, (lo, hi) -> range(lo, hi, f, param, pb, grad, gb, m, mb, v, vb));
    }

    private static void range(int lo, int hi, Factors f, MemorySegment p, long pb, MemorySegment g, long gb,
                              MemorySegment m, long mb, MemorySegment v, long vb) {
        float decay = f.decay(), b1 = f.b1(), b2 = f.b2(), c1 = f.c1(), c2 = f.c2(), step = f.stepSize(),
                isb = f.invSqrtBc2(), eps = f.eps();
        int i = lo;
        for (; i <= hi - L; i += L) {
            FloatVector gv = FloatVector.fromMemorySegment(S, g, gb + 4L * i, ORDER);
            FloatVector mv = FloatVector.fromMemorySegment(S, m, mb + 4L * i, ORDER).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromMemorySegment(S, v, vb + 4L * i, ORDER).mul(b2).add(gv.mul(gv).mul(c2));
            FloatVector pv = FloatVector.fromMemorySegment(S, p, pb + 4L * i, ORDER).mul(decay);
            FloatVector denom = vv.sqrt().mul(isb).add(eps);
            pv.sub(mv.mul(step).div(denom)).intoMemorySegment(p, pb + 4L * i, ORDER);
            mv.intoMemorySegment(m, mb + 4L * i, ORDER);
            vv.intoMemorySegment(v, vb + 4L * i, ORDER);
        }
        if (i < hi) {
            VectorMask<Float> k = S.indexInRange(i, hi);
            FloatVector gv = FloatVector.fromMemorySegment(S, g, gb + 4L * i, ORDER, k);
            FloatVector mv = FloatVector.fromMemorySegment(S, m, mb + 4L * i, ORDER, k).mul(b1).add(gv.mul(c1));
            FloatVector vv = FloatVector.fromMemorySegment(S, v, vb + 4L * i, ORDER, k).mul(b2).add(gv.mul(gv).mul(c2));
            FloatVector pv = FloatVector.fromMemorySegment(S, p, pb + 4L * i, ORDER, k).mul(decay);
            FloatVector denom = vv.sqrt().mul(isb).add(eps);
            pv.sub(mv.mul(step).div(denom)).intoMemorySegment(p, pb + 4L * i, ORDER, k);
            mv.intoMemorySegment(m, mb + 4L * i, ORDER, k);
            vv.intoMemorySegment(v, vb + 4L * i, ORDER, k);
        }
    }
}
