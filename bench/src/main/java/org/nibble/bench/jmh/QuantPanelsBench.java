package org.nibble.bench.jmh;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.PackedFormat;
import org.nibble.kernels.quant.QuantPanels;
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
import static org.nibble.kernels.Simd.FLOAT;

/**
 * The packed-code GEMM {@code y = x · Wᵀ} for a few activation rows ({@link QuantPanels#gemm}: Q8/Q6/Q4 codes
 * decoded in registers), against the FP32 GEMM on the same weights in F32 (baseline; {@link GemmF32#gemm} packs W
 * on every call, as a caller without a pre-packed matrix gets it) and against decode-to-F32 + FP32 GEMM
 * ({@code decoded_q4}: {@link QuantPanels#decode} into GEMM panels, then the packed GEMM on them; the path
 * MiniLM takes for its small matrices). Shapes are {@code n x k}: MiniLM's FFN-in (1536 x 384) and 4096 x 4096.
 * Each trial checks sampled outputs against the product of the codes.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class QuantPanelsBench {
    public static final String BASELINE = "fp32";

    @Param({"1536x384", "4096x4096"})
    public String shape;

    @Param({"12"})
    public int rows;

    @Param({"1", "2"})
    public int threads;

    private Arena arena;
    private int n, k;
    private MemorySegment wf, x, y, groups, scale, decodedPanels;
    private final MemorySegment[] panels = new MemorySegment[3];
    private final MemorySegment[] codes = new MemorySegment[3];
    private float[] panel;

    @Setup(Level.Trial)
    public void setup() {
        String[] p = shape.split("x");
        n = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        Parallel.setThreads(threads);
        arena = Arena.ofShared();
        var rng = new SplittableRandom(42);
        wf = ShiftMMBench.GemmBenchData.random(arena, (long) n * k, rng);
        x = ShiftMMBench.GemmBenchData.random(arena, (long) rows * k, rng);
        y = arena.allocate(4L * rows * n, 64);
        groups = arena.allocate((long) (n / QuantPanels.BLOCK_ROWS) * k);
        for (long i = 0; i < groups.byteSize(); i++) {
            groups.set(BYTE, i, (byte) rng.nextInt(4));
        }
        scale = ShiftMMBench.GemmBenchData.random(arena, n, rng);
        PackedFormat[] fs = PackedFormat.values();
        for (int f = 0; f < 3; f++) {
            codes[f] = arena.allocate((long) n * k);
            int q = fs[f].qmax();
            for (long i = 0; i < codes[f].byteSize(); i++) {
                codes[f].set(BYTE, i, (byte) (rng.nextInt(2 * q + 1) - q));
            }
            panels[f] = arena.allocate(QuantPanels.bytes(fs[f], n, k), 64);
            QuantPanels.pack(fs[f], n, k, codes[f], 0, k, panels[f], 0);
            gemm(fs[f], f);
            check(fs[f] + " panels", f);
        }
        if (GemmF32.NR != QuantPanels.PANEL_ROWS) {
            throw new IllegalStateException("decoded_q4 needs 16-column GEMM panels, this machine's are "
                    + GemmF32.NR);
        }
        decodedPanels = arena.allocate(4L * k * n, 64);
        px = arena.allocate(4L * GemmF32.packedASize(rows, Math.min(k, GemmF32.KC)), 64);
        panel = new float[QuantPanels.PANEL_ROWS * k];
        decoded_q4();
        check("Q4 decoded", 2);
    }

    private void check(String what, int f) {
        for (int r = 0; r < n; r += n / 16) {
            double ref = 0, mag = 0;
            for (int kk = 0; kk < k; kk++) {
                double w = codes[f].get(BYTE, (long) r * k + kk)
                        * Math.scalb(1.0, -groups.get(BYTE, (long) (r / QuantPanels.BLOCK_ROWS) * k + kk));
                ref += w * x.getAtIndex(FLOAT, kk);
                mag += Math.abs(w * x.getAtIndex(FLOAT, kk));
            }
            ref *= scale.getAtIndex(FLOAT, r);
            mag *= Math.abs(scale.getAtIndex(FLOAT, r));
            BenchChecks.close(what + " row 0 col " + r, y.getAtIndex(FLOAT, r), ref,
                    1e-4 * mag / Math.max(1e-30, Math.abs(ref)));
        }
    }

    private void gemm(PackedFormat f, int fi) {
        QuantPanels.gemm(f, rows, n, k, panels[fi], 0, groups, 0, scale, 0, null, 0, x, 0, k, y, 0, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void panels_q8() {
        gemm(PackedFormat.Q8, 0);
    }

    @Benchmark
    public void panels_q6() {
        gemm(PackedFormat.Q6, 1);
    }

    @Benchmark
    public void panels_q4() {
        gemm(PackedFormat.Q4, 2);
    }

    /**
     * Q4 decoded panel by panel, each copied into GEMM packed-B blocks of at most {@link GemmF32#KC} inputs (block b:
     * panel p at element {@code k0 * n + p * 16 * depth}), then the packed FP32 GEMM block by block.
     */
    @Benchmark
    public void decoded_q4() {
        int blocks = (k + GemmF32.KC - 1) / GemmF32.KC, kc = (k + blocks - 1) / blocks, w = QuantPanels.PANEL_ROWS;
        for (int p = 0; p < n / w; p++) {
            QuantPanels.decode(PackedFormat.Q4, n, k, panels[2], 0, groups, 0, scale, 0, p, panel, 0);
            for (int b = 0; b < blocks; b++) {
                int k0 = b * kc, depth = Math.min(kc, k - k0);
                MemorySegment.copy(panel, k0 * w, decodedPanels, FLOAT, 4L * ((long) k0 * n + (long) p * w * depth),
                        depth * w);
            }
        }
        for (int b = 0; b < blocks; b++) {
            int k0 = b * kc, depth = Math.min(kc, k - k0);
            GemmF32.packA(false, x, 0, k, 0, k0, rows, depth, px, 0);
            GemmF32.multiplyPacked(rows, n, depth, 1f, px, 0, decodedPanels, (long) k0 * n, b == 0 ? 0f : 1f, y, 0, n);
        }
    }

    private MemorySegment px;

    /** y = x · Wᵀ in FP32 (W [n, k] row-major). */
    @Benchmark
    public void fp32() {
        GemmF32.gemm(false, true, rows, n, k, 1f, x, 0, k, wf, 0, k, 0f, y, 0, n);
    }

    /** 2 * rows * n * k operations per call. */
    public static double flops(String op, Map<String, String> params) {
        String[] p = params.get("shape").split("x");
        return 2.0 * Integer.parseInt(params.get("rows")) * Long.parseLong(p[0]) * Long.parseLong(p[1]);
    }
}
