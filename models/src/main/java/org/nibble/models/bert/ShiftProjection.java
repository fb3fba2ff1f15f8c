package org.nibble.models.bert;

import org.nibble.engine.Scope;
import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ChannelAxis;
import org.nibble.kernels.quant.PackedFormat;
import org.nibble.kernels.quant.QuantPanels;
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
 * its plain b-bit codes are packed as GEMM panels ({@link QuantPanels}, Q8/Q6/Q4). Activations stay FP32.
 *
 * Before quantizing, each output row is divided by its own scale {@code c[n] = max|row|}, so the block's base scale
 * and the per-input power-of-two groups only have to cover what varies along the input axis.
 * <pre>
 * codes: QuantPanels layout [out, in] | group ids [blocks, in] bytes | colScale[n] = s0[n / BR] · c[n] (float)
 * W[k][n] ≈ code(n, k) · 2^-g_{n/BR}[k] · colScale[n]
 * </pre>
 * Three paths: up to {@link #PACKED_ROWS} activation rows against a big matrix (with 512-bit vectors up to
 * {@link #WIDE_PACKED_ROWS} rows against any matrix) run on the packed codes ({@link QuantPanels#gemm}, decoded in
 * registers; the packed codes are the only weight bytes read); otherwise the codes are decoded to FP32 GEMM panels
 * once per call ({@link QuantPanels#decode}) and the FP32 GEMM runs on them (see {@link #DECODE_BYTES}): up to
 * {@link #FUSED_ROWS} rows each panel is multiplied as soon as it is decoded ({@link #forwardFused}), more rows
 * decode the whole matrix into a scratch first ({@link #forwardDecoded}).
 */
final class ShiftProjection implements Projection {
    /** Output rows per quantization block (own base scale and group ids). */
    static final int BLOCK_ROWS = QuantPanels.BLOCK_ROWS;
    /** Power-of-two groups per block. */
    static final int GROUPS = 8;
    /**
     * Up to this many activation rows (one {@link QuantPanels} tile) may run on the packed codes; more rows decode
     * the codes to FP32 GEMM panels once per call and run the FP32 GEMM.
     */
    static final int PACKED_ROWS = 12;
    /**
     * With the 512-bit kernels ({@link QuantPanels#WIDE}) up to this many rows (three tiles) run on the packed codes
     * at any matrix size. MiniLM, 1 thread, ms per forward, packed / decoded (fused up to 32 rows), each against F32
     * in its own JVM (noisy VM): 12 tokens Q8 2.1 / 2.8 (F32 2.1), Q4 2.0 / 3.1-3.3, Q6 2.3 / 3.6-3.8; 24 tokens Q8
     * 5.3 / 4.8 (F32 4.3 / 3.8: ratio 1.24 / 1.28), Q4 4.1 / 4.7, Q6 4.7 / 5.3 (F32 3.7); 36 tokens Q4 6.4 / 7.2, Q6
     * 7.3 / 8.0, Q8 6.7 / 7.2 (F32 5.2); at 48 tokens both paths are level.
     */
    static final int WIDE_PACKED_ROWS = 36;
    /**
     * Only matrices whose FP32 form is bigger than this run on the packed codes (8-lane kernels; the 512-bit ones
     * run every size, see {@link #WIDE_PACKED_ROWS}). Below it the decoded panels stay in cache, and decode + FP32
     * GEMM was the faster path at every row count measured on an AVX2 machine (MiniLM, 2 to 128 tokens: 4.3 vs 6.8
     * ms per forward at 2 tokens, Q8); at 4096 x 4096 with 12 rows the packed GEMM took 11.9 ms (Q4) against 15.7
     * for decode + FP32 GEMM (QuantPanelsBench, 1 thread).
     */
    static final long DECODE_BYTES = 8L << 20;
    /**
     * Up to this many activation rows run {@link #forwardFused} (each decoded GEMM panel multiplied while it is in
     * cache), more rows {@link #forwardDecoded}. MiniLM Q8, one thread, AVX-512, best of 5 in a timing loop,
     * alternating runs, decoded vs fused: 6 tokens 4.8 vs 3.6-4.3 ms and 12 tokens 4.6-4.9 vs 4.2 (fused still
     * copying each panel to a native one; without that copy 3.7-4.0), 24 tokens 6.3-6.6 vs 6.1-6.3, 32 tokens
     * 7.2-7.3 vs 7.0-7.2, 64 tokens 12.3 vs 13.9-18.2 (fused slower in every run), 128 tokens 22.4-31.8 vs 21.7-21.8.
     */
    static final int FUSED_ROWS = 32;

    private final int in;
    private final int out;
    private final PackedFormat format;
    private final MemorySegment panels;
    private final MemorySegment groupIds;
    private final int blocks;
    private final MemorySegment colScale;
    private final MemorySegment bias;

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
        blocks = (out + BLOCK_ROWS - 1) / BLOCK_ROWS;
        panels = scope.allocate(QuantPanels.bytes(format, out, in));
        groupIds = scope.allocate((long) blocks * in);
        colScale = scope.allocate(4L * out);
        bias = scope.allocate(4L * out);
        MemorySegment.copy(b, 0, bias, F, 0, out);
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
        quantize(w, bits);
    }

    /**
     * Row n of Wᵀ is divided by {@code c[n] = max_k |W[k][n]|} and clamped to [-1, 1], then each block of rows is
     * ShiftQuant-ized and packed.
     */
    private void quantize(float[] w, int bits) {
        try (Arena tmp = Arena.ofShared()) {
            MemorySegment wt = tmp.allocate(4L * in * out, 64);
            float[] c = new float[out];
            for (int n = 0; n < out; n++) {
                float max = 0;
                for (int k = 0; k < in; k++) {
                    max = Math.max(max, Math.abs(w[k * out + n]));
                }
                c[n] = max == 0 ? 1f : max;
                for (int k = 0; k < in; k++) {
                    float v = w[k * out + n] / c[n];
                    wt.set(F, 4L * ((long) n * in + k), Math.max(-1f, Math.min(1f, v)));
                }
            }
            MemorySegment codes = tmp.allocate((long) in * out, 64);
            for (int bl = 0; bl < blocks; bl++) {
                int r0 = bl * BLOCK_ROWS, rows = Math.min(BLOCK_ROWS, out - r0);
                float s0 = ShiftQuant.quantize("weight block " + bl, wt, (long) r0 * in, rows, in, in,
                        ChannelAxis.COLUMNS, bits, GROUPS, Rounding.NEAREST_EVEN, 0, false, codes, (long) r0 * in, in,
                        groupIds, (long) bl * in);
                for (int r = r0; r < r0 + rows; r++) {
                    colScale.setAtIndex(F, r, s0 * c[r]);
                }
            }
            QuantPanels.pack(format, out, in, codes, 0, in, panels, 0);
        }
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
        return panels.byteSize() + groupIds.byteSize() + colScale.byteSize() + bias.byteSize()
                + 12L * outVal.length;
    }

    @Override
    public long heapBytes() {
        return 12L * outVal.length;
    }

    /** Number of outlier weights kept in FP32. */
    int outliers() {
        return outVal.length;
    }

    @Override
    public void forward(MemorySegment x, int rows, MemorySegment y) {
        if (QuantPanels.WIDE ? rows <= WIDE_PACKED_ROWS : rows <= PACKED_ROWS && 4L * in * out > DECODE_BYTES) {
            forwardPacked(x, rows, y);
        } else if (rows <= FUSED_ROWS) {
            forwardFused(x, rows, y);
        } else {
            forwardDecoded(x, rows, y);
        }
    }

    /** y = x · W + bias through FP32 panels decoded for this call and the FP32 GEMM. */
    void forwardDecoded(MemorySegment x, int rows, MemorySegment y) {
        PackedWeights pw = new PackedWeights(in, out, Workspace.get().slot(7, 4L * PackedWeights.floats(in, out)),
                null);
        decodePacked(pw);
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(bias, 0, y, 4L * r * out, 4L * out);
        }
        pw.multiplyAdd(rows, x, y);
    }

    /**
     * y = x · W + bias, one GEMM panel at a time: x is packed once ({@link GemmF32#packAllA}); each panel of NR output
     * columns is decoded into the heap staging array and multiplied by all rows straight from it (the heap-B
     * {@link GemmF32#multiplyPacked}), K block after K block, while it is in cache; {@link #forwardDecoded} copies all
     * panels into a native scratch of the whole matrix first and reads them back from L3. Copying each panel into
     * a native one instead cost 15% of a 12-token MiniLM Q8 forward (4.3-4.5 vs 3.6-3.7 ms without the copy). The
     * same operations per element as {@link #forwardDecoded}, so the results are bit-identical. Panels run in
     * parallel. With NR not a multiple of 16 (128-bit vectors) it runs {@link #forwardDecoded}.
     */
    void forwardFused(MemorySegment x, int rows, MemorySegment y) {
        if (GemmF32.NR % QuantPanels.PANEL_ROWS != 0) {
            forwardDecoded(x, rows, y);
            return;
        }
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(bias, 0, y, 4L * r * out, 4L * out);
        }
        MemorySegment pa = Workspace.get().slot(8, 4L * GemmF32.packedASize(rows, in));
        GemmF32.packAllA(false, rows, in, x, 0, in, pa, 0);
        int width = GemmF32.NR, mp = (int) GemmF32.packedASize(rows, 1); // rows rounded up to MR
        int kc = GemmF32.blockDepth(in), blocks = (in + kc - 1) / kc;
        int count = (out + width - 1) / width;
        Parallel.forRange(0, count, Math.max(1, count / 64), (lo, hi) -> {
            float[] staging = staging(in * width);
            for (int c = lo; c < hi; c++) {
                int col0 = c * width, cols = Math.min(width, out - col0);
                decodePanel(staging, col0, width);
                for (int bl = 0; bl < blocks; bl++) {
                    int depth = Math.min(kc, in - bl * kc);
                    GemmF32.multiplyPacked(rows, cols, depth, 1f, pa, (long) mp * bl * kc, staging, bl * kc * width,
                            1f, y, col0, out);
                }
            }
        });
    }

    /** Output columns col0 .. col0 + width - 1 decoded k-major into staging (row stride width), outliers exact. */
    private void decodePanel(float[] staging, int col0, int width) {
        int w = QuantPanels.PANEL_ROWS;
        for (int sub = 0; sub < width; sub += w) {
            if (col0 + sub < out) {
                QuantPanels.decode(format, out, in, panels, 0, groupIds, 0, colScale, 0, (col0 + sub) / w,
                        staging, sub, width);
            } else {
                for (int p = 0; p < in; p++) { // past the last code panel: zero columns of the GEMM panel
                    java.util.Arrays.fill(staging, p * width + sub, p * width + sub + w, 0f);
                }
            }
        }
        for (int e = firstOutlier(col0); e < outRow.length && outRow[e] < col0 + width; e++) {
            staging[outCol[e] * width + outRow[e] - col0] = outVal[e];
        }
    }

    /** Index of the first outlier in output row >= row (outliers are sorted by output row). */
    private int firstOutlier(int row) {
        int lo = 0, hi = outRow.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (outRow[mid] < row) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** y = x · W + bias on the packed codes ({@link QuantPanels#gemm}) plus the FP32 outliers. */
    void forwardPacked(MemorySegment x, int rows, MemorySegment y) {
        QuantPanels.gemm(format, rows, out, in, panels, 0, groupIds, 0, colScale, 0, bias, 0, x, 0, in, y, 0, out);
        for (int r = 0; r < rows; r++) {
            long yr = (long) r * out;
            for (int e = 0; e < outVal.length; e++) {
                long o = 4L * (yr + outRow[e]);
                y.set(F, o, y.get(F, o) + outVal[e] * x.get(F, 4L * ((long) r * in + outCol[e])));
            }
        }
    }

    /** W [in, out] in FP32: {@code code(n, k) · 2^-g_b[k] · colScale[n]}, outliers exact (reference decode). */
    MemorySegment decode(Arena arena) {
        MemorySegment w = arena.allocate(4L * in * out, 64);
        for (int n = 0; n < out; n++) {
            float cs = colScale.getAtIndex(F, n);
            for (int k = 0; k < in; k++) {
                float g = Math.scalb(1f, -groupIds.get(ValueLayout.JAVA_BYTE, (long) (n / BLOCK_ROWS) * in + k));
                w.set(F, 4L * ((long) k * out + n), QuantPanels.code(format, in, panels, 0, n, k) * g * cs);
            }
        }
        for (int e = 0; e < outVal.length; e++) {
            w.set(F, 4L * ((long) outCol[e] * out + outRow[e]), outVal[e]);
        }
        return w;
    }

    /**
     * W into GEMM-packed panels: each GEMM panel of NR output rows is decoded k-major, as GEMM B panels are, from its
     * NR / 16 code panels (row stride NR) into a heap array, then bulk-copied, one copy per K block. Decoding straight
     * into the packed segment measured faster in a loop that saw only native segments (0.08 vs 0.12 ms per 1536 x 384
     * matrix), but 3-4x slower inside MiniLM and 8x slower in a loop that also decoded into a heap segment; there C2
     * compiled the segment stores with a virtual {@code unsafeGetBase} call (PrintInlining: "failed to inline: virtual
     * call"). {@code intoArray} does not depend on which segment classes the JVM has seen. With NR = 32 (AVX-512),
     * 16-column panels copied element by element into the packed layout made Q8 5x slower than FP32 (12 tokens).
     */
    void decodePacked(PackedWeights pw) {
        // columns per staging fill: one GEMM panel when NR is a multiple of 16, else one 16-column code panel
        int width = GemmF32.NR % QuantPanels.PANEL_ROWS == 0 ? GemmF32.NR : QuantPanels.PANEL_ROWS;
        int count = (out + width - 1) / width;
        Parallel.forRange(0, count, Math.max(1, count / 64), (lo, hi) -> {
            float[] staging = staging(in * width);
            for (int c = lo; c < hi; c++) {
                int col0 = c * width;
                decodePanel(staging, col0, width);
                pw.setPanel(col0, Math.min(width, out - col0), staging, width);
            }
        });
    }

    /** The calling thread's staging array, at least {@code floats} long. */
    private static float[] staging(int floats) {
        float[] staging = DECODED.get();
        if (staging.length < floats) {
            staging = new float[floats];
            DECODED.set(staging);
        }
        return staging;
    }

    private static final ThreadLocal<float[]> DECODED = ThreadLocal.withInitial(() -> new float[0]);
}
