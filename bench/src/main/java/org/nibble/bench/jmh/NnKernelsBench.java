package org.nibble.bench.jmh;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.engine.DType;
import org.nibble.engine.Rng;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.Activations;
import org.nibble.kernels.ActivationsScalar;
import org.nibble.kernels.AdamW;
import org.nibble.kernels.AdamWScalar;
import org.nibble.kernels.CrossEntropy;
import org.nibble.kernels.CrossEntropyScalar;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;
import org.nibble.kernels.Softmax;
import org.nibble.kernels.SoftmaxScalar;
import org.nibble.kernels.Transpose;
import org.nibble.kernels.TransposeScalar;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * The neural-network kernels of issue 3 (softmax, GELU erf and tanh, cross-entropy with its gradient, AdamW,
 * transpose), vector kernel against its scalar twin on a {@code rows x cols} activation matrix (default 4096 x 768,
 * BERT-base width). {@code threads} sets {@link Parallel} for the vector kernels (the twins are single-threaded), so
 * the default of 1 isolates the SIMD gain. The setup checks each vector result against its twin once.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class NnKernelsBench {
    @Param({"4096"})
    public int rows;
    @Param({"768"})
    public int cols;
    @Param({"1"})
    public int threads;

    private static final VectorSpecies<Float> F = Simd.F32;

    private Scope scope;
    private MemorySegment x, y, dy, targets, p, g, m, v;
    private int savedThreads;

    @Setup(Level.Trial)
    public void setup() {
        savedThreads = Parallel.threads();
        Parallel.setThreads(threads);
        scope = Scope.open("bench");
        var rng = Rng.of(7);
        int n = rows * cols;
        x = scope.zeros(DType.F32, n).fillUniform(rng, -4, 4).segment();
        y = scope.zeros(DType.F32, n).segment();
        dy = scope.zeros(DType.F32, n).segment();
        p = scope.zeros(DType.F32, n).fillUniform(rng, -1, 1).segment();
        g = scope.zeros(DType.F32, n).fillUniform(rng, -0.1f, 0.1f).segment();
        m = scope.zeros(DType.F32, n).segment();
        v = scope.zeros(DType.F32, n).segment();
        Tensor t = scope.zeros(DType.I32, rows);
        targets = t.segment();
        for (int r = 0; r < rows; r++) {
            targets.setAtIndex(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, r, (r * 31) % cols);
        }
        check();
        warm();
    }

    /**
     * Runs every kernel many times on a small 16-row slice so C2 has compiled the vector loops before the first
     * measured call: one interpreted call of a vector kernel on the full matrix takes seconds, longer than the quick
     * mode's warm-up.
     */
    private void warm() {
        int r = Math.min(rows, 16), n = r * cols;
        for (int i = 0; i < 300; i++) {
            Softmax.forward(r, cols, 0.125f, x, 0, cols, y, 0, cols);
            SoftmaxScalar.forward(r, cols, 0.125f, x, 0, cols, y, 0, cols);
            Activations.geluErf(n, x, 0, y, 0);
            ActivationsScalar.geluErf(n, x, 0, y, 0);
            Activations.exp(n, x, 0, y, 0);
            ActivationsScalar.exp(n, x, 0, y, 0);
            jdkExp(n);
            Activations.geluTanh(n, x, 0, y, 0);
            ActivationsScalar.geluTanh(n, x, 0, y, 0);
            CrossEntropy.lossAndGrad(r, cols, x, 0, cols, targets, 0, -100, dy, 0, cols);
            CrossEntropyScalar.lossAndGrad(r, cols, x, 0, cols, targets, 0, -100, dy, 0, cols);
            AdamW.step(n, p, 0, g, 0, m, 0, v, 0, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 10);
            AdamWScalar.step(n, p, 0, g, 0, m, 0, v, 0, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 10);
            Transpose.transpose(r, cols, x, 0, cols, y, 0, r);
            TransposeScalar.transpose(r, cols, x, 0, cols, y, 0, r);
        }
    }

    private void check() {
        int n = Math.min(rows, 8) * cols;
        MemorySegment a = scope.zeros(DType.F32, n).segment(), b = scope.zeros(DType.F32, n).segment();
        Softmax.forward(n / cols, cols, 0.125f, x, 0, cols, a, 0, cols);
        SoftmaxScalar.forward(n / cols, cols, 0.125f, x, 0, cols, b, 0, cols);
        closeAll("softmax", a, b, n, 1e-5);
        Activations.geluErf(n, x, 0, a, 0);
        ActivationsScalar.geluErf(n, x, 0, b, 0);
        closeAll("geluErf", a, b, n, 1e-6);
        Activations.geluTanh(n, x, 0, a, 0);
        ActivationsScalar.geluTanh(n, x, 0, b, 0);
        closeAll("geluTanh", a, b, n, 1e-6);
        float lv = CrossEntropy.lossAndGrad(n / cols, cols, x, 0, cols, targets, 0, -100, a, 0, cols);
        float ls = CrossEntropyScalar.lossAndGrad(n / cols, cols, x, 0, cols, targets, 0, -100, b, 0, cols);
        BenchChecks.close("crossEntropy loss", lv, ls, 1e-5);
        closeAll("crossEntropy grad", a, b, n, 1e-5);
    }

    private static void closeAll(String what, MemorySegment a, MemorySegment b, int n, double tol) {
        for (int i = 0; i < n; i++) {
            BenchChecks.close(what + "[" + i + "]", a.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED,
                    i), b.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i), tol);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
        Parallel.setThreads(savedThreads);
    }

    @Benchmark
    public MemorySegment softmax_vector() {
        Softmax.forward(rows, cols, 0.125f, x, 0, cols, y, 0, cols);
        return y;
    }

    @Benchmark
    public MemorySegment softmax_scalar() {
        SoftmaxScalar.forward(rows, cols, 0.125f, x, 0, cols, y, 0, cols);
        return y;
    }

    @Benchmark
    public MemorySegment exp_vector() {
        Activations.exp(rows * cols, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment exp_scalar() {
        ActivationsScalar.exp(rows * cols, x, 0, y, 0);
        return y;
    }

    /** The JDK's own {@code lanewise(VectorOperators.EXP)}: a per-lane fallback where no SVML stub exists (AVX2). */
    @Benchmark
    public MemorySegment exp_jdkLanewise() {
        jdkExp(rows * cols);
        return y;
    }

    private void jdkExp(int n) {
        for (int i = 0, l = F.length(); i <= n - l; i += l) {
            FloatVector.fromMemorySegment(F, x, 4L * i, ByteOrder.LITTLE_ENDIAN).lanewise(VectorOperators.EXP)
                    .intoMemorySegment(y, 4L * i, ByteOrder.LITTLE_ENDIAN);
        }
    }

    @Benchmark
    public MemorySegment geluErf_vector() {
        Activations.geluErf(rows * cols, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment geluErf_scalar() {
        ActivationsScalar.geluErf(rows * cols, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment geluTanh_vector() {
        Activations.geluTanh(rows * cols, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public MemorySegment geluTanh_scalar() {
        ActivationsScalar.geluTanh(rows * cols, x, 0, y, 0);
        return y;
    }

    @Benchmark
    public float crossEntropy_vector() {
        return CrossEntropy.lossAndGrad(rows, cols, x, 0, cols, targets, 0, -100, dy, 0, cols);
    }

    @Benchmark
    public float crossEntropy_scalar() {
        return CrossEntropyScalar.lossAndGrad(rows, cols, x, 0, cols, targets, 0, -100, dy, 0, cols);
    }

    /** The moments and parameters drift over iterations; the step count stays at 10 (bias corrections constant). */
    @Benchmark
    public MemorySegment adamw_vector() {
        AdamW.step(rows * cols, p, 0, g, 0, m, 0, v, 0, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 10);
        return p;
    }

    @Benchmark
    public MemorySegment adamw_scalar() {
        AdamWScalar.step(rows * cols, p, 0, g, 0, m, 0, v, 0, 1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f, 10);
        return p;
    }

    @Benchmark
    public MemorySegment transpose_vector() {
        Transpose.transpose(rows, cols, x, 0, cols, y, 0, rows);
        return y;
    }

    @Benchmark
    public MemorySegment transpose_scalar() {
        TransposeScalar.transpose(rows, cols, x, 0, cols, y, 0, rows);
        return y;
    }
}
