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
 * Dynamic Tanh (papers.md §9.1), Vector API implementation; twin {@link DyTScalar}.
 * <pre>
 * y = γ⊙tanh(α·x) + β                     (α one scalar; γ, β optional)
 * u = tanh(αx):  dx = γ⊙dy⊙α(1−u²);  dα += Σ γ⊙dy⊙x⊙(1−u²);  dγ += Σ dy⊙u;  dβ += Σ dy
 * </pre>
 * Infinite inputs give the defined saturated output ±γ+β (their dα term is 0, the limit); NaN inputs or gradients
 * throw {@link ArithmeticException} naming the row. Tanh is {@link Tanh} (absolute error ≤ 3e-7).
 */
public final class DyT {
    private DyT() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /** Forward; {@code gamma}, {@code beta} may be null (no gain / no bias). */
    public static void forward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                               MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                               MemorySegment y, long yOff, int ldy) {
        DyTScalar.checkForward(rows, width, alpha, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy);
        Parallel.forRange(0, rows, ChunkedGrads.grain(width), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                float check = forwardRow(width, alpha, x, (xOff + (long) r * ldx) * 4, gamma, gOff * 4, beta,
                        bOff * 4, y, (yOff + (long) r * ldy) * 4);
                if (Float.isNaN(check)) {
                    throw NormChecks.nonFinite("dyt", "input x (NaN)", r);
                }
            }
        });
    }

    /**
     * Backward: writes dx, accumulates {@code dgamma} (iff gamma), {@code dbeta} (optional) and {@code dalpha[0]}
     * (optional).
     */
    public static void backward(int rows, int width, float alpha, MemorySegment x, long xOff, int ldx,
                                MemorySegment gamma, long gOff, MemorySegment dy, long dyOff, int lddy,
                                MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                                MemorySegment dbeta, long dbOff, MemorySegment dalpha, long daOff) {
        DyTScalar.checkBackward(rows, width, alpha, x, xOff, ldx, gamma, gOff, dy, dyOff, lddy, dx, dxOff, lddx,
                dgamma, dgOff, dbeta, dbOff, dalpha, daOff);
        ChunkedGrads.run(rows, width, new MemorySegment[]{dgamma, dbeta, dalpha}, new long[]{dgOff, dbOff, daOff},
                new int[]{width, width, 1}, (lo, hi, g, go) -> {
                    double da = 0;
                    for (int r = lo; r < hi; r++) {
                        long xb = (xOff + (long) r * ldx) * 4, dyb = (dyOff + (long) r * lddy) * 4;
                        float t = backwardRow(width, alpha, x, xb, gamma, gOff * 4, dy, dyb, dx,
                                (dxOff + (long) r * lddx) * 4, g[0], go[0] * 4);
                        if (!Float.isFinite(t)) {
                            t = DyTScalar.alphaTermSafe(r, width, alpha, x, xb / 4, gamma, gOff, dy, dyb / 4);
                        }
                        da += t;
                        if (g[1] != null) {
                            RowNorm.addTo(width, dy, dyb, g[1], go[1] * 4);
                        }
                    }
                    if (g[2] != null) {
                        g[2].setAtIndex(FLOAT, go[2], (float) (g[2].getAtIndex(FLOAT, go[2]) + da));
                    }
                });
    }

    /**
     * {@code y = gamma * tanh(alpha x) + beta} over one row (BHyT's forward too, with its own {@code a}); returns
     * Σ tanh (NaN iff an input is NaN).
     */
    static float forwardRow(int n, float alpha, MemorySegment x, long xb, MemorySegment gamma, long gb,
                                    MemorySegment beta, long bb, MemorySegment y, long yb) {
        FloatVector va = FloatVector.broadcast(S, alpha), acc = FloatVector.zero(S);
        boolean hasGamma = gamma != null, hasBeta = beta != null;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector u = Tanh.tanh(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).mul(va));
            acc = acc.add(u);
            if (hasGamma) {
                u = u.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
            }
            if (hasBeta) {
                u = u.add(FloatVector.fromMemorySegment(S, beta, bb + 4L * i, ORDER));
            }
            u.intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        float check = Simd.sumLanes(acc);
        for (; i < n; i++) {
            float u = Tanh.tanh(alpha * x.get(FLOAT, xb + 4L * i));
            check += u;
            if (hasGamma) {
                u *= gamma.get(FLOAT, gb + 4L * i);
            }
            if (hasBeta) {
                u += beta.get(FLOAT, bb + 4L * i);
            }
            y.set(FLOAT, yb + 4L * i, u);
        }
        return check;
    }

    /** One row of dx and dgamma; returns the row's dα term Σ g⊙x⊙(1−u²). */
    private static float backwardRow(int n, float alpha, MemorySegment x, long xb, MemorySegment gamma, long gb,
                                     MemorySegment dy, long dyb, MemorySegment dx, long dxb,
                                     MemorySegment dgamma, long dgb) {
        FloatVector va = FloatVector.broadcast(S, alpha), one = FloatVector.broadcast(S, 1f);
        FloatVector acc = FloatVector.zero(S);
        boolean hasGamma = gamma != null;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector xv = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER);
            FloatVector d = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            FloatVector u = Tanh.tanh(xv.mul(va));
            FloatVector w = u.neg().fma(u, one);
            FloatVector g = d;
            if (hasGamma) {
                g = d.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
                d.fma(u, FloatVector.fromMemorySegment(S, dgamma, dgb + 4L * i, ORDER))
                        .intoMemorySegment(dgamma, dgb + 4L * i, ORDER);
            }
            FloatVector gw = g.mul(w);
            gw.mul(va).intoMemorySegment(dx, dxb + 4L * i, ORDER);
            acc = gw.fma(xv, acc);
        }
        float t = Simd.sumLanes(acc);
        for (; i < n; i++) {
            float xv = x.get(FLOAT, xb + 4L * i), d = dy.get(FLOAT, dyb + 4L * i);
            float u = Tanh.tanh(alpha * xv);
            float w = Math.fma(-u, u, 1f);
            float g = d;
            if (hasGamma) {
                g = d * gamma.get(FLOAT, gb + 4L * i);
                dgamma.set(FLOAT, dgb + 4L * i, Math.fma(d, u, dgamma.get(FLOAT, dgb + 4L * i)));
            }
            float gw = g * w;
            dx.set(FLOAT, dxb + 4L * i, gw * alpha);
            t = Math.fma(gw, xv, t);
        }
        return t;
    }
}
