package org.nibble.kernels.norm;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * Row normalizations over F32 matrices ({@code rows x width}, leading dimension, element offsets): LayerNorm, RMSNorm,
 * CRMSNorm, L1 LayerNorm and its non-centred variant ({@link NormKind}), forward and backward, Vector API
 * implementation vectorized along the width and parallel over rows. Twin: {@link RowNormScalar} (same signatures).
 *
 * <p>Forward saves per row the statistic the backward needs: {@code stat} (the mean for centred kinds, the row sum
 * for CRMSNORM, untouched otherwise; may be null when not saved) and {@code rstd} (the reciprocal {@code r}).
 *
 * <p>Backward (papers.md §0.1, §0.2, §1.6, §5), with {@code g = γ⊙dy} and {@code x̂ = (x-c)·r}:
 * <pre>
 * LAYERNORM      dx = r·(g − mean(g) − x̂·mean(g⊙x̂))
 * RMSNORM        dx = r·(g − x̂·mean(g⊙x̂))
 * CRMSNORM       dx = r·(g − (x̂ + r·Σx)·Σ(g⊙x̂)/(d+1))          (RMSNorm of the reconstructed d+1 vector)
 * L1             dx = r·(g − mean(g) − mean(g⊙x̂)·(sgn(x-c) − mean(sgn(x-c))))
 * L1_NONCENTRED  dx = r·(g − mean(g⊙x̂)·sgn(x))
 * dγ += Σ_rows dy⊙x̂ ;  dβ += Σ_rows dy
 * </pre>
 * all of the form {@code dx = r·g − c0 − c1·t} with {@code t = x̂} (L2 kinds) or {@code t = sgn} (L1 kinds).
 *
 * <p>A row whose input (forward) or gradient (backward) holds NaN/Inf throws {@link ArithmeticException} naming
 * the norm and the row; a constant row is normalized to 0 through ε.
 */
public final class RowNorm {
    private RowNorm() {
    }

    private static final VectorSpecies<Float> S = Simd.F32;
    private static final int L = S.length();

