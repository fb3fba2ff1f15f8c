package org.nibble.kernels.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;
import static org.nibble.kernels.Simd.ORDER;

/**
 * ShiftQuant weight codes packed as GEMM B panels, and the GEMM that decodes them in registers:
 * {@code y[i][r] = scale[r] * sum_k x[i][k] * code(r, k) * 2^-g[r / 8][k] + bias[r]} for F32 activations x [m, k]
 * and n output rows of b-bit codes (papers.md §1.3: per block of {@link #BLOCK_ROWS} output rows, one power-of-two
 * group id per input; the block's base scale and any per-row scale go into {@code scale[r]}).
 *
 * <p><b>Layout.</b> Output rows are cut into panels of {@link #PANEL_ROWS} = 16 (two blocks); k is padded with zero
 * codes to a multiple of 16 ({@link #paddedK}). Q8 is one byte per code, k-major: the code of panel row r, input k at
 * byte {@code 16k + r}. Q4 and Q6 are sequences of word steps, each 16 little-endian 32-bit words, one per panel row
 * (rows 0-7 then 8-15: two 8-lane int vectors, row r in lane r % 8):
 * <pre>
 * Q4: word step t holds k = 8t .. 8t+7,  code of k = 8t + j in bits 4j .. 4j+3  (two's complement)
 * Q6: word steps 3u, 3u+1, 3u+2 hold k = 16u .. 16u+15:
 *     step 3u + h (h = 0, 1): low nibble of the code of k = 16u + 8h + j in bits 4j .. 4j+3
 *     step 3u + 2:            signed high 2 bits of the code of k = 16u + f in bits 2f .. 2f+1
 * </pre>
 * A panel is {@code paddedK(k) * bits * 2} bytes, panel p at byte {@code p * panelBytes}. Decoded k-major, a panel
 * is exactly a 16-column packed-B panel of {@link org.nibble.kernels.GemmF32} ({@link #decode}).
 *
 * <p><b>Kernel.</b> A GEMM micro-kernel of 12 activation rows x 8 output rows (one block, 12 accumulators) with B
 * decoded on the fly: per k, one weight vector is decoded (Q8: sign-extend 8 bytes; Q4: a shift left and an
 * arithmetic shift right of a word vector; Q6: the same on the high-bits word, masked and or'ed with a nibble),
 * converted to float and multiplied by the block's {@code 2^-g[k]}; 12 broadcast activations then take 12 FMAs. No
 * horizontal sums. Activations are packed once per call into 12-row k-major panels (a heap array); panels of output
 * rows run in parallel. Measured on an AVX2 machine (QuantPanelsBench, 12 rows, 1 thread): Q8 40, Q4 34, Q6 27
 * GFLOP/s, against 36 (1536 x 384) and 20 (4096 x 4096) for the FP32 GEMM. The decode takes FMA-port slots, so when
 * the FP32 panels fit in cache, decoding once ({@link #decode}) and running the FP32 GEMM is as fast or faster.
 * With 16-lane vectors ({@link #WIDE}) pairs of panels run a 12 x 32 kernel instead ({@link #wideQ8}): one decode
 * per 24 FMAs. On the AVX-512 machine, 4096 x 4096, 12 rows, 1 thread, GFLOP/s wide against the 8-row kernel: Q8
 * 155 / 61, Q4 170 / 56, Q6 133 / 44 (FP32 GEMM about 190). Needs 8-lane (256-bit or wider) vectors; with narrower
 * ones it runs {@link QuantPanelsScalar}.
 */
public final class QuantPanels {
    private QuantPanels() {
    }

    /** Output rows per quantization block (one group id per input and block). */
    public static final int BLOCK_ROWS = 8;
    /** Output rows per panel: two blocks, two 8-lane vectors. */
    public static final int PANEL_ROWS = 16;
    /** Activation rows per micro-kernel tile. */
    static final int TILE_ROWS = 12;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> SB = ByteVector.SPECIES_64;
    private static final boolean VECTOR = Simd.F32_LANES >= 8;

    /**
     * With 16-lane vectors (AVX-512) the GEMM runs two panels at a time: 12 activation rows x 32 output rows, one
     * 16-lane weight vector per panel and k (see {@link #wideQ8}).
     */
    public static final boolean WIDE = Simd.F32_LANES >= 16;
    /** Output rows of a wide tile: two panels. */
    private static final int WIDE_COLS = 2 * PANEL_ROWS;
    private static final VectorSpecies<Float> WS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> WSI = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> WSB = ByteVector.SPECIES_128;
    /** Row j: 16 lanes of 28 - 4j, the left shift that puts nibble j of a Q4 word at the top. */
    private static final int[] Q4_SHIFTS = new int[8 * 16];

    /** Row f: 16 lanes of the Q6 shifts of field f (see {@link #decodeQ6}): 30 - 2f for the high bits, 4(f % 8) low. */
    private static final int[] Q6_HIGH_SHIFTS = new int[16 * 16], Q6_LOW_SHIFTS = new int[16 * 16];

    // the wide kernels and the decode loops shift by a vector of counts loaded from these tables: a scalar count
    // varying with k went through a general-purpose register into an xmm register on every use, and Q4 ran at half
    // the speed of Q8
    static {
        for (int i = 0; i < Q4_SHIFTS.length; i++) {
            Q4_SHIFTS[i] = 28 - 4 * (i / 16);
        }
        for (int i = 0; i < Q6_HIGH_SHIFTS.length; i++) {
            Q6_HIGH_SHIFTS[i] = 30 - 2 * (i / 16);
            Q6_LOW_SHIFTS[i] = 4 * (i / 16 % 8);
        }
    }

    /** Lanes 8 .. 15 of a panel's weight vector: its second block, with its own factors 2^-g. */
    private static final VectorMask<Float> SECOND_BLOCK = VectorMask.fromLong(WS, 0xFF00L);

    /**
     * The species of the decode loops, {@link #scales} and {@link #store}: all 16 rows of a panel in one vector when
     * {@link #WIDE}, else 8 (one block). With 512-bit kernels nothing here may use another shape: C2 types a vector by
     * the profile of the JDK call site that handles it (FloatVector.intoArray, ByteVector.convertShape, ..., shared by
     * all callers), and once such a site had seen 256-bit vectors from these helpers as well, some JVM runs compiled
     * the wide kernels with their accumulators boxed: 10x slower forwards, 1.4 GB allocated per pair of Q6 MiniLM
     * forwards (ForwardAllocationTest's run without tiered compilation fails that way every time).
     */
    private static final VectorSpecies<Float> DS = WIDE ? WS : S;
    private static final VectorSpecies<Integer> DSI = WIDE ? WSI : SI;
    private static final VectorSpecies<Byte> DSB = WIDE ? WSB : SB;
    private static final int DL = DS.length();

