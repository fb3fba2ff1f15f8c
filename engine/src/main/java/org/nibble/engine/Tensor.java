package org.nibble.engine;

import org.nibble.kernels.FloatOps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * An n-dimensional view over off-heap memory: a {@link MemorySegment}, an element offset, a shape, element strides
 * and a {@link DType}. Views ({@link #slice}, {@link #narrow}, {@link #transpose}, {@link #reshape}) share memory;
 * {@link #contiguous()} copies only when the view is not already row-major contiguous.
 *
 * <p>A tensor belongs to the {@link Scope} that allocated it; every method fails with {@link IllegalStateException}
 * once that scope is closed. Shapes are row-major; the last dimension is the fastest.
 */
public final class Tensor {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfByte B = ValueLayout.JAVA_BYTE;

    private final Scope scope;
    private final MemorySegment segment;
    private final long offset;
    private final int[] shape;
    private final long[] strides;
    private final DType dtype;

    Tensor(Scope scope, MemorySegment segment, long offset, int[] shape, long[] strides, DType dtype) {
        this.scope = scope;
        this.segment = segment;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
        this.dtype = dtype;
    }

    // ------------------------------------------------------------------ metadata

    /** The scope that owns this tensor's memory. */
    public Scope scope() {
        return scope;
    }

    /** The backing segment (shared by all views of it). Element {@code e} is at byte {@code e * dtype().byteSize()}. */
    public MemorySegment segment() {
        scope.checkAlive();
        return segment;
    }

    /** Offset of element {@code [0, ..., 0]} in the segment, in elements. */
    public long offset() {
        return offset;
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public int dim(int d) {
        return shape[axis("d", d)];
    }

    /** Stride of dimension {@code d} in elements; negative {@code d} counts from the end. */
    public long stride(int d) {
        return strides[axis("d", d)];
    }

    public DType dtype() {
        return dtype;
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (int s : shape) {
            n *= s;
        }
        return n;
    }

    /** True when the elements are laid out row-major without gaps. */
    public boolean isContiguous() {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && strides[d] != expected) {
                return false;
            }
            expected *= shape[d];
        }
        return true;
    }

    // ------------------------------------------------------------------ element access

    /** Element at {@code index} (one coordinate per dimension) converted to float. */
    public float getFloat(int... index) {
        scope.checkAlive();
        return read(elementOffset(index));
    }

    /** Sets the element at {@code index}; integer dtypes require an integral value in range. */
    public Tensor setFloat(float value, int... index) {
        scope.checkAlive();
        write(elementOffset(index), value);
        return this;
    }

    private long elementOffset(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index: expected " + shape.length + " coordinates for shape "
                    + Arrays.toString(shape) + ", got " + index.length);
        }
        long e = offset;
        for (int d = 0; d < index.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index[" + d + "]: expected 0 <= i < " + shape[d] + ", got "
                        + index[d]);
            }
            e += index[d] * strides[d];
        }
        return e;
    }

    private float read(long e) {
        return switch (dtype) {
            case F32 -> segment.getAtIndex(F, e);
            case F16 -> Float.float16ToFloat(segment.getAtIndex(S, e));
            case BF16 -> DType.bf16ToFloat(segment.getAtIndex(S, e));
            case I8 -> segment.getAtIndex(B, e);
            case I32 -> segment.getAtIndex(I, e);
        };
    }

    private void write(long e, float v) {
        switch (dtype) {
            case F32 -> segment.setAtIndex(F, e, v);
            case F16 -> segment.setAtIndex(S, e, Float.floatToFloat16(v));
            case BF16 -> segment.setAtIndex(S, e, DType.floatToBf16(v));
            case I8 -> segment.setAtIndex(B, e, (byte) integral(v, Byte.MIN_VALUE, Byte.MAX_VALUE));
            case I32 -> segment.setAtIndex(I, e, integral(v, Integer.MIN_VALUE, Integer.MAX_VALUE));
        }
    }

    private int integral(float v, long lo, long hi) {
        if (v != Math.rint(v) || v < lo || v > hi) {
            throw new IllegalArgumentException("value: expected an integer in [" + lo + ", " + hi + "] for dtype "
                    + dtype + ", got " + v);
        }
        return (int) v;
    }

    // ------------------------------------------------------------------ views

    /** The view at {@code index} along dimension {@code d}, which is removed: {@code x.slice(0, i)} is row i. */
    public Tensor slice(int d, int index) {
        scope.checkAlive();
        int a = axis("d", d);
        if (index < 0 || index >= shape[a]) {
            throw new IndexOutOfBoundsException("index: expected 0 <= index < " + shape[a] + " along dimension " + a
                    + ", got " + index);
        }
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != a) {
                s[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return new Tensor(scope, segment, offset + index * strides[a], s, st, dtype);
    }

    /** The view of {@code length} indices starting at {@code start} along dimension {@code d}. */
    public Tensor narrow(int d, int start, int length) {
        scope.checkAlive();
        int a = axis("d", d);
        if (start < 0 || length < 0 || start > shape[a] - length) {
            throw new IndexOutOfBoundsException("start/length: expected 0 <= start <= start + length <= " + shape[a]
                    + " along dimension " + a + ", got start=" + start + ", length=" + length);
        }
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(scope, segment, offset + start * strides[a], s, strides.clone(), dtype);
    }

    /** The view with dimensions {@code d0} and {@code d1} swapped (strides swapped; no copy). */
    public Tensor transpose(int d0, int d1) {
        scope.checkAlive();
        int a = axis("d0", d0), b = axis("d1", d1);
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(scope, segment, offset, s, st, dtype);
    }

    /**
     * The same elements under a new shape. One dimension may be -1 (inferred). Requires a contiguous tensor: call
     * {@link #contiguous()} first on a transposed or narrowed view.
     */
    public Tensor reshape(int... newShape) {
        scope.checkAlive();
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1 && infer < 0) {
                infer = i;
            } else if (s[i] < 0) {
                throw new IllegalArgumentException("shape[" + i + "]: expected >= 0 (or one -1), got " + s[i]);
            } else {
                known *= s[i];
            }
        }
        long n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException("shape: cannot infer -1 in " + Arrays.toString(newShape) + " for "
                        + n + " elements");
            }
            s[infer] = (int) (n / known);
            known *= s[infer];
        }
        if (known != n) {
            throw new IllegalArgumentException("shape: expected " + n + " elements (shape " + Arrays.toString(shape)
                    + "), got " + Arrays.toString(newShape) + " = " + known + " elements");
        }
        if (!isContiguous()) {
            throw new IllegalStateException("reshape: expected a contiguous tensor, got strides "
                    + Arrays.toString(strides) + " for shape " + Arrays.toString(shape) + "; call contiguous() first");
        }
        return new Tensor(scope, segment, offset, s, contiguousStrides(s), dtype);
    }

    /** This tensor if it is contiguous, else a contiguous copy in the same scope. */
    public Tensor contiguous() {
        scope.checkAlive();
        return isContiguous() ? this : copy(scope);
    }

    /** A contiguous copy in {@code target}. */
    public Tensor copy(Scope target) {
        scope.checkAlive();
        Tensor out = target.zeros(dtype, shape);
        if (isContiguous()) {
            long bytes = numel() * dtype.byteSize();
            MemorySegment.copy(segment, offset * dtype.byteSize(), out.segment, 0, bytes);
            return out;
        }
        int bs = dtype.byteSize();
        long[] e = {0};
        forEachOffset((src) -> {
            MemorySegment.copy(segment, src * bs, out.segment, e[0] * bs, bs);
            e[0]++;
        });
        return out;
    }

    /** A contiguous copy converted to {@code target} dtype (round-to-nearest-even for F16/BF16), in {@code into}. */
    public Tensor to(DType target, Scope into) {
        scope.checkAlive();
        Tensor out = into.zeros(target, shape);
        long[] e = {0};
        forEachOffset(src -> out.write(e[0]++, read(src)));
        return out;
    }

    // ------------------------------------------------------------------ bulk data

    /** Copies {@code data} in row-major order into this tensor (any dtype; values converted). */
    public Tensor copyFrom(float[] data) {
        scope.checkAlive();
        checkCount("data", data.length);
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, 0, segment, F, offset * 4, data.length);
            return this;
        }
        int[] i = {0};
        forEachOffset(e -> write(e, data[i[0]++]));
        return this;
    }

    /** Copies {@code data} in row-major order into this tensor (any dtype; values converted). */
    public Tensor copyFrom(int[] data) {
        scope.checkAlive();
        checkCount("data", data.length);
        if (dtype == DType.I32 && isContiguous()) {
            MemorySegment.copy(data, 0, segment, I, offset * 4, data.length);
            return this;
        }
        int[] i = {0};
        forEachOffset(e -> write(e, data[i[0]++]));
        return this;
    }

    /** The elements in row-major order, as floats. */
    public float[] toFloatArray() {
        scope.checkAlive();
        float[] out = new float[checkedNumel()];
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(segment, F, offset * 4, out, 0, out.length);
            return out;
        }
        int[] i = {0};
        forEachOffset(e -> out[i[0]++] = read(e));
        return out;
    }

    /** The elements in row-major order, as ints (floating types must hold integral values). */
    public int[] toIntArray() {
        scope.checkAlive();
        int[] out = new int[checkedNumel()];
        int[] i = {0};
        forEachOffset(e -> out[i[0]++] = dtype == DType.I32 ? segment.getAtIndex(I, e)
                : integral(read(e), Integer.MIN_VALUE, Integer.MAX_VALUE));
        return out;
    }

    /** Sets every element to {@code value}. */
    public Tensor fill(float value) {
        scope.checkAlive();
        if (dtype == DType.F32 && isContiguous() && numel() <= Integer.MAX_VALUE) {
            FloatOps.fill((int) numel(), value, segment, offset);
            return this;
        }
        forEachOffset(e -> write(e, value));
        return this;
    }

    /** Fills with samples of N(mean, std^2) drawn in row-major order from {@code rng}. */
    public Tensor fillNormal(RandomGenerator rng, double mean, double std) {
        scope.checkAlive();
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std: expected a finite value >= 0, got " + std);
        }
        forEachOffset(e -> write(e, (float) rng.nextGaussian(mean, std)));
        return this;
    }

    /** Fills with samples of U[lo, hi) drawn in row-major order from {@code rng}. */
    public Tensor fillUniform(RandomGenerator rng, double lo, double hi) {
        scope.checkAlive();
        if (!(lo < hi) || Double.isInfinite(hi - lo)) {
            throw new IllegalArgumentException("lo/hi: expected finite lo < hi, got lo=" + lo + ", hi=" + hi);
        }
        forEachOffset(e -> write(e, (float) (lo + (hi - lo) * rng.nextDouble())));
        return this;
    }

    /**
     * True when both tensors have the same shape and every pair satisfies {@code |a - b| <= atol + rtol * |b|}
     * (numpy's {@code allclose}: NaN is never close; equal infinities are).
     */
    public boolean allClose(Tensor other, double rtol, double atol) {
        scope.checkAlive();
        if (other == null) {
            throw new NullPointerException("other is null");
        }
        if (!Arrays.equals(shape, other.shape)) {
            throw new IllegalArgumentException("other: expected shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(other.shape));
        }
        float[] a = toFloatArray(), b = other.toFloatArray();
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) {
                continue;
            }
            if (!(Math.abs((double) a[i] - b[i]) <= atol + rtol * Math.abs((double) b[i]))) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ printing

    /** Prints like numpy: values (truncated with {@code ...} beyond 1000 elements), shape and dtype. */
    @Override
    public String toString() {
        if (!scope.isAlive()) {
            return "tensor(<scope '" + scope.name() + "' closed>, shape=" + Arrays.toString(shape) + ", dtype="
                    + dtype + ")";
        }
        StringBuilder sb = new StringBuilder("tensor(");
        boolean summarize = numel() > 1000;
        appendDim(sb, 0, offset, summarize, "tensor(".length());
        return sb.append(", shape=").append(Arrays.toString(shape)).append(", dtype=").append(dtype).append(')')
                .toString();
    }

    private void appendDim(StringBuilder sb, int d, long base, boolean summarize, int indent) {
        if (d == shape.length) {
            sb.append(format(read(base)));
            return;
        }
        sb.append('[');
        int n = shape[d];
        for (int i = 0; i < n; i++) {
            if (summarize && n > 6 && i == 3) {
                sb.append(d == shape.length - 1 ? "..., " : "...,\n" + " ".repeat(indent + d + 1));
                i = n - 3;
            }
            appendDim(sb, d + 1, base + i * strides[d], summarize, indent);
            if (i < n - 1) {
                sb.append(d == shape.length - 1 ? ", " : ",\n" + " ".repeat(indent + d + 1));
            }
        }
        sb.append(']');
    }

    private String format(float v) {
        if (!dtype.isFloating()) {
            return Integer.toString((int) v);
        }
        if (Float.isNaN(v) || Float.isInfinite(v)) {
            return Float.isNaN(v) ? "nan" : (v > 0 ? "inf" : "-inf");
        }
        float a = Math.abs(v);
        return (a != 0 && (a >= 1e5f || a < 1e-4f)) ? String.format(Locale.ROOT, "%.4e", v)
                : String.format(Locale.ROOT, "%.4f", v);
    }

    // ------------------------------------------------------------------ helpers

    /** Visits the element offsets in row-major order. */
    void forEachOffset(java.util.function.LongConsumer visit) {
        long n = numel();
        if (n == 0) {
            return;
        }
        int r = shape.length;
        int[] idx = new int[r];
        long e = offset;
        for (long k = 0; k < n; k++) {
            visit.accept(e);
            for (int d = r - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    e += strides[d];
                    break;
                }
                idx[d] = 0;
                e -= (shape[d] - 1) * strides[d];
            }
        }
    }

    private int axis(String name, int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) {
            throw new IndexOutOfBoundsException(name + ": expected a dimension in [" + (-shape.length) + ", "
                    + shape.length + ") for rank " + shape.length + ", got " + d);
        }
        return a;
    }

    private void checkCount(String name, int length) {
        if (length != numel()) {
            throw new IllegalArgumentException(name + ": expected " + numel() + " values for shape "
                    + Arrays.toString(shape) + ", got " + length);
        }
    }

    private int checkedNumel() {
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + n + " elements does not fit a Java array");
        }
        return (int) n;
    }

    static long checkShape(int[] shape) {
        if (shape == null) {
            throw new NullPointerException("shape is null");
        }
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape[" + i + "]: expected >= 0, got " + shape[i] + " in "
                        + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        return n;
    }

    static long[] contiguousStrides(int[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            st[d] = s;
            s *= shape[d];
        }
        return st;
    }
}
