package org.nibble.models.bert;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.engine.Scope;
import org.nibble.kernels.FloatOps;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ChannelAxis;
import org.nibble.kernels.quant.PackedFormat;
import org.nibble.kernels.quant.PackedGemv;
import org.nibble.kernels.quant.Rounding;
import org.nibble.kernels.quant.ShiftQuant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.nibble.models.bert.BertMath.F;

/**
 * Weight-only ShiftQuant projection (papers.md §1.3): {@code W} transposed to [out, in] and cut into blocks of
 * {@link #BLOCK_ROWS} output rows; each block is ShiftQuant-ized round-to-nearest with its own base scale
 * {@code s0} and {@code G} power-of-two groups along the input axis (one group id per input feature and block), and
 * its plain b-bit codes are bit-packed ({@link PackedFormat} Q8/Q6/Q4). Activations stay FP32.
 *
 * Before quantizing, each output row is divided by its own scale {@code c[n] = clip · max|row|} (clamped to [-1, 1];
 * the clip ratio is chosen per matrix for the smallest Frobenius error), so the block's base scale and the per-input
 * power-of-two groups only have to cover what varies along the input axis; {@code c[n]} is applied to the output.
 * <pre>
 * block b (rows b*BR .. b*BR+BR-1 of Wᵀ):  packed codes [BR, rowBytes(in)] | group ids [in] bytes | s0[b]
 * per output row n: c[n] (float)
 * W[k][n] ≈ code(n, k) · s0[b] · 2^-g_b[k] · c[n]
 * </pre>
 * Up to {@link #PACKED_ROWS} activation rows run on the packed weights, block by block ({@link PackedGemv#gemm},
 * blocks in parallel): the packed weights are the only weight bytes read.
 * More rows decode the weights to FP32 once per call into a scratch and run the FP32 GEMM, cheaper once the decode
 * is spread over enough rows (measured crossover ~15 rows on this AVX2 machine).
 */
final class ShiftProjection implements Projection {
    private static final VectorSpecies<Float> FS = org.nibble.kernels.Simd.F32;

    /** Output rows per quantization block (own base scale and group ids). */
    static final int BLOCK_ROWS = 8;
    /** Power-of-two groups per block. */
    static final int GROUPS = 8;
    /**
     * Up to this many activation rows run on the packed weights ({@link PackedGemv#gemm}); more rows decode the
     * weights to FP32 once per call and run the FP32 GEMM.
     */
    static final int PACKED_ROWS = 16;

    private final int in;
    private final int out;
    private final PackedFormat format;
    private final long rowBytes;
    private final MemorySegment packed;
    private final MemorySegment groupIds;
    private final float[] s0;
    private final MemorySegment rowScale;
    private final MemorySegment bias;
    private final float clip;

    /** Clip ratios tried per matrix; the one with the smallest Frobenius error is kept. */
    private static final float[] CLIPS = {1f};
    /** Weights beyond this many RMS of their matrix are kept exactly, in FP32, beside the codes. */
    static final float OUTLIER_RMS = 4f;

    /** Outlier weights (sparse, FP32): output row, input column, value. */
    private final int[] outRow;
    private final int[] outCol;
    private final float[] outVal;

    ShiftProjection(Scope scope, float[] w, float[] b, int in, int out, int bits) {
        this.in = in;
        this.out = out;
        this.format = switch (bits) {
            case 8 -> PackedFormat.Q8;
            case 6 -> PackedFormat.Q6;
            case 4 -> PackedFormat.Q4;
            default -> throw new IllegalArgumentException("bits: expected 8, 6 or 4, got " + bits);
        };
        rowBytes = format.rowBytes(in);
        int blocks = (out + BLOCK_ROWS - 1) / BLOCK_ROWS;
        packed = scope.allocate(rowBytes * out);
        groupIds = scope.allocate((long) blocks * in);
        rowScale = scope.allocate(4L * out);
        bias = scope.allocate(4L * out);
        MemorySegment.copy(b, 0, bias, F, 0, out);
        s0 = new float[blocks];
        double ss = 0;
        for (float v : w) {
            ss += (double) v * v;
        }
        float thr = (float) (OUTLIER_RMS * Math.sqrt(ss / w.length));
        int count = 0;
        for (float v : w) {
            count += Math.abs(v) > thr ? 1 : 0;
        }
        outRow = new int[count];
        outCol = new int[count];
        outVal = new float[count];
        w = w.clone();
        int o = 0;
        for (int n = 0; n < out; n++) {      // sorted by output row
            for (int k = 0; k < in; k++) {
                float v = w[k * out + n];
                if (Math.abs(v) > thr) {
                    outRow[o] = n;
                    outCol[o] = k;
                    outVal[o++] = v;
                    w[k * out + n] = 0f;
                }
            }
        }
        float best = Float.NaN;
        double bestErr = Double.POSITIVE_INFINITY;
        for (float c : CLIPS) {
            quantize(w, bits, c);
            double err = error(w);
            if (err < bestErr) {
                bestErr = err;
                best = c;
            }
        }
        quantize(w, bits, best);
        clip = best;
    }