    /** k rounded up to a multiple of 16 (one Q6 group of word steps). */
    public static int paddedK(int k) {
        return (k + 15) & ~15;
    }

    /** Bytes of one panel of 16 output rows over k inputs. */
    public static long panelBytes(PackedFormat format, int k) {
        return (long) paddedK(k) * format.bits() * 2;
    }

    /** Bytes of the layout of n output rows over k inputs. */
    public static long bytes(PackedFormat format, int n, int k) {
        return panels(n) * panelBytes(format, k);
    }

    static int panels(int n) {
        return (n + PANEL_ROWS - 1) / PANEL_ROWS;
    }

    /**
     * Packs int8 codes {@code codes[cOff + r*ldc + kk]} (row r < n, kk < k, each within ±{@code format.qmax()}) into
     * the layout at byte {@code dstOff} of {@code dst}; padding rows and inputs get code 0.
     */
    public static void pack(PackedFormat format, int n, int k, MemorySegment codes, long cOff, int ldc,
                            MemorySegment dst, long dstOff) {
        Checks.checkCount("n", n);
        Checks.checkCount("k", k);
        Checks.checkMatrix("codes", codes, cOff, n, k, ldc, 1);
        Checks.checkRange("dst", dst, dstOff, bytes(format, n, k), 1);
        int kp = paddedK(k), bits = format.bits(), qmax = format.qmax();
        long pb = panelBytes(format, k);
        dst.asSlice(dstOff, bytes(format, n, k)).fill((byte) 0);
        for (int r = 0; r < panels(n) * PANEL_ROWS; r++) {
            long panel = dstOff + (r / PANEL_ROWS) * pb;
            int lane = r % PANEL_ROWS;
            for (int kk = 0; kk < kp; kk++) {
                int c = 0;
                if (r < n && kk < k) {
                    c = codes.get(BYTE, cOff + (long) r * ldc + kk);
                    if (c > qmax || c < -qmax) {
                        throw new IllegalArgumentException("codes[" + r + "][" + kk + "]: expected within +-" + qmax
                                + " for " + format + ", got " + c);
                    }
                }
                if (format == PackedFormat.Q8) {
                    dst.set(BYTE, panel + 16L * kk + lane, (byte) c);
                } else if (format == PackedFormat.Q6) {
                    int u = kk / 16, f = kk % 16;
                    orBits(dst, word(panel, 3 * u + f / 8, lane), (c & 15) << (4 * (f % 8)));
                    orBits(dst, word(panel, 3 * u + 2, lane), ((c >> 4) & 3) << (2 * f));
                } else {
                    int cpw = 32 / bits, j = kk % cpw;
                    orBits(dst, word(panel, kk / cpw, lane), (c & ((1 << bits) - 1)) << (bits * j));
                }
            }
        }
    }

    /** Byte offset of the word of panel row {@code lane} in word step {@code step}. */
    private static long word(long panel, int step, int lane) {
        return panel + 64L * step + 4L * lane;
    }

    private static void orBits(MemorySegment dst, long off, int bits) {
        dst.set(INT, off, dst.get(INT, off) | bits);
    }

    /** The code of output row {@code r}, input {@code kk} (0 for padding) in the layout at byte {@code off}. */
    public static int code(PackedFormat format, int k, MemorySegment panels, long off, int r, int kk) {
        long panel = off + (r / PANEL_ROWS) * panelBytes(format, k);
        int lane = r % PANEL_ROWS;
        if (format == PackedFormat.Q8) {
            return panels.get(BYTE, panel + 16L * kk + lane);
        }
        if (format == PackedFormat.Q6) {
            int u = kk / 16, f = kk % 16;
            int lo = (panels.get(INT, word(panel, 3 * u + f / 8, lane)) >>> (4 * (f % 8))) & 15;
            int hi = (panels.get(INT, word(panel, 3 * u + 2, lane)) << (30 - 2 * f)) >> 30;
            return hi * 16 + lo;
        }
        int bits = format.bits(), cpw = 32 / bits;
        return (panels.get(INT, word(panel, kk / cpw, lane)) << (32 - bits * (kk % cpw + 1))) >> (32 - bits);
    }

    static void check(PackedFormat format, int m, int n, int k, MemorySegment panels, long pOff,
                      MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, MemorySegment bias, long bOff,
                      MemorySegment x, long xOff, int ldx, MemorySegment y, long yOff, int ldy) {
        if (format == null) {
            throw new NullPointerException("format is null");
        }
        Checks.checkCount("m", m);
        Checks.checkCount("n", n);
        Checks.checkCount("k", k);
        Checks.checkRange("panels", panels, pOff, bytes(format, n, k), 1);
        Checks.checkRange("groupIds", groupIds, gOff, (long) ((n + BLOCK_ROWS - 1) / BLOCK_ROWS) * k, 1);
        Checks.checkRange("scale", scale, sOff, n, 4);
        if (bias != null) {
            Checks.checkRange("bias", bias, bOff, n, 4);
        }
        Checks.checkMatrix("x", x, xOff, m, k, ldx, 4);
        Checks.checkMatrix("y", y, yOff, m, n, ldy, 4);
    }

