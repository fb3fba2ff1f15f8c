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
 * FP32 GEMV (decode: one token through a weight matrix), nibble's {@link GemmF32#gemm} with {@code m == 1} against
 * OpenBLAS {@code cblas_sgemv}. Shape {@code OUTxIN}. Layout {@code Wx}: W stored out x in, {@code y = W x}
 * (nibble: {@code gemm(false, true, 1, out, in, ...)}, OpenBLAS: NoTrans sgemv). Layout {@code xW}: W stored in x out,
 * {@code y = x W} (nibble: {@code gemm(false, false, 1, out, in, ...)}, OpenBLAS: Trans sgemv). Memory-bound: the
 * 64 MiB matrix is streamed once per call (partly L3-resident on 2 threads, see limits.md section 2).
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class GemvBench {
    /** Ratio column: openblas time / our time. */
    public static final String BASELINE = "openblas";

    @Param({"4096x4096"})
    public String shape;

    @Param({"Wx", "xW"})
    public String layout;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private MemorySegment w, x, y;
    private int out, in;
    private boolean wx;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        out = Integer.parseInt(p[0]);
        in = Integer.parseInt(p[1]);
        wx = switch (layout) {
            case "Wx" -> true;
            case "xW" -> false;
            default -> throw new IllegalArgumentException("layout: expected Wx or xW, got " + layout);
        };
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        w = GemmBench.random(arena, (long) out * in, rng);
        x = GemmBench.random(arena, in, rng);
        y = arena.allocate(4L * out, 64);
        gemv_nibble();
        check("gemv_nibble");
        if (OpenBlas.available()) {
            OpenBlas.setThreads(threads);
            y.fill((byte) 0);
            gemv_openblas();
            check("gemv_openblas");
        }
    }

    private void check(String what) {
        for (int j = 0; j < out; j += 97) {
            double s = 0, mag = 0;
            for (int p = 0; p < in; p++) {
                double v = (double) x.getAtIndex(FLOAT, p)
                        * w.getAtIndex(FLOAT, wx ? (long) j * in + p : (long) p * out + j);
                s += v;
                mag += Math.abs(v);
            }
            BenchChecks.close(what + " y[" + j + "]", y.getAtIndex(FLOAT, j), s, 4.0 * in * Math.ulp(1f) * mag);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void gemv_nibble() {
        if (wx) {
            GemmF32.gemm(false, true, 1, out, in, 1f, x, 0, in, w, 0, in, 0f, y, 0, out);
        } else {
            GemmF32.gemm(false, false, 1, out, in, 1f, x, 0, in, w, 0, out, 0f, y, 0, out);
        }
    }

    @Benchmark
    public void gemv_openblas() {
        if (wx) {
            OpenBlas.sgemv(false, out, in, 1f, w, 0, in, x, 0, 1, 0f, y, 0, 1);
        } else {
            OpenBlas.sgemv(true, in, out, 1f, w, 0, out, x, 0, 1, 0f, y, 0, 1);
        }
    }

    /** True unless the implementation's native library is missing (used by {@code nibble bench}). */
    public static boolean available(String impl) {
        return !impl.equals("openblas") || OpenBlas.available();
    }

    /** 2 * out * in floating-point operations per call. */
    public static double flops(String op, Map<String, String> params) {
        String[] p = params.get("shape").split("x");
        return 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]);
    }
}
