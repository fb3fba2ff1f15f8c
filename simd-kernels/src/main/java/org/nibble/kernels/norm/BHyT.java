package org.nibble.kernels.norm;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Bounded hyperbolic tangent (papers.md §9.2), Vector API implementation; twin {@link BHyTScalar}.
 * <pre>
 * y = γ⊙tanh(a·x) + β,   a = λ/(κ·sqrt(v + ε))        per row; λ one learnable scalar, κ = 10, ε = 1e-6
 * exact variance:        v = mean(x²) (computed and saved per row)
 * approximate variance:  v given per row (the block's second norm: v2 = v1 + c_attn·λ_in²/κ², see approxVariance)
 * backward, u = tanh(a x), w = 1 − u², T = Σ γ⊙dy⊙x⊙w:
 *   dx = γ⊙dy⊙a·w  [ − T·a/(d·(v+ε))·x   exact mode: the path through v = mean(x²) ]
 *   dλ += Σ_rows T/(κ·sqrt(v+ε));   dγ += Σ dy⊙u;   dβ += Σ dy
 *   approximate mode: dv = −T·a/(2(v+ε)) per row (optional output; the block may route it into v1)
 * </pre>
 * Rows with NaN/Inf input (exact mode: a variance that is not finite) throw {@link ArithmeticException}.
 */
public final class BHyT {
    private BHyT() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /** Forward. Exact mode writes {@code var[row] = mean(x²)}; approximate mode reads it. */
    public static void forward(int rows, int width, float lambda, float kappa, float eps, boolean exactVariance,
                               MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                               MemorySegment beta, long bOff, MemorySegment y, long yOff, int ldy,
                               MemorySegment var, long vOff) {
        BHyTScalar.checkForward(rows, width, lambda, kappa, eps, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy,
                var, vOff);
        Parallel.forRange(0, rows, ChunkedGrads.grain(width), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long xb = (xOff + (long) r * ldx) * 4;
                float v;
                if (exactVariance) {
                    v = RowNorm.sumSqDev(width, x, xb, 0f) / width;
                    var.setAtIndex(FLOAT, vOff + r, v);
                } else {
                    v = var.getAtIndex(FLOAT, vOff + r);
                }
                BHyTScalar.checkVariance(r, v);
                float a = BHyTScalar.slope(lambda, kappa, eps, v);
                float check = DyT.forwardRow(width, a, x, xb, gamma, gOff * 4, beta, bOff * 4, y,
                        (yOff + (long) r * ldy) * 4);
                if (Float.isNaN(check)) {
                    throw NormChecks.nonFinite("bhyt", "input x (NaN)", r);
                }
            }
        });
    }

    /**
     * Backward. Accumulates {@code dgamma} (iff gamma), {@code dbeta} and {@code dlambda[0]} (optional); in
     * approximate mode writes {@code dvar[row]} when {@code dvar} is given.
     */
    public static void backward(int rows, int width, float lambda, float kappa, float eps, boolean exactVariance,
                                MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                                MemorySegment var, long vOff, MemorySegment dy, long dyOff, int lddy,
                                MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                                MemorySegment dbeta, long dbOff, MemorySegment dlambda, long dlOff,
                                MemorySegment dvar, long dvOff) {
        BHyTScalar.checkBackward(rows, width, lambda, kappa, eps, x, xOff, ldx, gamma, gOff, var, vOff, dy, dyOff,
                lddy, dx, dxOff, lddx, dgamma, dgOff, dbeta, dbOff, dlambda, dlOff, dvar, dvOff);
        ChunkedGrads.run(rows, width, new MemorySegment[]{dgamma, dbeta, dlambda}, new long[]{dgOff, dbOff, dlOff},
                new int[]{width, width, 1}, (lo, hi, g, go) -> {
                    double dl = 0;
                    for (int r = lo; r < hi; r++) {
                        long xb = (xOff + (long) r * ldx) * 4, dyb = (dyOff + (long) r * lddy) * 4;
                        long dxb = (dxOff + (long) r * lddx) * 4;
                        float v = var.getAtIndex(FLOAT, vOff + r);
                        float a = BHyTScalar.slope(lambda, kappa, eps, v);
                        float t = pass1(width, a, exactVariance, x, xb, gamma, gOff * 4, dy, dyb, dx, dxb,
                                g[0], go[0] * 4);
                        if (!Float.isFinite(t)) {
                            throw NormChecks.nonFinite("bhyt", "gradient dy or input x", r);
                        }
                        if (exactVariance) {
                            pass2(width, a, BHyTScalar.varianceCoefficient(width, a, eps, v, t), x, xb, gamma,
                                    gOff * 4, dy, dyb, dx, dxb);
                        } else if (dvar != null) {
                            dvar.setAtIndex(FLOAT, dvOff + r, BHyTScalar.varianceGradient(a, eps, v, t));
                        }
                        dl += BHyTScalar.lambdaTerm(kappa, eps, v, t);
                        if (g[1] != null) {
                            RowNorm.addTo(width, dy, dyb, g[1], go[1] * 4);
                        }
                    }
                    if (g[2] != null) {
                        g[2].setAtIndex(FLOAT, go[2], (float) (g[2].getAtIndex(FLOAT, go[2]) + dl));
                    }
                });
    }

    /**
     * The block's approximate variance for its second norm (papers.md §9.2):
     * {@code v2[row] = v1[row] + cAttn·λ_in²/κ²}. λ_in is treated as a constant (the official code detaches it).
     */
    public static void approxVariance(int rows, MemorySegment v1, long v1Off, float cAttn, float lambdaIn,
                                      float kappa, MemorySegment v2, long v2Off) {
        BHyTScalar.approxVariance(rows, v1, v1Off, cAttn, lambdaIn, kappa, v2, v2Off);
    }

    private static float pass1(int n, float a, boolean exact, MemorySegment x, long xb, MemorySegment gamma, long gb,
                               MemorySegment dy, long dyb, MemorySegment dx, long dxb, MemorySegment dgamma,
                               long dgb) {
        FloatVector va = FloatVector.broadcast(S, a), one = FloatVector.broadcast(S, 1f);
        FloatVector vs = exact ? one : va;
        FloatVector acc = FloatVector.zero(S);
        boolean hasGamma = gamma != null;
        float s = exact ? 1f : a;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xv = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector d = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            FloatVector u = Tanh.tanh(xv.mul(va));
            FloatVector g = d;
            if (hasGamma) {
                g = d.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
                d.fma(u, FloatVector.fromMemorySegment(S, dgamma, dgb + 4L * i, ORDER))
                        .intoMemorySegment(dgamma, dgb + 4L * i, ORDER);
            }
            FloatVector gw = g.mul(u.neg().fma(u, one));
            gw.mul(vs).intoMemorySegment(dx, dxb + 4L * i, ORDER);
            acc = gw.fma(xv, acc);
        }
        float t = Simd.sumLanes(acc);
        for (; i < n; i++) {
            float xv = x.get(FLOAT, xb + 4L * i), d = dy.get(FLOAT, dyb + 4L * i);
            float u = Tanh.tanh(a * xv);
            float g = d;
            if (hasGamma) {
                g = d * gamma.get(FLOAT, gb + 4L * i);
                dgamma.set(FLOAT, dgb + 4L * i, Math.fma(d, u, dgamma.get(FLOAT, dgb + 4L * i)));
            }
            float gw = g * Math.fma(-u, u, 1f);
            dx.set(FLOAT, dxb + 4L * i, gw * s);
            t = Math.fma(gw, xv, t);
        }
        return t;
    }

    /** dx = a·(g·w) + k·x, with g·w from {@link #pass1} in dx. */
    private static void pass2(int n, float a, float k, MemorySegment x, long xb, MemorySegment gamma, long gb,
                              MemorySegment dy, long dyb, MemorySegment dx, long dxb) {
        FloatVector va = FloatVector.broadcast(S, a), vk = FloatVector.broadcast(S, k);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, dx, dxb + 4L * i, ORDER)
                    .fma(va, FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).mul(vk))
                    .intoMemorySegment(dx, dxb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            dx.set(FLOAT, dxb + 4L * i, Math.fma(dx.get(FLOAT, dxb + 4L * i), a, x.get(FLOAT, xb + 4L * i) * k));
        }
    }
}
