package org.nibble.bench.jmh;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ChannelAxis;
import org.nibble.kernels.quant.PackedFormat;
import org.nibble.kernels.quant.PackedGemv;
import org.nibble.kernels.quant.Rounding;
import org.nibble.kernels.quant.ShiftQuant;
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
 * Packed-weight GEMV (the decode path) {@code y = W x}, W {@code rows x cols} in Q4/Q6/Q8 ({@link PackedGemv}),
 * against the FP32 GEMV of {@link GemmF32} on the same weights in F32 (baseline), at 4096x4096 and 4096x14336
 * (rows x cols; ggml's {@code m=4096, k=14336}), 1 and 2 threads. Each trial checks every row against the
 * dequantized-weights product on 32 rows. Note limits.md 2: a 64 MiB F32 matrix is partly cache-resident.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class PackedGemvBench {
    public static final String BASELINE = "fp32";

    @Param({"4096x4096", "4096x14336"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private int rows, cols;
    private MemorySegment wf, x, y, groups;
    private final MemorySegment[] packed = new MemorySegment[3];
    private final float[] s0 = new float[3];

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        rows = Integer.parseInt(p[0]);
        cols = Integer.parseInt(p[1]);
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        wf = ShiftMMBench.GemmBenchData.random(arena, (long) rows * cols, rng);
        x = ShiftMMBench.GemmBenchData.random(arena, cols, rng);
        y = arena.allocate(4L * rows, 64);
        MemorySegment codes = arena.allocate((long) rows * cols, 64);
        groups = arena.allocate(cols);
        MemorySegment g = arena.allocate(cols);
        PackedFormat[] fs = PackedFormat.values();
        for (int f = 0; f < 3; f++) {
            int groupsN = fs[f] == PackedFormat.Q8 ? 4 : fs[f] == PackedFormat.Q6 ? 4 : 5;
            s0[f] = ShiftQuant.quantize("w", wf, 0, rows, cols, cols, ChannelAxis.COLUMNS, fs[f].bits(), groupsN,
                    Rounding.NEAREST_EVEN, 0, false, codes, 0, cols, g, 0);
            long rb = fs[f].rowBytes(cols);
            packed[f] = arena.allocate(rows * rb, 64);
            for (int r = 0; r < rows; r++) {
                fs[f].packRow(codes, (long) r * cols, cols, packed[f], r * rb);
            }
            MemorySegment.copy(g, 0, gidsFor(f), 0, cols);
            gemv(fs[f], f);
            check(fs[f], f, codes);
        }
        gemv_fp32();
    }

    private final MemorySegment[] gids = new MemorySegment[3];

    private MemorySegment gidsFor(int f) {
        if (gids[f] == null) {
            gids[f] = arena.allocate(cols);
        }
        return gids[f];
    }

    private void check(PackedFormat f, int fi, MemorySegment codes) {
        for (int r = 0; r < rows; r += rows / 32) {
            double ref = 0, mag = 0;
            for (int k = 0; k < cols; k++) {
                double w = codes.get(java.lang.foreign.ValueLayout.JAVA_BYTE, (long) r * cols + k) * (double) s0[fi]
                        * Math.scalb(1.0, -gids[fi].get(java.lang.foreign.ValueLayout.JAVA_BYTE, k));
                ref += w * x.getAtIndex(FLOAT, k);
                mag += Math.abs(w * x.getAtIndex(FLOAT, k));
            }
            BenchChecks.close("gemv " + f + " row " + r, y.getAtIndex(FLOAT, r), ref, 1e-4 * mag / Math.max(1,
                    Math.abs(ref)));
        }
    }

    private void gemv(PackedFormat f, int fi) {
        PackedGemv.gemv(f, rows, cols, packed[fi], 0, gids[fi], 0, s0[fi], x, 0, y, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void gemv_q8() {
        gemv(PackedFormat.Q8, 0);
    }

    @Benchmark
    public void gemv_q6() {
        gemv(PackedFormat.Q6, 1);
    }

    @Benchmark
    public void gemv_q4() {
        gemv(PackedFormat.Q4, 2);
    }

    /** y (1 x rows) = x (1 x cols) W^T: GemmF32's m == 1 path streams W (rows x cols) once. */
    @Benchmark
    public void gemv_fp32() {
        GemmF32.gemm(false, true, 1, rows, cols, 1f, x, 0, cols, wf, 0, cols, 0f, y, 0, rows);
    }

    /** 2 * rows * cols operations per call. */
    public static double flops(String op, Map<String, String> params) {
        String[] p = params.get("shape").split("x");
        return 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]);
    }
}
