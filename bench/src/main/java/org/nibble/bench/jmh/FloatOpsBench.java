package org.nibble.bench.jmh;

import org.nibble.engine.DType;
import org.nibble.engine.Rng;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.FloatOps;
import org.nibble.kernels.FloatOpsScalar;
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
import java.util.concurrent.TimeUnit;

/**
 * Dot and axpy, vector kernel against its scalar twin, at 1K (L1), 64K (L2) and 16M (DRAM) elements. Each method is
 * named {@code <op>_<impl>} so {@code nibble bench} can pair it with its baseline. The setup checks the vector result
 * against the twin once.
 */
@State(org.openjdk.jmh.annotations.Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FloatOpsBench {
    @Param({"1024", "65536", "16777216"})
    public int size;

    private Scope scope;
    private MemorySegment x, y;

    @Setup(Level.Trial)
    public void setup() {
        scope = Scope.open("bench");
        var rng = Rng.of(42);
        Tensor tx = scope.zeros(DType.F32, size).fillUniform(rng, -1, 1);
        Tensor ty = scope.zeros(DType.F32, size).fillUniform(rng, -1, 1);
        x = tx.segment();
        y = ty.segment();
        float v = FloatOps.dot(size, x, 0, y, 0), s = FloatOpsScalar.dot(size, x, 0, y, 0);
        BenchChecks.close("dot", v, s, 1e-5 * size);
        Tensor y1 = ty.copy(scope), y2 = ty.copy(scope);
        FloatOps.axpy(size, 0.5f, x, 0, y1.segment(), 0);
        FloatOpsScalar.axpy(size, 0.5f, x, 0, y2.segment(), 0);
        BenchChecks.equal("axpy", y1.toFloatArray(), y2.toFloatArray());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
    }

    @Benchmark
    public float dot_vector() {
        return FloatOps.dot(size, x, 0, y, 0);
    }

    @Benchmark
    public float dot_scalar() {
        return FloatOpsScalar.dot(size, x, 0, y, 0);
    }

    /** y += 1e-9 * x: keeps y bounded over billions of calls. */
    @Benchmark
    public void axpy_vector() {
        FloatOps.axpy(size, 1e-9f, x, 0, y, 0);
    }

    @Benchmark
    public void axpy_scalar() {
        FloatOpsScalar.axpy(size, 1e-9f, x, 0, y, 0);
    }

    /** Floating-point operations per call, for the GFLOP/s column: dot and axpy both do one FMA per element. */
    public static double flops(String op, java.util.Map<String, String> params) {
        return 2.0 * Long.parseLong(params.get("size"));
    }
}
