package org.nibble.bench.jmh;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ShiftMM;
import org.nibble.kernels.quant.ShiftMMCandidates;
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

import static org.nibble.kernels.Simd.BYTE;

/**
 * The ShiftMM kernel candidates of the issue on the forward layout {@code C = A B^T} (int8 codes, exact int32):
 * {@code fwd_dot} (ShiftMM's choice: FP32 FMA as exact integer multiplier, dot-product tile), {@code fwd_outer}
 * (FP32 FMA through GemmF32's outer-product micro-kernel, B transposed while packing), {@code fwd_int16}
 * (16-bit products and accumulators), {@code fwd_widen} (Lucene byte -> short -> int), against the FP32 GEMM on
 * float operands ({@code fwd_fp32}, baseline). Not in the default set.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ShiftMMCandidatesBench {
    public static final String BASELINE = "fp32";

    @Param({"256x768x768", "64x768x3072", "1024x1024x1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private int m, k, n;
    private MemorySegment a, b, af, bf, c;
    private final double alpha = 1.0 / 4096;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        a = codes((long) m * k, rng);
        b = codes((long) n * k, rng);
        af = ShiftMMBench.GemmBenchData.random(arena, (long) m * k, rng);
        bf = ShiftMMBench.GemmBenchData.random(arena, (long) n * k, rng);
        c = arena.allocate(4L * m * n, 64);
        for (Runnable r : new Runnable[]{this::fwd_dot, this::fwd_outer, this::fwd_int16, this::fwd_widen}) {
            c.fill((byte) 0);
            r.run();
            ShiftMMBench.GemmBenchData.checkInt8("candidate", ShiftMM.Layout.FORWARD, m, n, k, a, b, alpha, c);
        }
    }

    private MemorySegment codes(long count, SplittableRandom rng) {
        MemorySegment s = arena.allocate(count, 64);
        for (long i = 0; i < count; i++) {
            s.set(BYTE, i, (byte) (rng.nextInt(255) - 127));
        }
        return s;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void fwd_dot() {
        ShiftMM.gemm(ShiftMM.Layout.FORWARD, m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
    }

    @Benchmark
    public void fwd_outer() {
        ShiftMMCandidates.forwardOuter(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
    }

    @Benchmark
    public void fwd_int16() {
        ShiftMMCandidates.forwardInt16(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
    }

    @Benchmark
    public void fwd_widen() {
        ShiftMMCandidates.forwardWiden(m, n, k, alpha, a, 0, k, b, 0, k, c, 0, n);
    }

    @Benchmark
    public void fwd_fp32() {
        GemmF32.gemm(false, true, m, n, k, 1f, af, 0, k, bf, 0, k, 0f, c, 0, n);
    }

    /** 2 M N K operations per call. */
    public static double flops(String op, Map<String, String> params) {
        return ShiftMMBench.flops(op, params);
    }
}