    /**
     * {@code y[i][r] = scale[r] * sum_k x[i][k] * code(r, k) * 2^-g[r / 8][k] + bias[r]} (bias may be null) for
     * {@code i < m}, {@code r < n}: x row i at float {@code xOff + i*ldx}, y row i at float {@code yOff + i*ldy},
     * group ids {@code groupIds[gOff + (r / 8) * k + kk]} (bytes, 0 .. 31), scale and bias as floats from
     * {@code sOff} / {@code bOff}. Panels of output rows run in parallel ({@link Parallel}).
     */
    public static void gemm(PackedFormat format, int m, int n, int k, MemorySegment panels, long pOff,
                            MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, MemorySegment bias,
                            long bOff, MemorySegment x, long xOff, int ldx, MemorySegment y, long yOff, int ldy) {
        check(format, m, n, k, panels, pOff, groupIds, gOff, scale, sOff, bias, bOff, x, xOff, ldx, y, yOff, ldy);
        if (!VECTOR) {
            QuantPanelsScalar.gemm(format, m, n, k, panels, pOff, groupIds, gOff, scale, sOff, bias, bOff, x, xOff,
                    ldx, y, yOff, ldy);
            return;
        }
        if (m == 0 || n == 0) {
            return;
        }
        int kp = paddedK(k), tiles = (m + TILE_ROWS - 1) / TILE_ROWS;
        float[] pa = packActivations(m, k, kp, x, xOff, ldx);
        long pb = panelBytes(format, k);
        int np = panels(n), per = WIDE ? 2 : 1, units = (np + per - 1) / per;
        // ~2 MFLOP per task at least: below that, waking a thread costs more than it saves
        int grain = (int) Math.max(1, Math.min(units, 1_000_000L / ((long) m * kp * PANEL_ROWS * per)));
        Parallel.forRange(0, units, grain, (lo, hi) -> {
            Scratch s = SCRATCH.get().fit(kp);
            for (int u = lo; u < hi; u++) {
                int p = u * per, r0 = p * PANEL_ROWS;
                if (WIDE) {
                    // an odd last panel pairs with itself (second panel offset 0): rows past n get factors 0 and their
                    // sums are not stored, and no 8-lane kernel runs beside the wide ones (see DS)
                    widePair(format, m, n, kp, tiles, pa, panels, pOff + p * pb, p + 1 < np ? pb : 0, r0, groupIds,
                            gOff, k, scale, sOff, bias, bOff, y, yOff, ldy, s);
                    continue;
                }
                scales(groupIds, gOff, n, k, kp, r0, 2, s.scales);
                for (int t = 0; t < tiles; t++) {
                    for (int h = 0; h < 2 && r0 + h * BLOCK_ROWS < n; h++) {
                        long bb = pOff + p * pb + (format == PackedFormat.Q8 ? 8 : 32) * h;
                        int ab = t * TILE_ROWS * kp;
                        switch (format) {
                            case Q8 -> kernelQ8(kp, pa, ab, panels, bb, s.scales, h, s.tile);
                            case Q4 -> kernelQ4(kp, pa, ab, panels, bb, s.scales, h, s.tile);
                            case Q6 -> kernelQ6(kp, pa, ab, panels, bb, s.scales, h, s.tile);
                        }
                        int c0 = r0 + h * BLOCK_ROWS;
                        store(s.tile, BLOCK_ROWS, Math.min(TILE_ROWS, m - t * TILE_ROWS),
                                Math.min(BLOCK_ROWS, n - c0), scale, sOff + c0, bias, bOff + c0, y,
                                yOff + (long) t * TILE_ROWS * ldy + c0, ldy);
                    }
                }
            }
        });
    }

    /**
     * Two adjacent panels (32 output rows from {@code r0}, the second starting {@code pb} bytes after the first at
     * {@code bb}; {@code pb = 0} for the last panel of an odd count, whose second half is not stored) against every
     * 12-row activation tile, with the 512-bit kernels.
     */
    private static void widePair(PackedFormat format, int m, int n, int kp, int tiles, float[] pa,
                                 MemorySegment panels, long bb, long pb, int r0, MemorySegment groupIds, long gOff,
                                 int k, MemorySegment scale, long sOff, MemorySegment bias, long bOff, MemorySegment y,
                                 long yOff, int ldy, Scratch s) {
        scales(groupIds, gOff, n, k, kp, r0, 4, s.scales);
        for (int t = 0; t < tiles; t++) {
            int ab = t * TILE_ROWS * kp;
            switch (format) {
                case Q8 -> wideQ8(kp, pa, ab, panels, bb, pb, s.scales, s.tile);
                case Q4 -> wideQ4(kp, pa, ab, panels, bb, pb, s.scales, s.tile);
                case Q6 -> wideQ6(kp, pa, ab, panels, bb, pb, s.scales, s.tile);
            }
            store(s.tile, WIDE_COLS, Math.min(TILE_ROWS, m - t * TILE_ROWS), Math.min(WIDE_COLS, n - r0), scale,
                    sOff + r0, bias, bOff + r0, y, yOff + (long) t * TILE_ROWS * ldy + r0, ldy);
        }
    }

    /** Per-thread scratch: the activation panels of the calling thread, a panel's scales, a tile's sums. */
    private static final class Scratch {
        float[] pa = new float[0];
        float[] rows = new float[0];
        float[] scales = new float[0];
        final float[] tile = new float[TILE_ROWS * WIDE_COLS];
        final float[] columns = new float[PANEL_ROWS];

