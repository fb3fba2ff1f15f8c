package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.KernelTestSupport.*;
import static org.nibble.kernels.Simd.FLOAT;

class ActivationsTest {
    interface Fwd {
        void run(int n, MemorySegment x, long xOff, MemorySegment y, long yOff);
    }

    interface Bwd {
        void run(int n, MemorySegment x, long xOff, MemorySegment dy, long dyOff, MemorySegment dx, long dxOff);
    }

    record FwdCase(String name, Fwd vec, Fwd ref, double abs, double rel) {
    }

    record BwdCase(String name, Bwd vec, Bwd ref, double abs, double rel) {
    }

    static final float ALPHA = 0.7f;

    static final List<FwdCase> FORWARD = List.of(
            new FwdCase("exp", Activations::exp, ActivationsScalar::exp, 0, 2.5e-7),
            new FwdCase("erf", Activations::erf, ActivationsScalar::erf, 1.2e-7, 0),
            new FwdCase("geluErf", Activations::geluErf, ActivationsScalar::geluErf, 1.5e-7, 2.5e-7),
            new FwdCase("geluTanh", Activations::geluTanh, ActivationsScalar::geluTanh, 1e-7, 4e-7),
            new FwdCase("silu", Activations::silu, ActivationsScalar::silu, 1e-7, 4e-7),
            new FwdCase("elu", (n, x, xo, y, yo) -> Activations.elu(n, ALPHA, x, xo, y, yo),
                    (n, x, xo, y, yo) -> ActivationsScalar.elu(n, ALPHA, x, xo, y, yo), 1e-7, 4e-7),
            new FwdCase("selu", Activations::selu, ActivationsScalar::selu, 1e-7, 4e-7));

    static final List<BwdCase> BACKWARD = List.of(
            new BwdCase("geluErf", Activations::geluErfBackward, ActivationsScalar::geluErfBackward, 2e-7, 4e-7),
            new BwdCase("geluTanh", Activations::geluTanhBackward, ActivationsScalar::geluTanhBackward, 1e-7, 6e-7),
            new BwdCase("silu", Activations::siluBackward, ActivationsScalar::siluBackward, 1e-7, 6e-7),
            new BwdCase("elu", (n, x, xo, g, go, d, dO) -> Activations.eluBackward(n, ALPHA, x, xo, g, go, d, dO),
                    (n, x, xo, g, go, d, dO) -> ActivationsScalar.eluBackward(n, ALPHA, x, xo, g, go, d, dO), 0, 4e-7),
            new BwdCase("selu", Activations::seluBackward, ActivationsScalar::seluBackward, 0, 4e-7));

