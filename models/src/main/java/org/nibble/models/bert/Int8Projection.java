package org.nibble.models.bert;

import org.nibble.engine.Scope;
import org.nibble.engine.onnx.OnnxFormatException;
import org.nibble.kernels.quant.U8S8Gemm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.nibble.models.bert.BertMath.F;

/**
 * The int8 projections of ONNX Runtime's dynamically quantized model, computed as that graph does:
 * {@code DynamicQuantizeLinear} (activation uint8, asymmetric, one scale and zero point for the whole input tensor,
 * round half to even), {@code MatMulInteger} (exact int32 sums of {@code (a - za)(w - zw)}), then
 * {@code · (sa · sw[n]) + b[n]}. Weights are int8 per output column; stored here transposed, [out, in], so each
 * output is one contiguous dot product; the int32 sums run in {@link U8S8Gemm}.
 */
final class Int8Projection implements Projection {
    private final int in;
    private final int out;
    private final MemorySegment wt;     // int8 [out, in]
    private final MemorySegment colSum; // int32 [out]: sum_k (w[k,n] - zw[n])
    private final MemorySegment zw;     // int32 [out]
    private final MemorySegment scale;  // f32 [out]
    private final MemorySegment bias;   // f32 [out]

    private Int8Projection(int in, int out, MemorySegment wt, MemorySegment colSum, MemorySegment zw,
                           MemorySegment scale, MemorySegment bias) {
        this.in = in;
        this.out = out;
        this.wt = wt;
        this.colSum = colSum;
        this.zw = zw;
        this.scale = scale;
        this.bias = bias;
    }

    static Int8Projection of(Scope scope, List<BertGraph.LinearRef> refs) throws OnnxFormatException {
        int in = refs.getFirst().in();
        int out = 0;
        for (BertGraph.LinearRef r : refs) {
            if (r.qweight() == null || r.in() != in) {
                throw new OnnxFormatException("fused int8 projections need int8 weights with the same input size");
            }
            out += r.out();
        }
        MemorySegment wt = scope.allocate((long) in * out);
        MemorySegment colSum = scope.allocate(4L * out);
        MemorySegment zw = scope.allocate(4L * out);
        MemorySegment scale = scope.allocate(4L * out);
        MemorySegment bias = scope.allocate(4L * out);
        int col = 0;
        for (BertGraph.LinearRef r : refs) {
            int o = r.out();
            long[] w = r.qweight().longs();
            float[] s = r.qscale().floats();
            long[] z = r.qzero() == null ? new long[1] : r.qzero().longs();
            float[] b = r.bias().floats();
            for (int n = 0; n < o; n++) {
                int zn = (int) (z.length == 1 ? z[0] : z[n]);
                int sum = 0;
                for (int k = 0; k < in; k++) {
                    int v = (int) w[k * o + n];
                    wt.set(ValueLayout.JAVA_BYTE, (long) (col + n) * in + k, (byte) v);
                    sum += v - zn;
                }
                colSum.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, col + n, sum);
                zw.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, col + n, zn);
                scale.set(F, 4L * (col + n), s.length == 1 ? s[0] : s[n]);
                bias.set(F, 4L * (col + n), b[n]);
            }
            col += o;
        }
        return new Int8Projection(in, out, wt, colSum, zw, scale, bias);
    }

    @Override
    public int in() {
        return in;
    }

    @Override
    public int out() {
        return out;
    }

    @Override
    public long bytes() {
        return wt.byteSize() + colSum.byteSize() + zw.byteSize() + scale.byteSize() + bias.byteSize();
    }

    @Override
    public void forward(MemorySegment x, int rows, MemorySegment y) {
        long total = (long) rows * in;
        float min = 0, max = 0;
        for (long e = 0; e < total; e++) {
            float v = x.get(F, 4 * e);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        float sa = (max - min) / 255f;
        int za = sa == 0 ? 0 : (int) Math.max(0, Math.min(255, Math.rint(-min / sa)));
        Scratch s = SCRATCH.get().fit(rows, in, out);
        int[] qa = s.activations, acc = s.sums, aSum = s.rowSums;
        for (int r = 0; r < rows; r++) {
            long xb = (long) r * in;
            int sum = 0;
            for (int k = 0; k < in; k++) {
                float q = sa == 0 ? 0 : (float) Math.rint(x.get(F, 4 * (xb + k)) / sa) + za;
                int a = (int) Math.max(0, Math.min(255, q));
                qa[r * in + k] = a;
                sum += a;
            }
            aSum[r] = sum;
        }
        U8S8Gemm.gemm(rows, out, in, qa, wt, 0, acc);
        for (int r = 0; r < rows; r++) {
            for (int n = 0; n < out; n++) {
                int zn = zw.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, n);
                // sum (a - za)(w - zw) = sum a*w - zw*sum a - za*sum (w - zw)
                int exact = acc[r * out + n] - zn * aSum[r] - za * colSum.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, n);
                float sc = sa * scale.get(F, 4L * n);
                y.set(F, 4L * ((long) r * out + n), exact * sc + bias.get(F, 4L * n));
            }
        }
    }

    /** Per-thread buffers of a forward: the activation codes (ints), the exact sums, each row's code sum. */
    private static final class Scratch {
        int[] activations = new int[0];
        int[] sums = new int[0];
        int[] rowSums = new int[0];

        Scratch fit(int rows, int in, int out) {
            if (activations.length < rows * in) {
                activations = new int[rows * in];
            }
            if (sums.length < rows * out) {
                sums = new int[rows * out];
            }
            if (rowSums.length < rows) {
                rowSums = new int[rows];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);
}