    /**
     * Row n of Wᵀ is divided by {@code c[n] = clip · max_k |W[k][n]|} and clamped to [-1, 1], then each block of
     * rows is ShiftQuant-ized and packed.
     */
    private void quantize(float[] w, int bits, float clipRatio) {
        try (Arena tmp = Arena.ofShared()) {
            MemorySegment wt = tmp.allocate(4L * in * out, 64);
            for (int n = 0; n < out; n++) {
                float max = 0;
                for (int k = 0; k < in; k++) {
                    max = Math.max(max, Math.abs(w[k * out + n]));
                }
                float c = max == 0 ? 1f : clipRatio * max;
                rowScale.set(F, 4L * n, c);
                for (int k = 0; k < in; k++) {
                    float v = w[k * out + n] / c;
                    wt.set(F, 4L * ((long) n * in + k), Math.max(-1f, Math.min(1f, v)));
                }
            }
            MemorySegment codes = tmp.allocate((long) in * BLOCK_ROWS, 64);
            for (int bl = 0; bl < s0.length; bl++) {
                int r0 = bl * BLOCK_ROWS, rows = Math.min(BLOCK_ROWS, out - r0);
                s0[bl] = ShiftQuant.quantize("weight block " + bl, wt, (long) r0 * in, rows, in, in,
                        ChannelAxis.COLUMNS, bits, GROUPS, Rounding.NEAREST_EVEN, 0, false, codes, 0, in, groupIds,
                        (long) bl * in);
                for (int r = 0; r < rows; r++) {
                    format.packRow(codes, (long) r * in, in, packed, (r0 + r) * rowBytes);
                }
            }
        }
    }

    /** Squared Frobenius error of the decoded weights against {@code w}. */
    private double error(float[] w) {
        try (Arena tmp = Arena.ofShared()) {
            MemorySegment d = decode(tmp);
            double e = 0;
            for (int i = 0; i < w.length; i++) {
                double x = w[i] - d.getAtIndex(F, i);
                e += x * x;
            }
            return e;
        }
    }

    /** The clip ratio chosen for this matrix. */
    float clip() {
        return clip;
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
        return packed.byteSize() + groupIds.byteSize() + 4L * s0.length + rowScale.byteSize() + bias.byteSize()
                + 12L * outVal.length;
    }

    @Override
    public long heapBytes() {
        return 4L * s0.length + 12L * outVal.length;
    }

    /** Number of outlier weights kept in FP32. */
    int outliers() {
        return outVal.length;
    }

