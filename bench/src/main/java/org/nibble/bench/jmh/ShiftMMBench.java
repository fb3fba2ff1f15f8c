package org.nibble.bench.jmh;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ChannelAxis;
import org.nibble.kernels.quant.Rounding;
import org.nibble.kernels.quant.ShiftLinear;
import org.nibble.kernels.quant.ShiftMM;
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
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;

/**
 * ShiftMM, the integer GEMM of ShiftQuant training, against our FP32 GEMM ({@link GemmF32}, the baseline) and an
 * FP16 GEMM (F16 storage widened while packing, {@link F16Gemm}), in the three layouts of a Linear layer
 * ({@code FORWARD} Y = X W^T, {@code INPUT_GRAD} dX = dY W, {@code WEIGHT_GRAD} dW = dY^T X) at the shapes
 * {@code MxKxN}, on 1 and 2 threads.
 * <ul>
 *   <li>{@code mm_shift4/6/8}: ShiftMM on int8 containers of pre-shifted codes quantized at b = 4 (G = 5), 6 (G = 3),
 *       8 (G = 1). The kernel is the same for every width (the codes are int8 either way), so these rows differ by
 *       noise only: bit width buys accuracy per byte, not GEMM speed, in pure Java.</li>
 *   <li>{@code mm_fused4}: the whole Linear path, {@link ShiftLinear}: quantize both F32 operands (b = 4, G = 5),
 *       ShiftMM, scale.</li>
 *   <li>{@code mm_fp32}, {@code mm_fp16}: float baselines on the same operands.</li>
 * </ul>
 * Long: 54 parameter points x 6 rows; not in the default set. Run e.g.
 * {@code ./nibble bench ShiftMMBench --param shape=256x768x768 --param threads=1}.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class ShiftMMBench {
    /** Ratio column: FP32 GEMM time / row time. */
    public static final String BASELINE = "fp32";

    @Param({"256x768x768", "64x768x3072", "1024x1024x1024"})
    public String shape;

    @Param({"FORWARD", "INPUT_GRAD", "WEIGHT_GRAD"})
    public String layout;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private int m, k, n, lda, ldb;
    private boolean ta, tb;
    private ShiftMM.Layout lay;
    private MemorySegment af, bf, ah, bh, c;
    private final MemorySegment[] aq = new MemorySegment[3], bq = new MemorySegment[3];
    private final double[] alpha = new double[3];

    @Setup(Level.Trial)
    public void setup(org.openjdk.jmh.infra.BenchmarkParams params) {
        String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        lay = ShiftMM.Layout.valueOf(layout);
        ta = lay.transA();
        tb = lay.transB();
        lda = ta ? m : k;
        ldb = tb ? k : n;
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        af = GemmBenchData.random(arena, (long) m * k, rng);
        bf = GemmBenchData.random(arena, (long) k * n, rng);
        ah = GemmBenchData.toF16(arena, af, (long) m * k);
        bh = GemmBenchData.toF16(arena, bf, (long) k * n);
        c = arena.allocate(4L * m * n, 64);
        int[][] spec = {{4, 5}, {6, 3}, {8, 1}};
        for (int s = 0; s < 3; s++) {
            aq[s] = arena.allocate((long) m * k, 64);
            bq[s] = arena.allocate((long) k * n, 64);
            // groups along the contraction axis of each stored operand
            int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
            ChannelAxis axA = ta ? ChannelAxis.ROWS : ChannelAxis.COLUMNS;
            ChannelAxis axB = tb ? ChannelAxis.COLUMNS : ChannelAxis.ROWS;
            MemorySegment g = arena.allocate(Math.max(m, Math.max(n, k)));
            float sa = ShiftQuant.quantize("a", af, 0, aRows, aCols, aCols, axA, spec[s][0], spec[s][1],
                    Rounding.NEAREST_EVEN, 0, true, aq[s], 0, aCols, g, 0);
            float sb = ShiftQuant.quantize("b", bf, 0, bRows, bCols, bCols, axB, spec[s][0], spec[s][1],
                    Rounding.NEAREST_EVEN, 0, true, bq[s], 0, bCols, g, 0);
            alpha[s] = ShiftMM.epilogueScale(sa, spec[s][1], sb, spec[s][1]);
        }
        // check the benchmarked row once, on 48 sampled entries (exact for the integer rows)
        switch (method) {
            case "mm_shift4", "mm_shift6", "mm_shift8" -> {
                int s = method.equals("mm_shift4") ? 0 : method.equals("mm_shift6") ? 1 : 2;
                ShiftMM.gemm(lay, m, n, k, alpha[s], aq[s], 0, lda, bq[s], 0, ldb, c, 0, n);
                GemmBenchData.checkInt8(method, lay, m, n, k, aq[s], bq[s], alpha[s], c);
            }
            case "mm_fp32" -> {
                mm_fp32();
                GemmBenchData.checkFloat(method, lay, m, n, k, af, bf, c, 1e-4);
            }
            case "mm_fp16" -> {
                mm_fp16();
                GemmBenchData.checkFloat(method, lay, m, n, k, af, bf, c, 2e-3);
            }
            default -> {
                mm_fused4();
                checkFused();
            }
        }
    }

    /**
     * mm_fused4 exactly: quantize the operands as {@link ShiftLinear} does (papers.md 1.5 groupings, RN for X/W, SR
     * with seed 17 for dY, b = 4, G = 5, pre-shifted) and check sampled entries against the exact integer dot.
     */
    private void checkFused() {
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        ChannelAxis axA = ta ? ChannelAxis.ROWS : ChannelAxis.COLUMNS;
        ChannelAxis axB = tb ? ChannelAxis.COLUMNS : ChannelAxis.ROWS;
        Rounding ra = lay == ShiftMM.Layout.FORWARD ? Rounding.NEAREST_EVEN : Rounding.STOCHASTIC;
        long seed = lay == ShiftMM.Layout.FORWARD ? 0 : 17;
        MemorySegment qa = arena.allocate((long) m * k), qb = arena.allocate((long) k * n);
        MemorySegment g = arena.allocate(Math.max(m, Math.max(n, k)));
        float sa = ShiftQuant.quantize("a", af, 0, aRows, aCols, aCols, axA, 4, 5, ra, seed, true, qa, 0, aCols, g, 0);
        float sb = ShiftQuant.quantize("b", bf, 0, bRows, bCols, bCols, axB, 4, 5, Rounding.NEAREST_EVEN, seed, true,
                qb, 0, bCols, g, 0);
        GemmBenchData.checkInt8("mm_fused4", lay, m, n, k, qa, qb, ShiftMM.epilogueScale(sa, 5, sb, 5), c);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void mm_shift4() {
        ShiftMM.gemm(lay, m, n, k, alpha[0], aq[0], 0, lda, bq[0], 0, ldb, c, 0, n);
    }

    @Benchmark
    public void mm_shift6() {
        ShiftMM.gemm(lay, m, n, k, alpha[1], aq[1], 0, lda, bq[1], 0, ldb, c, 0, n);
    }

    @Benchmark
    public void mm_shift8() {
        ShiftMM.gemm(lay, m, n, k, alpha[2], aq[2], 0, lda, bq[2], 0, ldb, c, 0, n);
    }

    @Benchmark
    public void mm_fused4() {
        switch (lay) {
            case FORWARD -> ShiftLinear.forward(m, k, n, af, 0, bf, 0, 4, 5, c, 0);
            case INPUT_GRAD -> ShiftLinear.inputGrad(m, n, k, af, 0, bf, 0, 4, 5, 17, c, 0);
            case WEIGHT_GRAD -> ShiftLinear.weightGrad(k, n, m, af, 0, bf, 0, 4, 5, 17, c, 0);
        }
    }

    @Benchmark
    public void mm_fp32() {
        GemmF32.gemm(ta, tb, m, n, k, 1f, af, 0, lda, bf, 0, ldb, 0f, c, 0, n);
    }

    @Benchmark
    public void mm_fp16() {
        F16Gemm.gemm(ta, tb, m, n, k, ah, bh, c);
    }

    /** 2 M N K operations per call (integer MACs count as 2 ops). */
    public static double flops(String op, Map<String, String> params) {
        String[] p = params.get("shape").split("x");
        return 2.0 * Long.parseLong(p[0]) * Long.parseLong(p[1]) * Long.parseLong(p[2]);
    }

    /** Shared data and result checks of the GEMM benchmarks. */
    static final class GemmBenchData {
        private GemmBenchData() {
        }

        static MemorySegment random(Arena arena, long count, SplittableRandom rng) {
            MemorySegment s = arena.allocate(4 * count, 64);
            for (long i = 0; i < count; i++) {
                s.setAtIndex(FLOAT, i, (float) (rng.nextGaussian() * (i % 97 == 3 ? 8 : 1)));
            }
            return s;
        }

        static MemorySegment toF16(Arena arena, MemorySegment f, long count) {
            MemorySegment s = arena.allocate(2 * count, 64);
            for (long i = 0; i < count; i++) {
                s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Float.floatToFloat16(f.getAtIndex(FLOAT, i)));
            }
            return s;
        }

        private static double aAt(ShiftMM.Layout lay, MemorySegment a, int m, int k, int i, int p, boolean bytes) {
            long idx = lay.transA() ? (long) p * m + i : (long) i * k + p;
            return bytes ? a.get(BYTE, idx) : a.getAtIndex(FLOAT, idx);
        }

        private static double bAt(ShiftMM.Layout lay, MemorySegment b, int n, int k, int p, int j, boolean bytes) {
            long idx = lay.transB() ? (long) j * k + p : (long) p * n + j;
            return bytes ? b.get(BYTE, idx) : b.getAtIndex(FLOAT, idx);
        }

        /** Exact: C = (float) (sum of int products * alpha) at 48 sampled entries. */
        static void checkInt8(String what, ShiftMM.Layout lay, int m, int n, int k, MemorySegment a, MemorySegment b,
                              double alpha, MemorySegment c) {
            var rng = new SplittableRandom(7);
            for (int t = 0; t < 48; t++) {
                int i = rng.nextInt(m), j = rng.nextInt(n);
                long acc = 0;
                for (int p = 0; p < k; p++) {
                    acc += (long) aAt(lay, a, m, k, i, p, true) * (long) bAt(lay, b, n, k, p, j, true);
                }
                BenchChecks.close(what + " C[" + i + "][" + j + "]", c.getAtIndex(FLOAT, (long) i * n + j),
                        (float) (acc * alpha), 0);
            }
        }

        /** Float rows: relative Frobenius error over 48 sampled entries below {@code tol}. */
        static void checkFloat(String what, ShiftMM.Layout lay, int m, int n, int k, MemorySegment a,
                               MemorySegment b, MemorySegment c, double tol) {
            var rng = new SplittableRandom(7);
            double err = 0, norm = 0;
            for (int t = 0; t < 48; t++) {
                int i = rng.nextInt(m), j = rng.nextInt(n);
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += aAt(lay, a, m, k, i, p, false) * bAt(lay, b, n, k, p, j, false);
                }
                double e = c.getAtIndex(FLOAT, (long) i * n + j) - s;
                err += e * e;
                norm += s * s;
            }
            BenchChecks.close(what + " relative error", Math.sqrt(err / norm), 0, tol);
        }
    }
}
