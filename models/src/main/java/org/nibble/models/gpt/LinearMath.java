package org.nibble.models.gpt;

import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;
import org.nibble.kernels.quant.ShiftLinear;

/**
 * The three matmuls of a {@link Linear} layer {@code Y = X W^T + b} (X: N x in, W: out x in, Y: N x out), as a
 * pluggable strategy. This is where ShiftQuant training plugs in (papers.md 1.5 table): an implementation runs
 * the forward, input-gradient and weight-gradient products as ShiftMM integer GEMMs on quantized operands, while the
 * master weights, bias and gradients stay FP32.
 *
 * <p>{@link #FP32} is the full-precision implementation.
 */
public interface LinearMath {
    /** {@code y = x w^T} (N x out), overwriting y. Bias is added by the caller. */
    void forward(int n, int in, int out, Tensor x, Tensor w, Tensor y);

    /** {@code dx = dy w} (N x in), overwriting dx; {@code seed} drives any stochastic rounding of dy. */
    void backwardInput(int n, int in, int out, Tensor dy, Tensor w, Tensor dx, long seed);

    /**
     * {@code dw += dy^T x} (out x in), accumulating; {@code seed} drives any stochastic rounding of dy; scratch
     * lives in {@code step}.
     */
    void backwardWeight(int n, int in, int out, Tensor dy, Tensor x, Tensor dw, long seed, Scope step);

    /** Short label for logs and tables, e.g. {@code fp32} or {@code shiftquant-6}. */
    String label();

    /** Full-precision FP32 matmuls through {@link Ops#gemm}. */
    LinearMath FP32 = new LinearMath() {
        @Override
        public void forward(int n, int in, int out, Tensor x, Tensor w, Tensor y) {
            Ops.gemm(false, true, n, out, in, 1f, x.segment(), x.offset(), in, w.segment(), w.offset(), in,
                    0f, y.segment(), y.offset(), out);
        }

        @Override
        public void backwardInput(int n, int in, int out, Tensor dy, Tensor w, Tensor dx, long seed) {
            Ops.gemm(false, false, n, in, out, 1f, dy.segment(), dy.offset(), out, w.segment(), w.offset(), in,
                    0f, dx.segment(), dx.offset(), in);
        }

        @Override
        public void backwardWeight(int n, int in, int out, Tensor dy, Tensor x, Tensor dw, long seed, Scope step) {
            Ops.gemm(true, false, out, in, n, 1f, dy.segment(), dy.offset(), out, x.segment(), x.offset(), in,
                    1f, dw.segment(), dw.offset(), in);
        }

        @Override
        public String label() {
            return "fp32";
        }
    };

    /**
     * The implementation for a bit width: 32 is {@link #FP32}; 4, 6 and 8 select ShiftQuant training
     * ({@link ShiftQuantMath}) with {@link ShiftQuantMath#defaultGroups(int)} shift groups; {@code gradBits} (0 = same)
     * is the width of the two backward matmuls.
     */
    static LinearMath forBits(int bits, int gradBits) {
        if (bits == 32) {
            return FP32;
        }
        int gb = gradBits == 0 ? bits : gradBits;
        if ((bits == 4 || bits == 6 || bits == 8) && (gb == 4 || gb == 6 || gb == 8)) {
            return new ShiftQuantMath(bits, ShiftQuantMath.defaultGroups(bits), gb, ShiftQuantMath.defaultGroups(gb));
        }
        throw new IllegalArgumentException("bits: expected 32 (FP32) or 4, 6, 8 (ShiftQuant), got " + bits);
    }

    /**
     * ShiftQuant training (papers.md 1.3-1.5) through the fused {@link ShiftLinear} kernels: forward {@code X W^T}
     * with X and W grouped along Cin, round-to-nearest; {@code dX = dY W} with dY grouped along Cout, stochastic
     * rounding; {@code dW = dY^T X} with dY grouped along N, stochastic rounding. Exact int32 accumulation, one
     * float epilogue scale; master weights and gradients stay FP32. Gradients flow straight through the forward
     * quantizers (STE).
     *
     * @param bits       code width of the forward matmul (4, 6 or 8)
     * @param groups     its shift groups G (pre-shifted codes must fit int8: {@code qmax 2^(G-1) <= 127})
     * @param gradBits   code width of the input- and weight-gradient matmuls
     * @param gradGroups their shift groups
     */
    record ShiftQuantMath(int bits, int groups, int gradBits, int gradGroups) implements LinearMath {
        /** papers.md 1.3 recommendation: b=4 -> G=4, b=6 -> G=3, b=8 -> G=1. */
        static int defaultGroups(int bits) {
            return switch (bits) {
                case 4 -> 4;
                case 6 -> 3;
                case 8 -> 1;
                default -> throw new IllegalArgumentException("bits: expected 4, 6 or 8, got " + bits);
            };
        }

        @Override
        public void forward(int n, int in, int out, Tensor x, Tensor w, Tensor y) {
            ShiftLinear.forward(n, in, out, x.segment(), x.offset(), w.segment(), w.offset(), bits, groups,
                    y.segment(), y.offset());
        }

        @Override
        public void backwardInput(int n, int in, int out, Tensor dy, Tensor w, Tensor dx, long seed) {
            ShiftLinear.inputGrad(n, in, out, dy.segment(), dy.offset(), w.segment(), w.offset(), gradBits,
                    gradGroups, seed, dx.segment(), dx.offset());
        }

        @Override
        public void backwardWeight(int n, int in, int out, Tensor dy, Tensor x, Tensor dw, long seed, Scope step) {
            Tensor tmp = step.zeros(org.nibble.engine.DType.F32, out, in);
            ShiftLinear.weightGrad(n, in, out, dy.segment(), dy.offset(), x.segment(), x.offset(), gradBits,
                    gradGroups, seed, tmp.segment(), 0);
            Ops.addInto(out * in, tmp.segment(), 0, dw.segment(), dw.offset());
        }

        @Override
        public String label() {
            return "shiftquant-" + bits + (gradBits == bits ? "" : "/grad-" + gradBits);
        }
    }
}