    static final float[] SPECIALS = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e-6f,
            -1e-6f, 1e-30f, -3e-39f, 30f, -30f, 100f, -100f, 1e6f, -1e6f, 0.999f, 1f, 1.0001f, -4f, 3.9f, 87f, 89f,
            -87.5f, -103f, -110f};

    /** Absolute tolerances scale with max(1, |x|) for finite x. */
    private static double scale(float x) {
        return Float.isFinite(x) ? Math.max(1, Math.abs(x)) : 1;
    }

    private static MemorySegment inputs(Arena a, long off, int n, long seed) {
        MemorySegment x = random(a, off, n, seed, -8, 8);
        for (int i = 0; i < Math.min(n, SPECIALS.length); i++) {
            x.setAtIndex(FLOAT, off + (long) i * n / Math.min(n, SPECIALS.length), SPECIALS[i]);
        }
        return x;
    }

    @Test
    void forwardMatchesTwinOverTailsAndOffsets() {
        for (FwdCase c : FORWARD) {
            for (int n : SIZES) {
                for (long off : OFFSETS) {
                    try (Arena a = Arena.ofShared()) {
                        MemorySegment x = inputs(a, off, n, n * 31L + off);
                        MemorySegment yv = guarded(a, off + 1, n), yr = guarded(a, off + 1, n);
                        c.vec.run(n, x, off, yv, off + 1);
                        c.ref.run(n, x, off, yr, off + 1);
                        assertGuards(c.name, yv, off + 1, n);
                        float[] xs = read(x, off, n), ev = read(yr, off + 1, n), av = read(yv, off + 1, n);
                        for (int i = 0; i < n; i++) {
                            assertClose(c.name + " n=" + n + " off=" + off + " x=" + xs[i], ev[i], av[i],
                                    c.abs * scale(xs[i]) + 1e-37, c.rel);
                        }
                    }
                }
            }
        }
    }

    @Test
    void backwardMatchesTwinOverTailsAndOffsets() {
        for (BwdCase c : BACKWARD) {
            for (int n : SIZES) {
                for (long off : OFFSETS) {
                    try (Arena a = Arena.ofShared()) {
                        MemorySegment x = inputs(a, off, n, n * 17L + off);
                        MemorySegment dy = random(a, 2, n, n + 5L, -2, 2);
                        MemorySegment dv = guarded(a, off, n), dr = guarded(a, off, n);
                        c.vec.run(n, x, off, dy, 2, dv, off);
                        c.ref.run(n, x, off, dy, 2, dr, off);
                        assertGuards(c.name, dv, off, n);
                        float[] xs = read(x, off, n), gs = read(dy, 2, n), ev = read(dr, off, n),
                                av = read(dv, off, n);
                        for (int i = 0; i < n; i++) {
                            assertClose(c.name + "' n=" + n + " x=" + xs[i], ev[i], av[i],
                                    c.abs * scale(xs[i]) * Math.abs(gs[i]) + 1e-37, c.rel);
                        }
                    }
                }
            }
        }
    }

    /** The derivatives of the double twin against central differences of its own forward, in double. */
    @Test
    void derivativesMatchFiniteDifferences() {
        checkFd("geluErf", ActivationsScalar::geluErf, ActivationsScalar::geluErfGrad);
        checkFd("geluTanh", ActivationsScalar::geluTanh, ActivationsScalar::geluTanhGrad);
        checkFd("silu", ActivationsScalar::silu, ActivationsScalar::siluGrad);
        checkFd("elu", x -> ActivationsScalar.elu(x, ALPHA), x -> ActivationsScalar.eluGrad(x, ALPHA));
        checkFd("erf", ActivationsScalar::erf, x -> 2 / Math.sqrt(Math.PI) * Math.exp(-x * x));
    }

    private static void checkFd(String name, DoubleUnaryOperator f, DoubleUnaryOperator df) {
        double h = 1e-5;
        for (double x = -7.013; x < 7; x += 0.0731) {
            double fd = (f.applyAsDouble(x + h) - f.applyAsDouble(x - h)) / (2 * h);
            assertClose(name + "' at " + x, fd, df.applyAsDouble(x), 1e-8, 1e-6);
        }
    }

    /** Vector backward against finite differences of the vector forward's double twin: a second, direct path. */
    @Test
    void vectorBackwardMatchesFiniteDifferences() {
        int n = 301;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = random(a, 0, n, 99, -6, 6), ones = floats(a, n), dx = floats(a, n);
            fill(ones, 1f);
            float[] xs = read(x, 0, n);
            Activations.geluErfBackward(n, x, 0, ones, 0, dx, 0);
            float[] d = read(dx, 0, n);
            for (int i = 0; i < n; i++) {
                double h = 1e-4, xi = xs[i];
                double fd = (ActivationsScalar.geluErf(xi + h) - ActivationsScalar.geluErf(xi - h)) / (2 * h);
                assertClose("geluErf' at " + xi, fd, d[i], 3e-7, 1e-6);
            }
        }
    }

    /** Max |erf_vector - erf_double| over a dense grid on [-6, 6]: the documented bound. */
    @Test
    void erfAbsoluteErrorBound() {
        int n = 1 << 20;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, n), y = floats(a, n);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(FLOAT, i, -6f + 12f * i / n);
            }
            Activations.erf(n, x, 0, y, 0);
            double max = 0;
            for (int i = 0; i < n; i++) {
                double xi = x.getAtIndex(FLOAT, i);
                max = Math.max(max, Math.abs(y.getAtIndex(FLOAT, i) - ActivationsScalar.erf(xi)));
            }
            System.out.println("VectorMath.erf max abs error on [-6, 6]: " + max);
            assertTrue(max <= 1.2e-7, "erf max abs error " + max);
        }
    }

    @Test
    void expRelativeErrorBound() {
        int n = 1 << 20;
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, n), y = floats(a, n);
            for (int i = 0; i < n; i++) {
                x.setAtIndex(FLOAT, i, -87f + 175.7f * i / n);
            }
            Activations.exp(n, x, 0, y, 0);
            double max = 0;
            for (int i = 0; i < n; i++) {
                double e = Math.exp(x.getAtIndex(FLOAT, i));
                max = Math.max(max, Math.abs(y.getAtIndex(FLOAT, i) - e) / e);
            }
            System.out.println("VectorMath.exp max rel error on [-87, 88.7]: " + max);
            assertTrue(max <= 2.5e-7, "exp max rel error " + max);
        }
    }

    @Test
    void knownValues() {
        try (Arena a = Arena.ofShared()) {
            float[] xs = {0f, 0.5f, 1f, 2f, -1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, -0f};
            // erf table values (Abramowitz & Stegun, table 7.1)
            double[] erf = {0, 0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.8427007929497149, 1,
                    -1, Double.NaN, 0};
            MemorySegment x = of(a, xs), y = floats(a, xs.length);
            Activations.erf(xs.length, x, 0, y, 0);
            for (int i = 0; i < xs.length; i++) {
                assertClose("erf(" + xs[i] + ")", erf[i], y.getAtIndex(FLOAT, i), 1.2e-7, 0);
            }
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(y.getAtIndex(FLOAT, 8)), "erf(-0)");
            assertEquals(1f, y.getAtIndex(FLOAT, 5), "erf(+inf) exactly 1");

            // erf is odd, bit for bit
            int n = 1000;
            MemorySegment p = random(a, 0, n, 7, 0, 5), m = floats(a, n), yp = floats(a, n), ym = floats(a, n);
            for (int i = 0; i < n; i++) {
                m.setAtIndex(FLOAT, i, -p.getAtIndex(FLOAT, i));
            }
            Activations.erf(n, p, 0, yp, 0);
            Activations.erf(n, m, 0, ym, 0);
            for (int i = 0; i < n; i++) {
                assertEquals(-yp.getAtIndex(FLOAT, i), ym.getAtIndex(FLOAT, i), "erf odd at " + p.getAtIndex(FLOAT, i));
            }

            // GELU(0) = 0, GELU(x) -> x for large x, -> 0 for very negative x; Phi(1) = 0.8413447460685429
            MemorySegment g = of(a, 0f, 10f, -10f, 1f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN);
            MemorySegment gy = floats(a, 7);
            for (Fwd f : new Fwd[]{Activations::geluErf, Activations::geluTanh}) {
                f.run(7, g, 0, gy, 0);
                assertEquals(0f, gy.getAtIndex(FLOAT, 0), 0f);
                assertEquals(10f, gy.getAtIndex(FLOAT, 1), 1e-5f);
                assertEquals(0f, gy.getAtIndex(FLOAT, 2), 1e-6f);
                assertEquals(Float.POSITIVE_INFINITY, gy.getAtIndex(FLOAT, 4));
                assertEquals(0f, gy.getAtIndex(FLOAT, 5), 0f);
                assertTrue(Float.isNaN(gy.getAtIndex(FLOAT, 6)));
            }
            Activations.geluErf(7, g, 0, gy, 0);
            assertEquals(0.8413447460685429, gy.getAtIndex(FLOAT, 3), 2e-7);
            Activations.geluTanh(7, g, 0, gy, 0);
            // 0.5 (1 + tanh(sqrt(2/pi) * 1.044715)), by hand
            assertEquals(0.5 * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * 1.044715)), gy.getAtIndex(FLOAT, 3), 2e-7);

            // SiLU(0) = 0, ELU(-inf) = -alpha, SELU(1) = scale, derivatives at +-inf are finite limits
            MemorySegment s = of(a, 0f, Float.NEGATIVE_INFINITY, 1f, Float.POSITIVE_INFINITY), sy = floats(a, 4);
            Activations.silu(4, s, 0, sy, 0);
            assertEquals(0f, sy.getAtIndex(FLOAT, 0), 0f);
            assertEquals(0f, sy.getAtIndex(FLOAT, 1), 0f);
            Activations.elu(4, ALPHA, s, 0, sy, 0);
            assertEquals(-ALPHA, sy.getAtIndex(FLOAT, 1), 1e-7f);
            Activations.selu(4, s, 0, sy, 0);
            assertEquals(Activations.SELU_SCALE, sy.getAtIndex(FLOAT, 2));
            MemorySegment one = of(a, 1f, 1f, 1f, 1f);
            for (Bwd b : new Bwd[]{Activations::geluErfBackward, Activations::geluTanhBackward,
                    Activations::siluBackward}) {
                b.run(4, s, 0, one, 0, sy, 0);
                assertEquals(0.5f, sy.getAtIndex(FLOAT, 0), 1e-7f);
                assertEquals(0f, sy.getAtIndex(FLOAT, 1), 1e-20f);
                assertEquals(1f, sy.getAtIndex(FLOAT, 3));
            }
        }
    }

    @Test
    void argumentErrorsNameTheArgument() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment x = floats(a, 10), y = floats(a, 10);
            var e1 = assertThrows(IllegalArgumentException.class, () -> Activations.geluErf(-1, x, 0, y, 0));
            assertTrue(e1.getMessage().contains("n") && e1.getMessage().contains("-1"), e1.getMessage());
            var e2 = assertThrows(IndexOutOfBoundsException.class, () -> Activations.silu(10, x, 1, y, 0));
            assertTrue(e2.getMessage().startsWith("x:"), e2.getMessage());
            var e3 = assertThrows(IndexOutOfBoundsException.class,
                    () -> Activations.siluBackward(10, x, 0, x, 0, y, 5));
            assertTrue(e3.getMessage().startsWith("dx:"), e3.getMessage());
            assertThrows(NullPointerException.class, () -> Activations.exp(1, null, 0, y, 0));
        }
    }
}
