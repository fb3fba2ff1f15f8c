package org.nibble.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A memory scope: owns the off-heap memory of the tensors allocated in it and frees all of it at once on
 * {@link #close()}.
 *
 * <p>Parameters live in a long-lived scope (closed when the model is dropped); the activations and gradients of one
 * training step live in a per-step scope that a try-with-resources closes at the end of the step, so off-heap memory
 * does not grow with steps:
 * <pre>{@code
 * try (Scope step = Scope.open("step")) {
 *     Tensor x = step.zeros(DType.F32, batch, ctx, dim);
 * }
 * }</pre>
 * Scopes are backed by shared arenas, so the worker threads of {@code Parallel} may use their tensors. Using a tensor
 * after its scope closed throws {@link IllegalStateException}; it never crashes the JVM. Allocations are 64-byte
 * aligned (whole cache lines, full-width vector loads never split a line at element 0) and zero-filled.
 */
public final class Scope implements AutoCloseable {
    /** Alignment of every allocation, in bytes. */
    public static final long ALIGNMENT = 64;

    private static final AtomicLong LIVE = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();

    private final String name;
    private final Arena arena;
    private final AtomicLong bytes = new AtomicLong();
    private volatile boolean closed;

    private Scope(String name) {
        this.name = name;
        this.arena = Arena.ofShared();
    }

    /** Opens a new scope; close it (try-with-resources) to free everything allocated in it. */
    public static Scope open(String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("name: expected a non-blank scope name, got '" + name + "'");
        }
        return new Scope(name);
    }

    /** Name given at {@link #open(String)}, used in error messages. */
    public String name() {
        return name;
    }

    /** True until {@link #close()}. */
    public boolean isAlive() {
        return !closed;
    }

    /** Bytes allocated in this scope. */
    public long allocatedBytes() {
        return bytes.get();
    }

    /** Off-heap bytes held by all open scopes of this JVM. */
    public static long liveBytes() {
        return LIVE.get();
    }

    /** High-water mark of {@link #liveBytes()} since start or the last {@link #resetPeak()}. */
    public static long peakBytes() {
        return PEAK.get();
    }

    /** Resets {@link #peakBytes()} to the current {@link #liveBytes()}. */
    public static void resetPeak() {
        PEAK.set(LIVE.get());
    }

    void checkAlive() {
        if (closed) {
            throw new IllegalStateException("scope '" + name + "' is closed: its tensors can no longer be used");
        }
    }

    /** Allocates {@code byteSize} zeroed bytes, 64-byte aligned. */
    public MemorySegment allocate(long byteSize) {
        checkAlive();
        if (byteSize < 0) {
            throw new IllegalArgumentException("byteSize: expected >= 0, got " + byteSize);
        }
        MemorySegment seg = arena.allocate(Math.max(byteSize, 1), ALIGNMENT).asSlice(0, byteSize);
        bytes.addAndGet(byteSize);
        long live = LIVE.addAndGet(byteSize);
        PEAK.accumulateAndGet(live, Math::max);
        return seg;
    }

    /** A new contiguous zero-filled tensor. */
    public Tensor zeros(DType dtype, int... shape) {
        if (dtype == null) {
            throw new NullPointerException("dtype is null");
        }
        long n = Tensor.checkShape(shape);
        return new Tensor(this, allocate(n * dtype.byteSize()), 0, shape.clone(), Tensor.contiguousStrides(shape),
                dtype);
    }

    /** A new contiguous tensor filled with {@code value}. */
    public Tensor full(DType dtype, float value, int... shape) {
        return zeros(dtype, shape).fill(value);
    }

    /** A new F32 tensor holding {@code data} in row-major order; the element count must match the shape. */
    public Tensor fromArray(float[] data, int... shape) {
        long n = Tensor.checkShape(shape);
        if (data.length != n) {
            throw new IllegalArgumentException("data: expected " + n + " values for shape " + Arrays.toString(shape)
                    + ", got " + data.length);
        }
        return zeros(DType.F32, shape).copyFrom(data);
    }

    /** A new I32 tensor holding {@code data} in row-major order. */
    public Tensor fromArray(int[] data, int... shape) {
        long n = Tensor.checkShape(shape);
        if (data.length != n) {
            throw new IllegalArgumentException("data: expected " + n + " values for shape " + Arrays.toString(shape)
                    + ", got " + data.length);
        }
        return zeros(DType.I32, shape).copyFrom(data);
    }

    /** A new 1-D tensor {@code [0, 1, ..., n-1]} of {@code dtype}. */
    public Tensor arange(DType dtype, int n) {
        Tensor t = zeros(dtype, n);
        for (int i = 0; i < n; i++) {
            t.setFloat(i, i);
        }
        return t;
    }

    /** Frees every tensor of this scope. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            arena.close();
        } catch (IllegalStateException e) {
            closed = false; // still in use by another thread: nothing was freed
            throw new IllegalStateException("scope '" + name + "' cannot close while another thread uses it", e);
        }
        LIVE.addAndGet(-bytes.get());
    }

    @Override
    public String toString() {
        return "Scope[" + name + (closed ? ", closed" : "") + ", " + bytes.get() + " bytes]";
    }
}
