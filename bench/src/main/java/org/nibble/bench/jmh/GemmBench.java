package org.nibble.bench.jmh;

import org.nibble.bench.OpenBlas;
import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
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
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * FP32 GEMM {@code C[M x N] = A[M x K] * B[K x N]} (row-major, no transposes, alpha 1, beta 0): nibble's
 * {@link GemmF32} against OpenBLAS {@code cblas_sgemm} through FFM, at the shapes, on 1 and 2 threads
 * ({@code Parallel.setThreads} and {@code openblas_set_num_threads}). Shapes are {@code MxKxN}. Without OpenBLAS the
 * {@code gemm_openblas} rows are skipped ({@code nibble bench} says "not installed").
 *
 * <p>Each trial checks both implementations once on 64 sampled entries against double-precision dot products.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GemmBench {
    /** Ratio column: openblas time / our time (above 1 = faster than OpenBLAS). */
    public static final String BASELINE = "openblas";

    @Param({"1024x1024x1024", "2048x2048x2048", "64x768x768", "64x768x3072", "64x3072x768", "256x768x768"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment a, b, c;
    private int m, k, n;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        a = random(arena, (long) m * k, rng);
        b = random(arena, (long) k * n, rng);
        c = arena.allocate(4L * m * n, 64);
        gemm_nibble();
        checkSample("gemm_nibble", m, n, k, a, b, c);
        if (OpenBlas.available()) {
            OpenBlas.setThreads(threads);
            c.fill((byte) 0);
            gemm_openblas();
            checkSample("gemm_openblas", m, n, k, a, b, c);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    static MemorySegment random(Arena arena, long count, SplittableRandom rng) {
        MemorySegment s = arena.allocate(4 * count, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(FLOAT, i, (float) (rng.nextDouble() * 2 - 1));
        }
        return s;
    }

    /** C = A B checked at 64 sampled entries against double dot products (row-major, no transposes). */
    static void checkSample(String what, int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        var rng = new SplittableRandom(7);
        for (int t = 0; t < 64; t++) {
            int i = rng.nextInt(m), j = rng.nextInt(n);
            double s = 0, mag = 0;
            for (int p = 0; p < k; p++) {
                double x = (double) a.getAtIndex(FLOAT, (long) i * k + p) * b.getAtIndex(FLOAT, (long) p * n + j);
                s += x;
                mag += Math.abs(x);
            }
            BenchChecks.close(what + " C[" + i + "][" + j + "]", c.getAtIndex(FLOAT, (long) i * n + j), s,
                    4.0 * k * Math.ulp(1f) * Math.max(1, mag));
        }
    }

    @Benchmark
    public void gemm_nibble() {
        GemmF32.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
    }

    @Benchmark
    public void gemm_openblas() {
        OpenBlas.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
    }

    /** True unless the implementation's native library is missing (used by {@code nibble bench}). */
    public static boolean available(String impl) {
        return !impl.equals("openblas") || OpenBlas.available();
    }

    /** 2 M N K floating-point operations per call. */
    public static double flops(String op, Map<String, String> params) {
        String[] p = params.get("shape").split("x");
        return 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]) * Long.parseLong(p[2]);
    }
}