        Scratch fit(int kp) {
            if (scales.length < 4 * kp) {
                scales = new float[4 * kp];
                rows = new float[TILE_ROWS * kp];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * x packed into k-major panels of 12 rows ({@code pa[(t*kp + p)*12 + i] = x[12t + i][p]}, zero for missing
     * rows and for p >= k), in this thread's scratch: a heap array, so that the kernels' 12 activation loads per k
     * are plain array loads (segment loads made the 512-bit kernels big enough for C2 to leave some of their vector
     * operations unintrinsified in some runs, 10x slower). Rows are bulk-copied to a heap array and interleaved.
     */
    private static float[] packActivations(int m, int k, int kp, MemorySegment x, long xOff, int ldx) {
        Scratch s = SCRATCH.get().fit(kp);
        int tiles = (m + TILE_ROWS - 1) / TILE_ROWS;
        if (s.pa.length < tiles * TILE_ROWS * kp) {
            s.pa = new float[tiles * TILE_ROWS * kp];
        }
        float[] rows = s.rows, out = s.pa;
        for (int t = 0; t < tiles; t++) {
            java.util.Arrays.fill(rows, 0f);
            for (int i = 0; i < TILE_ROWS && t * TILE_ROWS + i < m; i++) {
                MemorySegment.copy(x, FLOAT, 4 * (xOff + (long) (t * TILE_ROWS + i) * ldx), rows, i * kp, k);
            }
            for (int i = 0, base = t * TILE_ROWS * kp; i < TILE_ROWS; i++) {
                for (int p = 0, src = i * kp; p < kp; p++) {
                    out[base + p * TILE_ROWS + i] = rows[src + p];
                }
            }
        }
        return out;
    }

    /**
     * {@code sc[h * kp + p] = 2^-g} of the h-th block (h < {@code blocks}) from output row r0, for input p (0 past k
     * or n).
     */
    private static void scales(MemorySegment groupIds, long gOff, int n, int k, int kp, int r0, int blocks,
                               float[] sc) {
        for (int h = 0; h < blocks; h++) {
            int row = r0 + h * BLOCK_ROWS, i = h * kp, end = i + kp;
            if (row < n) {
                // 2^-g built from its exponent field (g <= 31 keeps it normal), 8 group ids at a time: the
                // element-by-element loop was 11-15% of a quantized MiniLM forward
                long g = gOff + (long) (row / BLOCK_ROWS) * k;
                int full = i + (k & -DL);
                for (; i < full; i += DL, g += DL) {
                    ((IntVector) ByteVector.fromMemorySegment(DSB, groupIds, g, ORDER)
                            .convertShape(VectorOperators.B2I, DSI, 0)).neg().add(127)
                            .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats().intoArray(sc, i);
                }
                for (int last = h * kp + k; i < last; i++, g++) {
                    sc[i] = Float.intBitsToFloat((127 - groupIds.get(BYTE, g)) << 23);
                }
            }
            java.util.Arrays.fill(sc, i, end, 0f);
        }
    }

    /**
     * The Q8 micro-kernel: {@code tile[i*8 + c] = sum_p a[i][p] * w[c][p] * 2^-g[p]} for the 12 activation rows of
     * the packed panel at index {@code ab} of {@code pa} and the 8 output rows (one block) whose codes start at byte
     * {@code bb} of {@code pb} (a panel base, plus 8 bytes for the second block in Q8, 32 in Q4 / Q6); the block's
     * factors {@code 2^-g[p]} are {@code sc[h * kp + p]}. One flat loop over k with 12 accumulators (C2 keeps them in
     * registers in a single loop; nested field loops or a format switch inside the loop ran at half speed or less, so
     * each format has its own copy of the loop): per k one weight vector is decoded (as in {@link #decodeQ8}) and
     * serves 12 FMAs.
     */
    private static void kernelQ8(int kp, float[] pa, int ab, MemorySegment pb, long bb, float[] sc, int h,
                                 float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        // the loop walks its code byte offset (offsets computed from p kept a bounds check on every segment load)
        long bo = bb;
        for (int p = h * kp, end = p + kp, ao = ab; p < end; p++, ao += TILE_ROWS, bo += 16) {
            // the code decode is written out in each loop: a helper returning a vector that C2 compiled on its own
            // first ("already compiled into a big method") is not inlined, and then boxes every vector
            IntVector codes = (IntVector) ByteVector.fromMemorySegment(SB, pb, bo, ORDER)
                    .convertShape(VectorOperators.B2I, SI, 0);
            FloatVector b = ((FloatVector) codes.convert(VectorOperators.I2F, 0)).mul(sc[p]);
            c0 = FloatVector.broadcast(S, pa[ao]).fma(b, c0);
            c1 = FloatVector.broadcast(S, pa[ao + 1]).fma(b, c1);
            c2 = FloatVector.broadcast(S, pa[ao + 2]).fma(b, c2);
            c3 = FloatVector.broadcast(S, pa[ao + 3]).fma(b, c3);
            c4 = FloatVector.broadcast(S, pa[ao + 4]).fma(b, c4);
            c5 = FloatVector.broadcast(S, pa[ao + 5]).fma(b, c5);
            c6 = FloatVector.broadcast(S, pa[ao + 6]).fma(b, c6);
            c7 = FloatVector.broadcast(S, pa[ao + 7]).fma(b, c7);
            c8 = FloatVector.broadcast(S, pa[ao + 8]).fma(b, c8);
            c9 = FloatVector.broadcast(S, pa[ao + 9]).fma(b, c9);
            c10 = FloatVector.broadcast(S, pa[ao + 10]).fma(b, c10);
            c11 = FloatVector.broadcast(S, pa[ao + 11]).fma(b, c11);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, 8);
        c2.intoArray(tile, 16);
        c3.intoArray(tile, 24);
        c4.intoArray(tile, 32);
        c5.intoArray(tile, 40);
        c6.intoArray(tile, 48);
        c7.intoArray(tile, 56);
        c8.intoArray(tile, 64);
        c9.intoArray(tile, 72);
        c10.intoArray(tile, 80);
        c11.intoArray(tile, 88);
    }

    /** {@link #kernelQ8} for Q4 (codes as in {@link #decodeQ4}). */
    private static void kernelQ4(int kp, float[] pa, int ab, MemorySegment pb, long bb, float[] sc, int h,
                                 float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int p = 0; p < kp; p++) {
            IntVector codes = IntVector.fromMemorySegment(SI, pb, bb + 64L * (p >>> 3), ORDER)
                    .lanewise(VectorOperators.LSHL, 28 - 4 * (p & 7)).lanewise(VectorOperators.ASHR, 28);
            FloatVector b = ((FloatVector) codes.convert(VectorOperators.I2F, 0)).mul(sc[h * kp + p]);
            int ao = ab + TILE_ROWS * p;
            c0 = FloatVector.broadcast(S, pa[ao]).fma(b, c0);
            c1 = FloatVector.broadcast(S, pa[ao + 1]).fma(b, c1);
            c2 = FloatVector.broadcast(S, pa[ao + 2]).fma(b, c2);
            c3 = FloatVector.broadcast(S, pa[ao + 3]).fma(b, c3);
            c4 = FloatVector.broadcast(S, pa[ao + 4]).fma(b, c4);
            c5 = FloatVector.broadcast(S, pa[ao + 5]).fma(b, c5);
            c6 = FloatVector.broadcast(S, pa[ao + 6]).fma(b, c6);
            c7 = FloatVector.broadcast(S, pa[ao + 7]).fma(b, c7);
            c8 = FloatVector.broadcast(S, pa[ao + 8]).fma(b, c8);
            c9 = FloatVector.broadcast(S, pa[ao + 9]).fma(b, c9);
            c10 = FloatVector.broadcast(S, pa[ao + 10]).fma(b, c10);
            c11 = FloatVector.broadcast(S, pa[ao + 11]).fma(b, c11);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, 8);
        c2.intoArray(tile, 16);
        c3.intoArray(tile, 24);
        c4.intoArray(tile, 32);
        c5.intoArray(tile, 40);
        c6.intoArray(tile, 48);
        c7.intoArray(tile, 56);
        c8.intoArray(tile, 64);
        c9.intoArray(tile, 72);
        c10.intoArray(tile, 80);
        c11.intoArray(tile, 88);
    }

    /** {@link #kernelQ8} for Q6 (codes as in {@link #decodeQ6}). */
    private static void kernelQ6(int kp, float[] pa, int ab, MemorySegment pb, long bb, float[] sc, int h,
                                 float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        for (int p = 0; p < kp; p++) {
            int f = p & 15;
            long gb = bb + 192L * (p >>> 4);
            IntVector codes = IntVector.fromMemorySegment(SI, pb, gb + 128, ORDER)
                    .lanewise(VectorOperators.LSHL, 30 - 2 * f).lanewise(VectorOperators.ASHR, 26).and(~15)
                    .or(IntVector.fromMemorySegment(SI, pb, gb + 64L * (f >>> 3), ORDER)
                            .lanewise(VectorOperators.LSHR, 4 * (f & 7)).and(15));
            FloatVector b = ((FloatVector) codes.convert(VectorOperators.I2F, 0)).mul(sc[h * kp + p]);
            int ao = ab + TILE_ROWS * p;
            c0 = FloatVector.broadcast(S, pa[ao]).fma(b, c0);
            c1 = FloatVector.broadcast(S, pa[ao + 1]).fma(b, c1);
            c2 = FloatVector.broadcast(S, pa[ao + 2]).fma(b, c2);
            c3 = FloatVector.broadcast(S, pa[ao + 3]).fma(b, c3);
            c4 = FloatVector.broadcast(S, pa[ao + 4]).fma(b, c4);
            c5 = FloatVector.broadcast(S, pa[ao + 5]).fma(b, c5);
            c6 = FloatVector.broadcast(S, pa[ao + 6]).fma(b, c6);
            c7 = FloatVector.broadcast(S, pa[ao + 7]).fma(b, c7);
            c8 = FloatVector.broadcast(S, pa[ao + 8]).fma(b, c8);
            c9 = FloatVector.broadcast(S, pa[ao + 9]).fma(b, c9);
            c10 = FloatVector.broadcast(S, pa[ao + 10]).fma(b, c10);
            c11 = FloatVector.broadcast(S, pa[ao + 11]).fma(b, c11);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, 8);
        c2.intoArray(tile, 16);
        c3.intoArray(tile, 24);
        c4.intoArray(tile, 32);
        c5.intoArray(tile, 40);
        c6.intoArray(tile, 48);
        c7.intoArray(tile, 56);
        c8.intoArray(tile, 64);
        c9.intoArray(tile, 72);
        c10.intoArray(tile, 80);
        c11.intoArray(tile, 88);
    }

    /**
     * The 512-bit Q8 micro-kernel: {@code tile[i*32 + c] = sum_p a[i][p] * w[c][p] * 2^-g[c / 8][p]} for the 12
     * activation rows of the packed panel at index {@code ab} of {@code pa} and the 32 output rows of the two panels
     * at bytes {@code bb} and {@code bb + ps} of {@code pb}; the factors of their four blocks are
     * {@code sc[(c / 8) * kp + p]}. Per k each panel gives one 16-lane weight vector (16 codes sign-extended,
     * converted, times its two blocks' factors blended into one vector) and 12 broadcast activations take 24 FMAs:
     * the decode is shared by twice the FMAs of the 8-lane kernels ({@link #kernelQ8}), and the 24 accumulators, two
     * weight vectors and a broadcast fit the 32 zmm registers (see {@link #kernelQ8} for why the loop is flat).
     */
    private static void wideQ8(int kp, float[] pa, int ab, MemorySegment pb, long bb, long ps, float[] sc,
                               float[] tile) {
        FloatVector c0 = FloatVector.zero(WS), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0, d5 = c0;
        FloatVector d6 = c0, d7 = c0, d8 = c0, d9 = c0, d10 = c0, d11 = c0;
        for (int p = 0, ao = ab; p < kp; p++, ao += TILE_ROWS) {
            IntVector i0 = (IntVector) ByteVector.fromMemorySegment(WSB, pb, bb + 16L * p, ORDER)
                    .convertShape(VectorOperators.B2I, WSI, 0);
            IntVector i1 = (IntVector) ByteVector.fromMemorySegment(WSB, pb, bb + ps + 16L * p, ORDER)
                    .convertShape(VectorOperators.B2I, WSI, 0);
            FloatVector b = ((FloatVector) i0.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[p]).blend(sc[kp + p], SECOND_BLOCK));
            FloatVector e = ((FloatVector) i1.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[2 * kp + p]).blend(sc[3 * kp + p], SECOND_BLOCK));
            FloatVector a = FloatVector.broadcast(WS, pa[ao]); c0 = a.fma(b, c0); d0 = a.fma(e, d0);
            a = FloatVector.broadcast(WS, pa[ao + 1]); c1 = a.fma(b, c1); d1 = a.fma(e, d1);
            a = FloatVector.broadcast(WS, pa[ao + 2]); c2 = a.fma(b, c2); d2 = a.fma(e, d2);
            a = FloatVector.broadcast(WS, pa[ao + 3]); c3 = a.fma(b, c3); d3 = a.fma(e, d3);
            a = FloatVector.broadcast(WS, pa[ao + 4]); c4 = a.fma(b, c4); d4 = a.fma(e, d4);
            a = FloatVector.broadcast(WS, pa[ao + 5]); c5 = a.fma(b, c5); d5 = a.fma(e, d5);
            a = FloatVector.broadcast(WS, pa[ao + 6]); c6 = a.fma(b, c6); d6 = a.fma(e, d6);
            a = FloatVector.broadcast(WS, pa[ao + 7]); c7 = a.fma(b, c7); d7 = a.fma(e, d7);
            a = FloatVector.broadcast(WS, pa[ao + 8]); c8 = a.fma(b, c8); d8 = a.fma(e, d8);
            a = FloatVector.broadcast(WS, pa[ao + 9]); c9 = a.fma(b, c9); d9 = a.fma(e, d9);
            a = FloatVector.broadcast(WS, pa[ao + 10]); c10 = a.fma(b, c10); d10 = a.fma(e, d10);
            a = FloatVector.broadcast(WS, pa[ao + 11]); c11 = a.fma(b, c11); d11 = a.fma(e, d11);
        }
        c0.intoArray(tile, 0);
        d0.intoArray(tile, 16);
        c1.intoArray(tile, 32);
        d1.intoArray(tile, 48);
        c2.intoArray(tile, 64);
        d2.intoArray(tile, 80);
        c3.intoArray(tile, 96);
        d3.intoArray(tile, 112);
        c4.intoArray(tile, 128);
        d4.intoArray(tile, 144);
        c5.intoArray(tile, 160);
        d5.intoArray(tile, 176);
        c6.intoArray(tile, 192);
        d6.intoArray(tile, 208);
        c7.intoArray(tile, 224);
        d7.intoArray(tile, 240);
        c8.intoArray(tile, 256);
        d8.intoArray(tile, 272);
        c9.intoArray(tile, 288);
        d9.intoArray(tile, 304);
        c10.intoArray(tile, 320);
        d10.intoArray(tile, 336);
        c11.intoArray(tile, 352);
        d11.intoArray(tile, 368);
    }