    @Override
    public void forward(MemorySegment x, int rows, MemorySegment y) {
        if (rows > PACKED_ROWS) {
            PackedWeights pw = new PackedWeights(in, out, Workspace.get().slot(7, 4L * PackedWeights.floats(in, out)),
                    null);
            decodePacked(pw);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(bias, 0, y, 4L * r * out, 4L * out);
            }
            pw.multiplyAdd(rows, x, y);
            return;
        }
        // every block's packed rows against all activation rows; the blocks run in parallel
        Parallel.forRange(0, s0.length, 4, (lo, hi) -> {
            for (int bl = lo; bl < hi; bl++) {
                int r0 = bl * BLOCK_ROWS;
                PackedGemv.gemm(format, rows, Math.min(BLOCK_ROWS, out - r0), in, packed, r0 * rowBytes, groupIds,
                        (long) bl * in, s0[bl], x, 0, in, y, r0, out);
            }
        });
        for (int r = 0; r < rows; r++) {
            long yr = (long) r * out;
            FloatOps.mul(out, y, yr, rowScale, 0, y, yr);     // y = y * c + bias
            FloatOps.add(out, y, yr, bias, 0, y, yr);
            for (int e = 0; e < outVal.length; e++) {
                long o = 4L * (yr + outRow[e]);
                y.set(F, o, y.get(F, o) + outVal[e] * x.get(F, 4L * ((long) r * in + outCol[e])));
            }
        }
    }

    /** W [in, out] in FP32: {@code code(n, k) · s0[b] · 2^-g_b[k] · c[n]}, outliers exact (reference decode). */
    MemorySegment decode(Arena arena) {
        MemorySegment w = arena.allocate(4L * in * out, 64);
        MemorySegment codes = arena.allocate(in, 64);
        float[] scale = new float[in];
        for (int n = 0; n < out; n++) {
            int bl = n / BLOCK_ROWS;
            if (n % BLOCK_ROWS == 0) {
                blockScales(bl, scale);
            }
            format.unpackRow(packed, n * rowBytes, in, codes, 0);
            float c = rowScale.get(F, 4L * n);
            for (int k = 0; k < in; k++) {
                w.set(F, 4L * ((long) k * out + n), codes.get(ValueLayout.JAVA_BYTE, k) * scale[k] * c);
            }
        }
        for (int e = 0; e < outVal.length; e++) {
            w.set(F, 4L * ((long) outCol[e] * out + outRow[e]), outVal[e]);
        }
        return w;
    }

    private void blockScales(int bl, float[] scale) {
        float[] pow = new float[GROUPS];
        for (int g = 0; g < GROUPS; g++) {
            pow[g] = Math.scalb(s0[bl], -g);
        }
        for (int k = 0; k < in; k++) {
            scale[k] = pow[groupIds.get(ValueLayout.JAVA_BYTE, (long) bl * in + k)];
        }
    }

    /**
     * Wᵀ [out, in] in FP32, decoded straight from the packed words (the layout of {@link PackedFormat}: field j of
     * word w holds code {@code (w / 8) * block + 8j + w % 8}), the fast path of the batched forward.
     */
    MemorySegment decodeTransposed(MemorySegment wt) {
        float[] scale = new float[PackedFormat.paddedCols(in)];
        float[] row = new float[PackedFormat.paddedCols(in)];
        for (int n = 0; n < out; n++) {
            decodeRow(n, scale, row);
            MemorySegment.copy(row, 0, wt, F, 4L * n * in, in);
        }
        return wt;
    }

    /** W into GEMM-packed panels (no transposition pass: each decoded row is one packed column). */
    void decodePacked(PackedWeights pw) {
        // chunks of whole quantization blocks (decodeRow refreshes the block scales at a block's first row)
        int blocks = s0.length;
        Parallel.forRange(0, blocks, Math.max(1, blocks / 64), (lo, hi) -> {
            float[] scale = new float[PackedFormat.paddedCols(in)];
            float[] row = new float[PackedFormat.paddedCols(in)];
            for (int n = lo * BLOCK_ROWS; n < Math.min(out, hi * BLOCK_ROWS); n++) {
                decodeRow(n, scale, row);
                pw.setColumn(n, row);
            }
        });
    }

    /** Row n of Wᵀ into {@code row[0..in)}; {@code scale} is refreshed at each block's first row. */
    private void decodeRow(int n, float[] scale, float[] row) {
        if (n % BLOCK_ROWS == 0) {
            blockScales(n / BLOCK_ROWS, scale);
        }
        PackedGemv.decodeRow(format, in, packed, n * rowBytes, row, 0);
        float c = rowScale.get(F, 4L * n);
        int k = 0;
        for (; k <= in - FS.length(); k += FS.length()) { // row = code * scale * c, in that order (as decode())
            FloatVector.fromArray(FS, row, k).mul(FloatVector.fromArray(FS, scale, k)).mul(c).intoArray(row, k);
        }
        for (; k < in; k++) {
            row[k] = row[k] * scale[k] * c;
        }
        for (int e = outStart(n); e < outVal.length && outRow[e] == n; e++) {
            row[outCol[e]] = outVal[e];
        }
    }

    /** First outlier of row n (outliers sorted by row). */
    private int outStart(int n) {
        int lo = 0, hi = outRow.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (outRow[mid] < n) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

}
