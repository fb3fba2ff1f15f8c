package org.nibble.kernels.quant;

import org.nibble.kernels.Checks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The fused quantize -> ShiftMM -> dequantize path of a Linear layer {@code Y = X W^T} (X: n x cin, W: cout x cin,
 * all F32 row-major and contiguous), with the operand groupings and roundings of papers.md 1.5:
 * <pre>
 * forward    Y  = X  W^T   X along Cin (RN),        W along Cin (RN)            ShiftMM.Layout.FORWARD
 * input grad dX = dY W     dY along Cout (SR),      W along Cout, per row (RN)  ShiftMM.Layout.INPUT_GRAD
 * weight grad dW = dY^T X  dY along N, per sample (SR), X along N (RN)          ShiftMM.Layout.WEIGHT_GRAD
 * </pre>
 * Each operand is ShiftQuant-ized into a pre-shifted int8 container (so {@code bits}/{@code groups} must satisfy
 * {@code qmax * 2^(G-1) <= 127}), multiplied with exact int32 accumulation, and scaled once by
 * {@link ShiftMM#epilogueScale}. The int8 operands live in a grow-only scratch of the calling thread.
 * {@link ShiftLinearScalar} is the twin built from the scalar quantizer and GEMM; results are bit-identical.
 */
public final class ShiftLinear {
    private ShiftLinear() {
    }

    /** {@code y (n x cout) = X W^T}, both operands quantized round-to-nearest-even. */
    public static void forward(int n, int cin, int cout, MemorySegment x, long xOff, MemorySegment w, long wOff,
                               int bits, int groups, MemorySegment y, long yOff) {
        run(false, 0, n, cin, cout, x, xOff, w, wOff, bits, groups, 0, y, yOff);
    }

    /** {@code dx (n x cin) = dY W}; dY stochastically rounded with {@code seed}. */
    public static void inputGrad(int n, int cin, int cout, MemorySegment dy, long dyOff, MemorySegment w, long wOff,
                                 int bits, int groups, long seed, MemorySegment dx, long dxOff) {
        run(false, 1, n, cin, cout, dy, dyOff, w, wOff, bits, groups, seed, dx, dxOff);
    }

    /** {@code dw (cout x cin) = dY^T X}; dY stochastically rounded with {@code seed}. */
    public static void weightGrad(int n, int cin, int cout, MemorySegment dy, long dyOff, MemorySegment x, long xOff,
                                  int bits, int groups, long seed, MemorySegment dw, long dwOff) {
        run(false, 2, n, cin, cout, dy, dyOff, x, xOff, bits, groups, seed, dw, dwOff);
    }

    private static final ThreadLocal<MemorySegment[]> SCRATCH = ThreadLocal.withInitial(() -> new MemorySegment[2]);

    /** Grow-only native scratch (shared arena, so pool threads may read it), freed when the thread's GC'd. */
    static MemorySegment scratch(int slot, long bytes) {
        MemorySegment[] s = SCRATCH.get();
        if (s[slot] == null || s[slot].byteSize() < bytes) {
            s[slot] = Arena.ofAuto().allocate(Math.max(64, bytes), 64);
        }
        return s[slot];
    }

    /**
     * Shared body of both twins. {@code op}: 0 forward (p = x, q = w), 1 input grad (p = dy, q = w), 2 weight grad
     * (p = dy, q = x).
     */
    static void run(boolean scalar, int op, int n, int cin, int cout, MemorySegment p, long pOff, MemorySegment q,
                    long qOff, int bits, int groups, long seed, MemorySegment out, long outOff) {
        Checks.checkCount("n", n);
        Checks.checkCount("cin", cin);
        Checks.checkCount("cout", cout);
        QuantSupport.checkSpec(bits, groups, true);
        // operand shapes (rows x cols) and groupings per papers.md 1.5
        int pr = n, pc = op == 0 ? cin : cout;
        int qr = op == 2 ? n : cout, qc = cin;
        ChannelAxis pAxis = op == 2 ? ChannelAxis.ROWS : ChannelAxis.COLUMNS;
        ChannelAxis qAxis = op == 0 ? ChannelAxis.COLUMNS : ChannelAxis.ROWS;
        Rounding pRound = op == 0 ? Rounding.NEAREST_EVEN : Rounding.STOCHASTIC;
        String pName = op == 0 ? "x" : "dy", qName = op == 2 ? "x" : "w";
        MemorySegment qp = scratch(0, (long) pr * pc), qq = scratch(1, (long) qr * qc);
        MemorySegment gp = MemorySegment.ofArray(new byte[Math.max(pr, pc)]);
        MemorySegment gq = MemorySegment.ofArray(new byte[Math.max(qr, qc)]);
        float sp, sq;
        if (scalar) {
            sp = ShiftQuantScalar.quantize(pName, p, pOff, pr, pc, pc, pAxis, bits, groups, pRound, seed, true, qp, 0,
                    pc, gp, 0);
            sq = ShiftQuantScalar.quantize(qName, q, qOff, qr, qc, qc, qAxis, bits, groups, Rounding.NEAREST_EVEN,
                    seed, true, qq, 0, qc, gq, 0);
        } else {
            sp = ShiftQuant.quantize(pName, p, pOff, pr, pc, pc, pAxis, bits, groups, pRound, seed, true, qp, 0, pc,
                    gp, 0);
            sq = ShiftQuant.quantize(qName, q, qOff, qr, qc, qc, qAxis, bits, groups, Rounding.NEAREST_EVEN, seed,
                    true, qq, 0, qc, gq, 0);
        }
        double alpha = ShiftMM.epilogueScale(sp, groups, sq, groups);
        ShiftMM.Layout layout = op == 0 ? ShiftMM.Layout.FORWARD : op == 1 ? ShiftMM.Layout.INPUT_GRAD
                : ShiftMM.Layout.WEIGHT_GRAD;
        int m = op == 2 ? cout : n, nn = op == 0 ? cout : cin, k = op == 0 ? cin : op == 1 ? cout : n;
        if (scalar) {
            ShiftMMScalar.gemm(layout, m, nn, k, alpha, qp, 0, pc, qq, 0, qc, out, outOff, nn);
        } else {
            ShiftMM.gemm(layout, m, nn, k, alpha, qp, 0, pc, qq, 0, qc, out, outOff, nn);
        }
    }
}
