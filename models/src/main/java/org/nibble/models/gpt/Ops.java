package org.nibble.models.gpt;

import org.nibble.kernels.Activations;
import org.nibble.kernels.AdamW;
import org.nibble.kernels.Checks;
import org.nibble.kernels.CrossEntropy;
import org.nibble.kernels.FloatOps;
import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * The numeric entry points the GPT model and its trainer use: GEMM, GELU, softmax, norms, cross-entropy and AdamW
 * over F32 segments (offsets are element indices, matrices are row-major with a leading dimension).
 *
 * <p>This is the one file to change when faster kernels arrive: every method here is a plain, correct Java
 * implementation (reductions are sequential so results do not depend on JIT state), and each can be
 * re-pointed to the matching {@code org.nibble.kernels} kernel with the same contract. All methods are deterministic
 * for a given {@link Parallel#threads()} count: parallel loops write disjoint rows and every reduction runs in a fixed
 * order.
 */
public final class Ops {
    private Ops() {
    }

    // ------------------------------------------------------------------ GEMM

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} with {@code op(A)} of {@code m x k} and {@code op(B)} of
     * {@code k x n}; {@code op(X) = X^T} when the flag is set. Runs {@link GemmF32#gemm} (packed, register-blocked;
     * bit-identical for any thread count). {@code beta == 0} overwrites C.
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        GemmF32.gemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * {@code dst[i] += src[i]} for {@code n} elements, as {@link FloatOps#axpy} with alpha 1 ({@code fma(x, 1, y)} is
     * exactly {@code x + y}). Used instead of {@code FloatOps.add}, whose shared lanewise body runs the Vector API's
     * slow fallback when its operator argument is not a compile-time constant.
     */
    public static void addInto(int n, MemorySegment src, long srcOff, MemorySegment dst, long dstOff) {
        FloatOps.axpy(n, 1f, src, srcOff, dst, dstOff);
    }

    /** {@code out = a + b} ({@code n} elements) into a distinct {@code out}. */
    public static void add(int n, MemorySegment a, long aOff, MemorySegment b, long bOff, MemorySegment out,
                           long outOff) {
        MemorySegment.copy(a, 4 * aOff, out, 4 * outOff, 4L * n);
        FloatOps.axpy(n, 1f, b, bOff, out, outOff);
    }

    /** Sequential sum (a fixed order: reductions here must not depend on JIT state or vector width). */
    static float sum(int n, MemorySegment x, long off) {
        float s = 0f;
        for (int i = 0; i < n; i++) {
            s += x.getAtIndex(FLOAT, off + i);
        }
        return s;
    }

    /** Sequential sum of squares in double (deterministic). */
    public static double sumOfSquares(int n, MemorySegment x, long off) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = x.getAtIndex(FLOAT, off + i);
            s += v * v;
        }
        return s;
    }

    // ------------------------------------------------------------------ GELU (tanh approximation)

    /** {@code out[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} (GPT-2's GELU), {@link Activations#geluTanh}. */
    public static void gelu(int n, MemorySegment x, long xOff, MemorySegment out, long outOff) {
        Activations.geluTanh(n, x, xOff, out, outOff);
    }

    /** {@code dx[i] = dy[i] * gelu'(x[i])}; {@code dx} may alias {@code dy}. {@link Activations#geluTanhBackward}. */
    public static void geluBackward(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff,
                                    MemorySegment dx, long dxOff) {
        Activations.geluTanhBackward(n, x, xOff, dy, dyOff, dx, dxOff);
    }

    // ------------------------------------------------------------------ norms (papers.md 0.1, 0.2)

    /**
     * LayerNorm over rows of {@code dim}: {@code y = gamma * (x - mean) * rstd + beta} (biased variance, eps inside
     * the root). Saves {@code mean} and {@code rstd} per row. {@code beta} may be null (no bias).
     */
    public static void layerNorm(int rows, int dim, float eps, MemorySegment x, long xOff, MemorySegment gamma,
                                 MemorySegment beta, MemorySegment y, long yOff, MemorySegment mean,
                                 MemorySegment rstd) {
        Checks.checkRange("x", x, xOff, (long) rows * dim, 4);
        Checks.checkRange("y", y, yOff, (long) rows * dim, 4);
        Parallel.forRange(0, rows, 16, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long xr = xOff + (long) r * dim, yr = yOff + (long) r * dim;
                float mu = sum(dim, x, xr) / dim;
                float var = 0f;
                for (int i = 0; i < dim; i++) {
                    float d = x.getAtIndex(FLOAT, xr + i) - mu;
                    var += d * d;
                }
                float rs = (float) (1.0 / Math.sqrt(var / dim + eps));
                mean.setAtIndex(FLOAT, r, mu);
                rstd.setAtIndex(FLOAT, r, rs);
                for (int i = 0; i < dim; i++) {
                    float h = (x.getAtIndex(FLOAT, xr + i) - mu) * rs;
                    float v = h * gamma.getAtIndex(FLOAT, i) + (beta == null ? 0f : beta.getAtIndex(FLOAT, i));
                    y.setAtIndex(FLOAT, yr + i, v);
                }
            }
        });
    }

    /**
     * LayerNorm backward: {@code dx = rstd * (g - mean(g) - xhat * mean(g * xhat))}, {@code g = gamma * dy}
     * (papers.md 0.1); accumulates {@code dgamma += sum dy * xhat}, {@code dbeta += sum dy} (rows in order).
     * When {@code center} is false this is RMSNorm (0.2): no mean term and {@code xhat = x * rstd}.
     */
    public static void normBackward(boolean center, int rows, int dim, MemorySegment x, long xOff,
                                    MemorySegment gamma, MemorySegment mean, MemorySegment rstd,
                                    MemorySegment dy, long dyOff, MemorySegment dx, long dxOff,
                                    MemorySegment dgamma, MemorySegment dbeta) {
        Parallel.forRange(0, rows, 16, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long xr = xOff + (long) r * dim, dyr = dyOff + (long) r * dim, dxr = dxOff + (long) r * dim;
                float mu = center ? mean.getAtIndex(FLOAT, r) : 0f;
                float rs = rstd.getAtIndex(FLOAT, r);
                float sg = 0f, sgx = 0f;
                for (int i = 0; i < dim; i++) {
                    float g = gamma.getAtIndex(FLOAT, i) * dy.getAtIndex(FLOAT, dyr + i);
                    float h = (x.getAtIndex(FLOAT, xr + i) - mu) * rs;
                    sg += g;
                    sgx += g * h;
                }
                float mg = center ? sg / dim : 0f, mgx = sgx / dim;
                for (int i = 0; i < dim; i++) {
                    float g = gamma.getAtIndex(FLOAT, i) * dy.getAtIndex(FLOAT, dyr + i);
                    float h = (x.getAtIndex(FLOAT, xr + i) - mu) * rs;
                    dx.setAtIndex(FLOAT, dxr + i, rs * (g - mg - h * mgx));
                }
            }
        });
        // parameter gradients: a fixed row order keeps them bit-identical across runs
        for (int r = 0; r < rows; r++) {
            long xr = xOff + (long) r * dim, dyr = dyOff + (long) r * dim;
            float mu = center ? mean.getAtIndex(FLOAT, r) : 0f;
            float rs = rstd.getAtIndex(FLOAT, r);
            for (int i = 0; i < dim; i++) {
                float d = dy.getAtIndex(FLOAT, dyr + i);
                float h = (x.getAtIndex(FLOAT, xr + i) - mu) * rs;
                dgamma.setAtIndex(FLOAT, i, dgamma.getAtIndex(FLOAT, i) + d * h);
                if (dbeta != null) {
                    dbeta.setAtIndex(FLOAT, i, dbeta.getAtIndex(FLOAT, i) + d);
                }
            }
        }
    }

    /** RMSNorm over rows: {@code y = gamma * x * rstd}, {@code rstd = 1/sqrt(mean(x^2) + eps)}; saves rstd. */
    public static void rmsNorm(int rows, int dim, float eps, MemorySegment x, long xOff, MemorySegment gamma,
                               MemorySegment y, long yOff, MemorySegment rstd) {
        Checks.checkRange("x", x, xOff, (long) rows * dim, 4);
        Checks.checkRange("y", y, yOff, (long) rows * dim, 4);
        Parallel.forRange(0, rows, 16, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                long xr = xOff + (long) r * dim, yr = yOff + (long) r * dim;
                float ms = (float) (sumOfSquares(dim, x, xr) / dim);
                float rs = (float) (1.0 / Math.sqrt(ms + eps));
                rstd.setAtIndex(FLOAT, r, rs);
                for (int i = 0; i < dim; i++) {
                    y.setAtIndex(FLOAT, yr + i, x.getAtIndex(FLOAT, xr + i) * rs * gamma.getAtIndex(FLOAT, i));
                }
            }
        });
    }

    // ------------------------------------------------------------------ cross-entropy

    /**
     * Mean cross-entropy of {@code rows} rows of {@code v} logits against {@code targets}; overwrites the logits with
     * {@code dL/dlogits = (softmax - onehot) / rows}. Returns the mean loss (summed in double, in row order).
     */
    public static double crossEntropy(int rows, int v, MemorySegment logits, long off, int[] targets) {
        if (targets.length < rows) {
            throw new IllegalArgumentException("targets: expected >= " + rows + " entries, got " + targets.length);
        }
        // fused, in place (dlogits overwrites logits); no ignored rows: every byte position has a target
        return CrossEntropy.lossAndGrad(rows, v, logits, off, v, MemorySegment.ofArray(targets), 0, -1, logits, off,
                v);
    }

    // ------------------------------------------------------------------ AdamW

    /**
     * One AdamW step (Loshchilov & Hutter, decoupled weight decay) on {@code n} parameters through
     * {@link AdamW#step}: {@code m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
     * w = (1 - lr wd) w - lr mhat / (sqrt(vhat) + eps)} with bias corrections for the 1-based step {@code t}. The
     * gradient is multiplied by {@code gradScale} first (global-norm clipping), in place.
     */
    public static void adamw(int n, MemorySegment w, MemorySegment g, MemorySegment m, MemorySegment v,
                             float gradScale, float lr, float b1, float b2, float eps, float wd, long t) {
        if (gradScale != 1f) {
            FloatOps.scale(n, gradScale, g, 0, g, 0);
        }
        AdamW.step(n, w, 0, g, 0, m, 0, v, 0, lr, b1, b2, eps, wd, Math.toIntExact(t));
    }
}