    /**
     * Forward: {@code y = γ⊙(x-c)·r + β} per row. {@code gamma}, {@code beta} may be null (no gain / no bias; a bias
     * needs a gain). {@code stat} may be null; {@code rstd} is required ({@code rows} floats each).
     */
    public static void forward(NormKind kind, int rows, int width, float eps,
                               MemorySegment x, long xOff, int ldx,
                               MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                               MemorySegment y, long yOff, int ldy,
                               MemorySegment stat, long statOff, MemorySegment rstd, long rOff) {
        checkForward(kind, rows, width, eps, x, xOff, ldx, gamma, gOff, beta, bOff, y, yOff, ldy, stat, statOff,
                rstd, rOff);
        Parallel.forRange(0, rows, ChunkedGrads.grain(width), (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                forwardRow(kind, r, width, eps, x, (xOff + (long) r * ldx) * 4, gamma, gOff * 4, beta, bOff * 4,
                        y, (yOff + (long) r * ldy) * 4, stat, statOff, rstd, rOff);
            }
        });
    }

    /**
     * Backward: writes {@code dx} and accumulates {@code dgamma += Σ dy⊙x̂} (required iff {@code gamma} is given) and
     * {@code dbeta += Σ dy} (optional). {@code stat}/{@code rstd} are what {@link #forward} saved.
     */
    public static void backward(NormKind kind, int rows, int width,
                                MemorySegment x, long xOff, int ldx, MemorySegment gamma, long gOff,
                                MemorySegment stat, long statOff, MemorySegment rstd, long rOff,
                                MemorySegment dy, long dyOff, int lddy, MemorySegment dx, long dxOff, int lddx,
                                MemorySegment dgamma, long dgOff, MemorySegment dbeta, long dbOff) {
        checkBackward(kind, rows, width, x, xOff, ldx, gamma, gOff, stat, statOff, rstd, rOff, dy, dyOff, lddy, dx,
                dxOff, lddx, dgamma, dgOff, dbeta, dbOff);
        ChunkedGrads.run(rows, width, new MemorySegment[]{dgamma, dbeta}, new long[]{dgOff, dbOff},
                new int[]{width, width}, (lo, hi, g, go) -> {
                    float[] acc = new float[3];
                    for (int r = lo; r < hi; r++) {
                        backwardRow(kind, r, width, x, (xOff + (long) r * ldx) * 4, gamma, gOff * 4, stat, statOff,
                                rstd, rOff, dy, (dyOff + (long) r * lddy) * 4, dx, (dxOff + (long) r * lddx) * 4,
                                g[0], go[0] * 4, g[1], go[1] * 4, acc);
                    }
                });
    }

    // ------------------------------------------------------------------ rows

    private static void forwardRow(NormKind kind, int row, int n, float eps, MemorySegment x, long xb,
                                   MemorySegment gamma, long gb, MemorySegment beta, long bb,
                                   MemorySegment y, long yb, MemorySegment stat, long statOff,
                                   MemorySegment rstd, long rOff) {
        float c = 0, s = 0;
        if (kind.savesStat()) {
            s = sum(n, x, xb);
            if (kind.centred()) {
                c = s / n;
            }
        }
        float q = kind.l1() ? sumAbsDev(n, x, xb, c) : sumSqDev(n, x, xb, c);
        float r;
        if (kind == NormKind.CRMSNORM) {
            r = (float) (1.0 / Math.sqrt(((double) q + (double) s * s) / (n + 1) + eps));
        } else if (kind.l1()) {
            r = 1f / (q / n + eps);
        } else {
            r = (float) (1.0 / Math.sqrt(q / n + eps));
        }
        if (!Float.isFinite(s) || !Float.isFinite(q)) {
            throw NormChecks.nonFinite(kind.label(), "input x", row);
        }
        if (stat != null && kind.savesStat()) {
            stat.setAtIndex(FLOAT, statOff + row, kind.centred() ? c : s);
        }
        rstd.setAtIndex(FLOAT, rOff + row, r);
        if (gamma == null) {
            outPlain(n, x, xb, c, r, y, yb);
        } else if (beta == null) {
            outGain(n, x, xb, c, r, gamma, gb, y, yb);
        } else {
            outGainBias(n, x, xb, c, r, gamma, gb, beta, bb, y, yb);
        }
    }

    private static void backwardRow(NormKind kind, int row, int n, MemorySegment x, long xb, MemorySegment gamma,
                                    long gb, MemorySegment stat, long statOff, MemorySegment rstd, long rOff,
                                    MemorySegment dy, long dyb, MemorySegment dx, long dxb,
                                    MemorySegment dgamma, long dgb, MemorySegment dbeta, long dbb, float[] acc) {
        float r = rstd.getAtIndex(FLOAT, rOff + row);
        float st = kind.savesStat() ? stat.getAtIndex(FLOAT, statOff + row) : 0f;
        float c = kind.centred() ? st : 0f;
        boolean hasGamma = gamma != null;
        if (kind.l1()) {
            sumsL1(n, x, xb, c, r, gamma, gb, hasGamma, dy, dyb, dgamma, dgb, acc);
        } else {
            sumsL2(n, x, xb, c, r, gamma, gb, hasGamma, dy, dyb, dgamma, dgb, acc);
        }
        float sg = acc[0], sgx = acc[1];
        if (!Float.isFinite(sg) || !Float.isFinite(sgx)) {
            throw NormChecks.nonFinite(kind.label(), "gradient dy", row);
        }
        float c0, c1;
        switch (kind) {
            case LAYERNORM -> {
                c0 = r * (sg / n);
                c1 = r * (sgx / n);
            }
            case CRMSNORM -> {
                c1 = r * (sgx / (n + 1));
                c0 = c1 * r * st;
            }
            case L1 -> {
                c0 = r * (sg / n - (sgx / n) * (acc[2] / n));
                c1 = r * (sgx / n);
            }
            default -> { // RMSNORM, L1_NONCENTRED
                c0 = 0f;
                c1 = r * (sgx / n);
            }
        }
        if (kind.l1()) {
            dxL1(n, x, xb, c, r, gamma, gb, hasGamma, dy, dyb, dx, dxb, c0, c1);
        } else {
            dxL2(n, x, xb, c, r, gamma, gb, hasGamma, dy, dyb, dx, dxb, c0, c1);
        }
        if (dbeta != null) {
            addTo(n, dy, dyb, dbeta, dbb);
        }
    }

    // ------------------------------------------------------------------ forward loops

    static float sum(int n, MemorySegment x, long xb) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(S, x, xb + 4L * (i + L), ORDER));
        }
        if (i < S.loopBound(n)) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER));
            i += L;
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += x.get(FLOAT, xb + 4L * i);
        }
        return s;
    }

    /** Σ (x - c)². */
    static float sumSqDev(int n, MemorySegment x, long xb, float c) {
        FloatVector vc = FloatVector.broadcast(S, c);
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            FloatVector d0 = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc);
            FloatVector d1 = FloatVector.fromMemorySegment(S, x, xb + 4L * (i + L), ORDER).sub(vc);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
        }
        if (i < S.loopBound(n)) {
            FloatVector d0 = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc);
            a0 = d0.fma(d0, a0);
            i += L;
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = x.get(FLOAT, xb + 4L * i) - c;
            s = Math.fma(d, d, s);
        }
        return s;
    }

    /** Σ |x - c|. */
    static float sumAbsDev(int n, MemorySegment x, long xb, float c) {
        FloatVector vc = FloatVector.broadcast(S, c);
        FloatVector a0 = FloatVector.zero(S), a1 = a0;
        int upper2 = n - n % (2 * L);
        int i = 0;
        for (; i < upper2; i += 2 * L) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).abs());
            a1 = a1.add(FloatVector.fromMemorySegment(S, x, xb + 4L * (i + L), ORDER).sub(vc).abs());
        }
        if (i < S.loopBound(n)) {
            a0 = a0.add(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).abs());
            i += L;
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += Math.abs(x.get(FLOAT, xb + 4L * i) - c);
        }
        return s;
    }

    private static void outPlain(int n, MemorySegment x, long xb, float c, float r, MemorySegment y, long yb) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).mul(vr)
                    .intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            y.set(FLOAT, yb + 4L * i, (x.get(FLOAT, xb + 4L * i) - c) * r);
        }
    }

    private static void outGain(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                                MemorySegment y, long yb) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).mul(vr)
                    .mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER))
                    .intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            y.set(FLOAT, yb + 4L * i, (x.get(FLOAT, xb + 4L * i) - c) * r * gamma.get(FLOAT, gb + 4L * i));
        }
    }

    private static void outGainBias(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                                    MemorySegment beta, long bb, MemorySegment y, long yb) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).mul(vr)
                    .fma(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER),
                            FloatVector.fromMemorySegment(S, beta, bb + 4L * i, ORDER))
                    .intoMemorySegment(y, yb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            y.set(FLOAT, yb + 4L * i, Math.fma((x.get(FLOAT, xb + 4L * i) - c) * r, gamma.get(FLOAT, gb + 4L * i),
                    beta.get(FLOAT, bb + 4L * i)));
        }
    }

    // ------------------------------------------------------------------ backward loops

    /** acc = {Σg, Σg⊙x̂}; dgamma += dy⊙x̂ when there is a gain. */
    private static void sumsL2(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                               boolean hasGamma, MemorySegment dy, long dyb, MemorySegment dgamma, long dgb,
                               float[] acc) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        FloatVector ag = FloatVector.zero(S), agx = ag;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector d = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            FloatVector xh = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).mul(vr);
            FloatVector g = d;
            if (hasGamma) {
                g = d.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
                d.fma(xh, FloatVector.fromMemorySegment(S, dgamma, dgb + 4L * i, ORDER))
                        .intoMemorySegment(dgamma, dgb + 4L * i, ORDER);
            }
            ag = ag.add(g);
            agx = g.fma(xh, agx);
        }
        float sg = ag.reduceLanes(VectorOperators.ADD), sgx = agx.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = dy.get(FLOAT, dyb + 4L * i);
            float xh = (x.get(FLOAT, xb + 4L * i) - c) * r;
            float g = d;
            if (hasGamma) {
                g = d * gamma.get(FLOAT, gb + 4L * i);
                dgamma.set(FLOAT, dgb + 4L * i, Math.fma(d, xh, dgamma.get(FLOAT, dgb + 4L * i)));
            }
            sg += g;
            sgx = Math.fma(g, xh, sgx);
        }
        acc[0] = sg;
        acc[1] = sgx;
    }

    /** acc = {Σg, Σg⊙x̂, Σsgn(x-c)}; dgamma += dy⊙x̂ when there is a gain. */
    private static void sumsL1(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                               boolean hasGamma, MemorySegment dy, long dyb, MemorySegment dgamma, long dgb,
                               float[] acc) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        FloatVector ag = FloatVector.zero(S), agx = ag, as = ag;
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector d = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            FloatVector xc = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc);
            FloatVector xh = xc.mul(vr);
            FloatVector g = d;
            if (hasGamma) {
                g = d.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
                d.fma(xh, FloatVector.fromMemorySegment(S, dgamma, dgb + 4L * i, ORDER))
                        .intoMemorySegment(dgamma, dgb + 4L * i, ORDER);
            }
            ag = ag.add(g);
            agx = g.fma(xh, agx);
            as = as.add(sign(xc));
        }
        float sg = ag.reduceLanes(VectorOperators.ADD), sgx = agx.reduceLanes(VectorOperators.ADD);
        float ss = as.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float d = dy.get(FLOAT, dyb + 4L * i);
            float xc = x.get(FLOAT, xb + 4L * i) - c;
            float xh = xc * r;
            float g = d;
            if (hasGamma) {
                g = d * gamma.get(FLOAT, gb + 4L * i);
                dgamma.set(FLOAT, dgb + 4L * i, Math.fma(d, xh, dgamma.get(FLOAT, dgb + 4L * i)));
            }
            sg += g;
            sgx = Math.fma(g, xh, sgx);
            ss += Math.signum(xc);
        }
        acc[0] = sg;
        acc[1] = sgx;
        acc[2] = ss;
    }

    /** sgn(v) lanewise: 1, -1 or 0 (NaN lanes give 0; NaN rows were rejected before). */
    static FloatVector sign(FloatVector v) {
        VectorMask<Float> pos = v.compare(VectorOperators.GT, 0f), neg = v.compare(VectorOperators.LT, 0f);
        return FloatVector.zero(S).blend(1f, pos).blend(-1f, neg);
    }

    /** dx = r·g − c0 − c1·x̂. */
    private static void dxL2(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                             boolean hasGamma, MemorySegment dy, long dyb, MemorySegment dx, long dxb, float c0,
                             float c1) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        FloatVector v0 = FloatVector.broadcast(S, -c0), v1 = FloatVector.broadcast(S, -c1);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector g = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            if (hasGamma) {
                g = g.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
            }
            FloatVector xh = FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc).mul(vr);
            g.fma(vr, xh.fma(v1, v0)).intoMemorySegment(dx, dxb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            float g = dy.get(FLOAT, dyb + 4L * i);
            if (hasGamma) {
                g *= gamma.get(FLOAT, gb + 4L * i);
            }
            float xh = (x.get(FLOAT, xb + 4L * i) - c) * r;
            dx.set(FLOAT, dxb + 4L * i, Math.fma(g, r, Math.fma(xh, -c1, -c0)));
        }
    }

    /** dx = r·g − c0 − c1·sgn(x − c). */
    private static void dxL1(int n, MemorySegment x, long xb, float c, float r, MemorySegment gamma, long gb,
                             boolean hasGamma, MemorySegment dy, long dyb, MemorySegment dx, long dxb, float c0,
                             float c1) {
        FloatVector vc = FloatVector.broadcast(S, c), vr = FloatVector.broadcast(S, r);
        FloatVector v0 = FloatVector.broadcast(S, -c0), v1 = FloatVector.broadcast(S, -c1);
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector g = FloatVector.fromMemorySegment(S, dy, dyb + 4L * i, ORDER);
            if (hasGamma) {
                g = g.mul(FloatVector.fromMemorySegment(S, gamma, gb + 4L * i, ORDER));
            }
            FloatVector t = sign(FloatVector.fromMemorySegment(S, x, xb + 4L * i, ORDER).sub(vc));
            g.fma(vr, t.fma(v1, v0)).intoMemorySegment(dx, dxb + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            float g = dy.get(FLOAT, dyb + 4L * i);
            if (hasGamma) {
                g *= gamma.get(FLOAT, gb + 4L * i);
            }
            float t = Math.signum(x.get(FLOAT, xb + 4L * i) - c);
            dx.set(FLOAT, dxb + 4L * i, Math.fma(g, r, Math.fma(t, -c1, -c0)));
        }
    }

    /** acc[i] += v[i]. */
    static void addTo(int n, MemorySegment v, long vb, MemorySegment acc, long ab) {
        int upper = S.loopBound(n);
        int i = 0;
        for (; i < upper; i += L) {
            FloatVector.fromMemorySegment(S, acc, ab + 4L * i, ORDER)
                    .add(FloatVector.fromMemorySegment(S, v, vb + 4L * i, ORDER))
                    .intoMemorySegment(acc, ab + 4L * i, ORDER);
        }
        for (; i < n; i++) {
            acc.set(FLOAT, ab + 4L * i, acc.get(FLOAT, ab + 4L * i) + v.get(FLOAT, vb + 4L * i));
        }
    }

    // ------------------------------------------------------------------ checks (shared with the twin)

    static void checkForward(NormKind kind, int rows, int width, float eps, MemorySegment x, long xOff, int ldx,
                             MemorySegment gamma, long gOff, MemorySegment beta, long bOff,
                             MemorySegment y, long yOff, int ldy, MemorySegment stat, long statOff,
                             MemorySegment rstd, long rOff) {
        if (kind == null) {
            throw new NullPointerException("kind is null");
        }
        checkWidth(kind, width);
        NormChecks.positive("eps", eps);
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("y", y, yOff, rows, width, ldy, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        NormChecks.optVector("beta", beta, bOff, width, 4);
        if (beta != null && gamma == null) {
            throw new IllegalArgumentException("beta: a bias needs a gain, got beta without gamma");
        }
        NormChecks.optVector("stat", stat, statOff, rows, 4);
        NormChecks.vector("rstd", rstd, rOff, rows, 4);
    }

    static void checkBackward(NormKind kind, int rows, int width, MemorySegment x, long xOff, int ldx,
                              MemorySegment gamma, long gOff, MemorySegment stat, long statOff,
                              MemorySegment rstd, long rOff, MemorySegment dy, long dyOff, int lddy,
                              MemorySegment dx, long dxOff, int lddx, MemorySegment dgamma, long dgOff,
                              MemorySegment dbeta, long dbOff) {
        if (kind == null) {
            throw new NullPointerException("kind is null");
        }
        checkWidth(kind, width);
        NormChecks.matrix("x", x, xOff, rows, width, ldx, 4);
        NormChecks.matrix("dy", dy, dyOff, rows, width, lddy, 4);
        NormChecks.matrix("dx", dx, dxOff, rows, width, lddx, 4);
        NormChecks.optVector("gamma", gamma, gOff, width, 4);
        if ((gamma == null) != (dgamma == null)) {
            throw new IllegalArgumentException("dgamma: expected " + (gamma == null ? "null (no gain)" :
                    "a segment (the gain is given)") + ", got " + (dgamma == null ? "null" : "a segment"));
        }
        NormChecks.optVector("dgamma", dgamma, dgOff, width, 4);
        NormChecks.optVector("dbeta", dbeta, dbOff, width, 4);
        if (kind.savesStat()) {
            NormChecks.vector("stat", stat, statOff, rows, 4);
        }
        NormChecks.vector("rstd", rstd, rOff, rows, 4);
    }

    private static void checkWidth(NormKind kind, int width) {
        if (width < 1) {
            throw new IllegalArgumentException(kind.label() + ": width expected >= 1, got " + width);
        }
    }
}