    /**
     * {@link #wideQ8} for Q4: one word step holds all 16 rows of a panel, one 512-bit load (as in {@link #decodeQ4}).
     */
    private static void wideQ4(int kp, float[] pa, int ab, MemorySegment pb, long bb, long ps, float[] sc,
                               float[] tile) {
        FloatVector c0 = FloatVector.zero(WS), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0, d5 = c0;
        FloatVector d6 = c0, d7 = c0, d8 = c0, d9 = c0, d10 = c0, d11 = c0;
        for (int p = 0, ao = ab; p < kp; p++, ao += TILE_ROWS) {
            IntVector shift = IntVector.fromArray(WSI, Q4_SHIFTS, WSI.length() * (p & 7));
            long w = bb + 64L * (p >>> 3);
            IntVector i0 = IntVector.fromMemorySegment(WSI, pb, w, ORDER)
                    .lanewise(VectorOperators.LSHL, shift).lanewise(VectorOperators.ASHR, 28);
            IntVector i1 = IntVector.fromMemorySegment(WSI, pb, w + ps, ORDER)
                    .lanewise(VectorOperators.LSHL, shift).lanewise(VectorOperators.ASHR, 28);
            FloatVector b = ((FloatVector) i0.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[p]).blend(sc[kp + p], SECOND_BLOCK));
            FloatVector e = ((FloatVector) i1.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[2 * kp + p]).blend(sc[3 * kp + p], SECOND_BLOCK));
            FloatVector a = FloatVector.broadcast(WS, pa[ao]); c0 = a.fma(b, c0); d0 = a.fma(e, d0);
            a = FloatVector.broadcast(WS, pa[ao + 1]); c1 = a.fma(b, c1); d1 = a.fma(e, d1);
            a = FloatVector.broadcast(WS, pa[ao + 2]); c2 = a.fma(b, c2); d2 = a.fma(e, d2);
            a = FloatVector.broadcast(WS, pa[ao + 3]); c3 = a.fma(b, c3); d3 = a.fma(e, d3);
            a = FloatVector.broadcast(WS, pa[ao + 4]); c4 = a.fma(b, c4); d4 = a.fma(e, d4);
            a = FloatVector.broadcast(WS, pa[ao + 5]); c5 = a.fma(b, c5); d5 = a.fma(e, d5);
            a = FloatVector.broadcast(WS, pa[ao + 6]); c6 = a.fma(b, c6); d6 = a.fma(e, d6);
            a = FloatVector.broadcast(WS, pa[ao + 7]); c7 = a.fma(b, c7); d7 = a.fma(e, d7);
            a = FloatVector.broadcast(WS, pa[ao + 8]); c8 = a.fma(b, c8); d8 = a.fma(e, d8);
            a = FloatVector.broadcast(WS, pa[ao + 9]); c9 = a.fma(b, c9); d9 = a.fma(e, d9);
            a = FloatVector.broadcast(WS, pa[ao + 10]); c10 = a.fma(b, c10); d10 = a.fma(e, d10);
            a = FloatVector.broadcast(WS, pa[ao + 11]); c11 = a.fma(b, c11); d11 = a.fma(e, d11);
        }
        c0.intoArray(tile, 0);
        d0.intoArray(tile, 16);
        c1.intoArray(tile, 32);
        d1.intoArray(tile, 48);
        c2.intoArray(tile, 64);
        d2.intoArray(tile, 80);
        c3.intoArray(tile, 96);
        d3.intoArray(tile, 112);
        c4.intoArray(tile, 128);
        d4.intoArray(tile, 144);
        c5.intoArray(tile, 160);
        d5.intoArray(tile, 176);
        c6.intoArray(tile, 192);
        d6.intoArray(tile, 208);
        c7.intoArray(tile, 224);
        d7.intoArray(tile, 240);
        c8.intoArray(tile, 256);
        d8.intoArray(tile, 272);
        c9.intoArray(tile, 288);
        d9.intoArray(tile, 304);
        c10.intoArray(tile, 320);
        d10.intoArray(tile, 336);
        c11.intoArray(tile, 352);
        d11.intoArray(tile, 368);
    }

    /** {@link #wideQ8} for Q6 (fields as in {@link #decodeQ6}, all 16 rows of a panel in one 512-bit word vector). */
    private static void wideQ6(int kp, float[] pa, int ab, MemorySegment pb, long bb, long ps, float[] sc,
                               float[] tile) {
        FloatVector c0 = FloatVector.zero(WS), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
        FloatVector c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
        FloatVector d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0, d5 = c0;
        FloatVector d6 = c0, d7 = c0, d8 = c0, d9 = c0, d10 = c0, d11 = c0;
        for (int p = 0, ao = ab; p < kp; p++, ao += TILE_ROWS) {
            int f = p & 15;
            IntVector hi = IntVector.fromArray(WSI, Q6_HIGH_SHIFTS, WSI.length() * f);
            IntVector lo = IntVector.fromArray(WSI, Q6_LOW_SHIFTS, WSI.length() * f);
            long gb = bb + 192L * (p >>> 4), lw = gb + 64L * (f >>> 3);
            IntVector i0 = IntVector.fromMemorySegment(WSI, pb, gb + 128, ORDER)
                    .lanewise(VectorOperators.LSHL, hi).lanewise(VectorOperators.ASHR, 26).and(~15)
                    .or(IntVector.fromMemorySegment(WSI, pb, lw, ORDER).lanewise(VectorOperators.LSHR, lo).and(15));
            IntVector i1 = IntVector.fromMemorySegment(WSI, pb, gb + ps + 128, ORDER)
                    .lanewise(VectorOperators.LSHL, hi).lanewise(VectorOperators.ASHR, 26).and(~15)
                    .or(IntVector.fromMemorySegment(WSI, pb, lw + ps, ORDER)
                            .lanewise(VectorOperators.LSHR, lo).and(15));
            FloatVector b = ((FloatVector) i0.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[p]).blend(sc[kp + p], SECOND_BLOCK));
            FloatVector e = ((FloatVector) i1.convert(VectorOperators.I2F, 0))
                    .mul(FloatVector.broadcast(WS, sc[2 * kp + p]).blend(sc[3 * kp + p], SECOND_BLOCK));
            FloatVector a = FloatVector.broadcast(WS, pa[ao]); c0 = a.fma(b, c0); d0 = a.fma(e, d0);
            a = FloatVector.broadcast(WS, pa[ao + 1]); c1 = a.fma(b, c1); d1 = a.fma(e, d1);
            a = FloatVector.broadcast(WS, pa[ao + 2]); c2 = a.fma(b, c2); d2 = a.fma(e, d2);
            a = FloatVector.broadcast(WS, pa[ao + 3]); c3 = a.fma(b, c3); d3 = a.fma(e, d3);
            a = FloatVector.broadcast(WS, pa[ao + 4]); c4 = a.fma(b, c4); d4 = a.fma(e, d4);
            a = FloatVector.broadcast(WS, pa[ao + 5]); c5 = a.fma(b, c5); d5 = a.fma(e, d5);
            a = FloatVector.broadcast(WS, pa[ao + 6]); c6 = a.fma(b, c6); d6 = a.fma(e, d6);
            a = FloatVector.broadcast(WS, pa[ao + 7]); c7 = a.fma(b, c7); d7 = a.fma(e, d7);
            a = FloatVector.broadcast(WS, pa[ao + 8]); c8 = a.fma(b, c8); d8 = a.fma(e, d8);
            a = FloatVector.broadcast(WS, pa[ao + 9]); c9 = a.fma(b, c9); d9 = a.fma(e, d9);
            a = FloatVector.broadcast(WS, pa[ao + 10]); c10 = a.fma(b, c10); d10 = a.fma(e, d10);
            a = FloatVector.broadcast(WS, pa[ao + 11]); c11 = a.fma(b, c11); d11 = a.fma(e, d11);
        }
        c0.intoArray(tile, 0);
        d0.intoArray(tile, 16);
        c1.intoArray(tile, 32);
        d1.intoArray(tile, 48);
        c2.intoArray(tile, 64);
        d2.intoArray(tile, 80);
        c3.intoArray(tile, 96);
        d3.intoArray(tile, 112);
        c4.intoArray(tile, 128);
        d4.intoArray(tile, 144);
        c5.intoArray(tile, 160);
        d5.intoArray(tile, 176);
        c6.intoArray(tile, 192);
        d6.intoArray(tile, 208);
        c7.intoArray(tile, 224);
        d7.intoArray(tile, 240);
        c8.intoArray(tile, 256);
        d8.intoArray(tile, 272);
        c9.intoArray(tile, 288);
        d9.intoArray(tile, 304);
        c10.intoArray(tile, 320);
        d10.intoArray(tile, 336);
        c11.intoArray(tile, 352);
        d11.intoArray(tile, 368);
    }

    /**
     * Panel {@code panel} of the layout decoded to F32, k-major, 16 values per row:
     * {@link #decode(PackedFormat, int, int, MemorySegment, long, MemorySegment, long, MemorySegment, long, int,
     * float[], int, int)} with {@code ldd = 16}, a {@link org.nibble.kernels.GemmF32} packed-B panel when its NR is 16.
     */
    public static void decode(PackedFormat format, int n, int k, MemorySegment panels, long pOff,
                              MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, int panel, float[] dst,
                              int dOff) {
        decode(format, n, k, panels, pOff, groupIds, gOff, scale, sOff, panel, dst, dOff, PANEL_ROWS);
    }

    /**
     * Panel {@code panel} of the layout decoded to F32, k-major with row stride {@code ldd >= 16}:
     * {@code dst[dOff + p*ldd + j] = code(r, p) * 2^-g[r/8][p] * scale[r]} for r = 16 * panel + j, j < 16, p < k (0
     * for rows past n); the other {@code ldd - 16} values of each row are not touched. With {@code ldd} a GEMM
     * panel width NR (a multiple of 16) and {@code dOff} the panel's place in it, NR / 16 calls fill one
     * {@link org.nibble.kernels.GemmF32} packed-B panel. Arguments as in {@link #gemm}.
     */
    public static void decode(PackedFormat format, int n, int k, MemorySegment panels, long pOff,
                              MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, int panel, float[] dst,
                              int dOff, int ldd) {
        checkDecode(format, n, k, panels, pOff, groupIds, gOff, scale, sOff, panel, dst, dOff, ldd);
        if (!VECTOR) {
            QuantPanelsScalar.decode(format, n, k, panels, pOff, groupIds, gOff, scale, sOff, panel, dst, dOff, ldd);
            return;
        }
        int r0 = panel * PANEL_ROWS, kp = paddedK(k);
        float[] sc = SCRATCH.get().fit(kp).scales;
        scales(groupIds, gOff, n, k, kp, r0, 2, sc);
        // the panel's 16 column scales, 0 past n, copied element by element: plain vector loads in the loops below
        // (no masked load with a per-panel mask)
        float[] col = SCRATCH.get().columns;
        for (int j = 0; j < PANEL_ROWS; j++) {
            col[j] = r0 + j < n ? scale.getAtIndex(FLOAT, sOff + r0 + j) : 0f;
        }
        long pb = pOff + panel * panelBytes(format, k);
        // one method per format: a switch inside the loop merges vectors from its branches (C2 boxes them), and one
        // method for all formats compiles with whichever formats ran first (a later one deoptimized it to 2x slower)
        switch (format) {
            case Q8 -> decodeQ8(k, kp, panels, pb, sc, col, dst, dOff, ldd);
            case Q4 -> decodeQ4(k, kp, panels, pb, sc, col, dst, dOff, ldd);
            case Q6 -> decodeQ6(k, kp, panels, pb, sc, col, dst, dOff, ldd);
        }
    }

    // Both blocks of a panel: dst[d + ldd*p + j] = code(j, p) * sc[(j / 8) * kp + p] * col[j] (col: the panel's column
    // scales, 0 past n), DL lanes at a time: one 16-lane vector per k with 512-bit vectors (its scale vector blends the
    // two blocks' factors, as in wideQ8), else one 8-lane vector per block. The shift counts come from the tables the
    // wide kernels use; each loop writes its code decode out (see kernelQ8).

    private static void decodeQ8(int k, int kp, MemorySegment pb, long bb, float[] sc, float[] col, float[] dst,
                                 int d, int ldd) {
        for (int p = 0; p < k; p++) {
            int o = d + p * ldd;
            for (int h = 0; h < PANEL_ROWS; h += DL) {
                IntVector c = (IntVector) ByteVector.fromMemorySegment(DSB, pb, bb + 16L * p + h, ORDER)
                        .convertShape(VectorOperators.B2I, DSI, 0);
                FloatVector s = WIDE ? FloatVector.broadcast(DS, sc[p]).blend(sc[kp + p], SECOND_BLOCK)
                        : FloatVector.broadcast(DS, sc[(h / BLOCK_ROWS) * kp + p]);
                ((FloatVector) c.convert(VectorOperators.I2F, 0)).mul(s).mul(FloatVector.fromArray(DS, col, h))
                        .intoArray(dst, o + h);
            }
        }
    }

    /** Q4: nibble p % 8 of the words of step p / 8, shifted to the top, then down (signed). */
    private static void decodeQ4(int k, int kp, MemorySegment pb, long bb, float[] sc, float[] col, float[] dst,
                                 int d, int ldd) {
        for (int p = 0; p < k; p++) {
            int o = d + p * ldd;
            IntVector shift = IntVector.fromArray(DSI, Q4_SHIFTS, PANEL_ROWS * (p & 7));
            long w = bb + 64L * (p >>> 3);
            for (int h = 0; h < PANEL_ROWS; h += DL) {
                IntVector c = IntVector.fromMemorySegment(DSI, pb, w + 4L * h, ORDER)
                        .lanewise(VectorOperators.LSHL, shift).lanewise(VectorOperators.ASHR, 28);
                FloatVector s = WIDE ? FloatVector.broadcast(DS, sc[p]).blend(sc[kp + p], SECOND_BLOCK)
                        : FloatVector.broadcast(DS, sc[(h / BLOCK_ROWS) * kp + p]);
                ((FloatVector) c.convert(VectorOperators.I2F, 0)).mul(s).mul(FloatVector.fromArray(DS, col, h))
                        .intoArray(dst, o + h);
            }
        }
    }

    /**
     * Q6: field f = p % 16 of group p / 16 is {@code ((H << (30 - 2f)) >> 26) & ~15} (the signed high bits times 16,
     * from the group's third step) or'ed with {@code (L >>> 4(f % 8)) & 15} (the low nibble, from step f / 8).
     */
    private static void decodeQ6(int k, int kp, MemorySegment pb, long bb, float[] sc, float[] col, float[] dst,
                                 int d, int ldd) {
        for (int p = 0; p < k; p++) {
            int o = d + p * ldd, f = p & 15;
            IntVector hi = IntVector.fromArray(DSI, Q6_HIGH_SHIFTS, PANEL_ROWS * f);
            IntVector lo = IntVector.fromArray(DSI, Q6_LOW_SHIFTS, PANEL_ROWS * f);
            long gb = bb + 192L * (p >>> 4), lw = gb + 64L * (f >>> 3);
            for (int h = 0; h < PANEL_ROWS; h += DL) {
                IntVector c = IntVector.fromMemorySegment(DSI, pb, gb + 128 + 4L * h, ORDER)
                        .lanewise(VectorOperators.LSHL, hi).lanewise(VectorOperators.ASHR, 26).and(~15)
                        .or(IntVector.fromMemorySegment(DSI, pb, lw + 4L * h, ORDER)
                                .lanewise(VectorOperators.LSHR, lo).and(15));
                FloatVector s = WIDE ? FloatVector.broadcast(DS, sc[p]).blend(sc[kp + p], SECOND_BLOCK)
                        : FloatVector.broadcast(DS, sc[(h / BLOCK_ROWS) * kp + p]);
                ((FloatVector) c.convert(VectorOperators.I2F, 0)).mul(s).mul(FloatVector.fromArray(DS, col, h))
                        .intoArray(dst, o + h);
            }
        }
    }

    static void checkDecode(PackedFormat format, int n, int k, MemorySegment panels, long pOff,
                            MemorySegment groupIds, long gOff, MemorySegment scale, long sOff, int panel, float[] dst,
                            int dOff, int ldd) {
        check(format, 0, n, k, panels, pOff, groupIds, gOff, scale, sOff, null, 0, MemorySegment.NULL, 0, k,
                MemorySegment.NULL, 0, n);
        java.util.Objects.checkIndex(panel, panels(n));
        if (ldd < PANEL_ROWS) {
            throw new IllegalArgumentException("ldd: expected a row stride >= " + PANEL_ROWS + ", got " + ldd);
        }
        if (dst == null) {
            throw new NullPointerException("dst is null");
        }
        long extent = k == 0 ? 0 : (long) (k - 1) * ldd + PANEL_ROWS;
        if (dOff < 0 || dOff + extent > dst.length) {
            throw new IndexOutOfBoundsException("dst: elements [" + dOff + ", " + (dOff + extent) + ") of a decoded "
                    + "panel (k = " + k + ", ldd = " + ldd + ") exceed its length " + dst.length);
        }
    }

    /**
     * y[i][c] = tile[i*width + c] * scale[c] + bias[c] for the valid rows and columns (at most {@code width}) of a
     * tile.
     */
    private static void store(float[] tile, int width, int rows, int cols, MemorySegment scale, long sOff,
                              MemorySegment bias, long bOff, MemorySegment y, long yOff, int ldy) {
        for (int i = 0; i < rows; i++) {
            long yr = yOff + (long) i * ldy;
            int c = 0;
            for (; c + DL <= cols; c += DL) {
                FloatVector v = FloatVector.fromArray(DS, tile, i * width + c)
                        .mul(FloatVector.fromMemorySegment(DS, scale, 4 * (sOff + c), ORDER));
                if (bias != null) {
                    v = v.add(FloatVector.fromMemorySegment(DS, bias, 4 * (bOff + c), ORDER));
                }
                v.intoMemorySegment(y, 4 * (yr + c), ORDER);
            }
            for (; c < cols; c++) {
                float v = tile[i * width + c] * scale.getAtIndex(FLOAT, sOff + c);
                y.setAtIndex(FLOAT, yr + c, bias != null ? v + bias.getAtIndex(FLOAT, bOff + c) : v);
            }
        }
    }
}
