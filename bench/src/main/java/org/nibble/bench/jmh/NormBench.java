package org.nibble.bench.jmh;

import org.nibble.kernels.Parallel;
import org.nibble.kernels.norm.BHyT;
import org.nibble.kernels.norm.BHyTScalar;
import org.nibble.kernels.norm.DyT;
import org.nibble.kernels.norm.DyTScalar;
import org.nibble.kernels.norm.IntL1Norm;
import org.nibble.kernels.norm.IntL1NormScalar;
import org.nibble.kernels.norm.NormKind;
import org.nibble.kernels.norm.RowNorm;
import org.nibble.kernels.norm.RowNormScalar;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Forward + backward of one normalization layer's kernels over a (tokens x width) activation: L2 LayerNorm (the
 * baseline), RMSNorm, float L1 LayerNorm, the fully-quantized integer L1 norm (int8 codes in and out, int8 gradient
 * codes in, F32 input gradient out; the quantization of neighbouring layers is not included), DyT and BHyT (exact
 * variance). Methods are {@code fwdbwd_<norm>} so the table gives each norm's ratio to LayerNorm at the same shape
 * and thread count. The setup checks every vector kernel against its scalar twin on the first rows.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class NormBench {
    /** The baseline implementation for the ratio column. */
    public static final String BASELINE = "layernorm";

    @Param({"4096x384", "4096x768", "4096x4096"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private int rows, width;
    private Arena arena;
    private MemorySegment x, y, dy, dx, gamma, beta, dgamma, dbeta, stat, rstd, scalar;
    private MemorySegment q, codes, gq, inScale, gScale, rowSum;
    private int savedThreads;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        rows = Integer.parseInt(p[0]);
        width = Integer.parseInt(p[1]);
        savedThreads = Parallel.threads();
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        long n = (long) rows * width;
        SplittableRandom rng = new SplittableRandom(42);
        x = floats(n, rng, 0.3, 1.5);
        dy = floats(n, rng, 0, 1);
        y = arena.allocate(4 * n, 64);
        dx = arena.allocate(4 * n, 64);
        gamma = floats(width, rng, 1, 0.2);
        beta = floats(width, rng, 0, 0.2);
        dgamma = arena.allocate(4L * width, 64);
        dbeta = arena.allocate(4L * width, 64);
        stat = arena.allocate(4L * rows, 64);
        rstd = arena.allocate(4L * rows, 64);
        rowSum = arena.allocate(4L * rows, 64);
        scalar = arena.allocate(64, 64);
        q = codes(n, rng, 40);
        gq = codes(n, rng, 40);
        codes = arena.allocate(n, 64);
        inScale = arena.allocate(4L * rows, 64);
        gScale = arena.allocate(4L * rows, 64);
        for (int r = 0; r < rows; r++) {
            inScale.setAtIndex(FLOAT, r, 0.03f);
            gScale.setAtIndex(FLOAT, r, 0.001f);
        }
        verify();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        Parallel.setThreads(savedThreads);
        arena.close();
    }

    private MemorySegment floats(long n, SplittableRandom rng, double mean, double std) {
        MemorySegment s = arena.allocate(4 * n, 64);
        for (long i = 0; i < n; i++) {
            s.setAtIndex(FLOAT, i, (float) (mean + std * rng.nextGaussian()));
        }
        return s;
    }

    private MemorySegment codes(long n, SplittableRandom rng, int spread) {
        MemorySegment s = arena.allocate(n, 64);
        for (long i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) Math.max(-127, Math.min(127, Math.round(spread * rng.nextGaussian()))));
        }
        return s;
    }

    /** Vector kernels against their twins on the first 8 rows (one call each). */
    private void verify() {
        int r = 8, w = width;
        MemorySegment a = arena.allocate(4L * r * w, 64), b = arena.allocate(4L * r * w, 64);
        MemorySegment s1 = arena.allocate(4L * r, 64), s2 = arena.allocate(4L * r, 64);
        MemorySegment r1 = arena.allocate(4L * r, 64), r2 = arena.allocate(4L * r, 64);
        for (NormKind k : new NormKind[]{NormKind.LAYERNORM, NormKind.RMSNORM, NormKind.L1}) {
            RowNorm.forward(k, r, w, 1e-5f, x, 0, w, gamma, 0, beta, 0, a, 0, w, s1, 0, r1, 0);
            RowNormScalar.forward(k, r, w, 1e-5f, x, 0, w, gamma, 0, beta, 0, b, 0, w, s2, 0, r2, 0);
            close(k + " forward", a, b, r * w, 1e-4);
            RowNorm.backward(k, r, w, x, 0, w, gamma, 0, s2, 0, r2, 0, dy, 0, w, a, 0, w, dgamma, 0, null, 0);
            RowNormScalar.backward(k, r, w, x, 0, w, gamma, 0, s2, 0, r2, 0, dy, 0, w, b, 0, w, dgamma, 0, null, 0);
            close(k + " backward", a, b, r * w, 1e-3);
        }
        gammaFree(r, w, a, b);
        MemorySegment c1 = arena.allocate((long) r * w, 64), c2 = arena.allocate((long) r * w, 64);
        IntL1Norm.forward(r, w, true, 1e-5f, q, 0, w, inScale, 0, 8f / 127, c1, 0, w, s1, 0, r1, 0);
        IntL1NormScalar.forward(r, w, true, 1e-5f, q, 0, w, inScale, 0, 8f / 127, c2, 0, w, s2, 0, r2, 0);
        if (c1.mismatch(c2) >= 0) {
            throw new IllegalStateException("int-l1 forward: vector codes differ from the twin");
        }
        IntL1Norm.backward(r, w, true, q, 0, w, s1, 0, r1, 0, c1, 0, w, 8f / 127, gq, 0, w, gScale, 0, a, 0, w);
        IntL1NormScalar.backward(r, w, true, q, 0, w, s1, 0, r1, 0, c1, 0, w, 8f / 127, gq, 0, w, gScale, 0, b, 0, w);
        BenchChecks.equal("int-l1 backward", a.toArray(ValueLayout.JAVA_FLOAT), b.toArray(ValueLayout.JAVA_FLOAT));
    }

    private void gammaFree(int r, int w, MemorySegment a, MemorySegment b) {
        DyT.forward(r, w, 0.5f, x, 0, w, gamma, 0, beta, 0, a, 0, w);
        DyTScalar.forward(r, w, 0.5f, x, 0, w, gamma, 0, beta, 0, b, 0, w);
        close("dyt forward", a, b, r * w, 1e-5);
        MemorySegment v1 = arena.allocate(4L * r, 64), v2 = arena.allocate(4L * r, 64);
        BHyT.forward(r, w, 2f, 10f, 1e-6f, true, x, 0, w, gamma, 0, null, 0, a, 0, w, v1, 0);
        BHyTScalar.forward(r, w, 2f, 10f, 1e-6f, true, x, 0, w, gamma, 0, null, 0, b, 0, w, v2, 0);
        close("bhyt forward", a, b, r * w, 1e-5);
    }

    private static void close(String what, MemorySegment a, MemorySegment b, int n, double tol) {
        for (int i = 0; i < n; i++) {
            BenchChecks.close(what + "[" + i + "]", a.getAtIndex(FLOAT, i), b.getAtIndex(FLOAT, i), tol);
        }
    }

    private void rowNorm(NormKind k, boolean bias) {
        RowNorm.forward(k, rows, width, 1e-5f, x, 0, width, gamma, 0, bias ? beta : null, 0, y, 0, width, stat, 0,
                rstd, 0);
        RowNorm.backward(k, rows, width, x, 0, width, gamma, 0, stat, 0, rstd, 0, dy, 0, width, dx, 0, width,
                dgamma, 0, bias ? dbeta : null, 0);
    }

    @Benchmark
    public MemorySegment fwdbwd_layernorm() {
        rowNorm(NormKind.LAYERNORM, true);
        return dx;
    }

    @Benchmark
    public MemorySegment fwdbwd_rmsnorm() {
        rowNorm(NormKind.RMSNORM, false);
        return dx;
    }

    @Benchmark
    public MemorySegment fwdbwd_l1() {
        rowNorm(NormKind.L1, true);
        return dx;
    }

    @Benchmark
    public MemorySegment fwdbwd_intl1() {
        IntL1Norm.forward(rows, width, true, 1e-5f, q, 0, width, inScale, 0, 8f / 127, codes, 0, width, rowSum, 0,
                rstd, 0);
        IntL1Norm.backward(rows, width, true, q, 0, width, rowSum, 0, rstd, 0, codes, 0, width, 8f / 127, gq, 0,
                width, gScale, 0, dx, 0, width);
        return dx;
    }

    @Benchmark
    public MemorySegment fwdbwd_dyt() {
        DyT.forward(rows, width, 0.5f, x, 0, width, gamma, 0, beta, 0, y, 0, width);
        DyT.backward(rows, width, 0.5f, x, 0, width, gamma, 0, dy, 0, width, dx, 0, width, dgamma, 0, dbeta, 0,
                scalar, 0);
        return dx;
    }

    @Benchmark
    public MemorySegment fwdbwd_bhyt() {
        BHyT.forward(rows, width, 2f, 10f, 1e-6f, true, x, 0, width, gamma, 0, null, 0, y, 0, width, stat, 0);
        BHyT.backward(rows, width, 2f, 10f, 1e-6f, true, x, 0, width, gamma, 0, stat, 0, dy, 0, width, dx, 0, width,
                dgamma, 0, null, 0, scalar, 0, null, 0);
        return dx;
    }
}
