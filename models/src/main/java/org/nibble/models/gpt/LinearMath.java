package org.nibble.models.gpt;

import org.nibble.engine.Tensor;

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

    /** {@code dx = dy w} (N x in), overwriting dx. */
    void backwardInput(int n, int in, int out, Tensor dy, Tensor w, Tensor dx);

    /** {@code dw += dy^T x} (out x in), accumulating. */
    void backwardWeight(int n, int in, int out, Tensor dy, Tensor x, Tensor dw);

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
        public void backwardInput(int n, int in, int out, Tensor dy, Tensor w, Tensor dx) {
            Ops.gemm(false, false, n, in, out, 1f, dy.segment(), dy.offset(), out, w.segment(), w.offset(), in,
                    0f, dx.segment(), dx.offset(), in);
        }

        @Override
        public void backwardWeight(int n, int in, int out, Tensor dy, Tensor x, Tensor dw) {
            Ops.gemm(true, false, out, in, n, 1f, dy.segment(), dy.offset(), out, x.segment(), x.offset(), in,
                    1f, dw.segment(), dw.offset(), in);
        }

        @Override
        public String label() {
            return "fp32";
        }
    };

    /**
     * The implementation for a bit width: 32 is {@link #FP32}; 4, 6 and 8 select ShiftQuant training, which needs
     * the ShiftMM kernels ({@code org.nibble.kernels.quant}).
     */
    static LinearMath forBits(int bits, long seed) {
        if (bits == 32) {
            return FP32;
        }
        if (bits == 4 || bits == 6 || bits == 8) {
            throw new UnsupportedOperationException("bits=" + bits + ": ShiftQuant training needs the ShiftMM kernels "
                    + "(org.nibble.kernels.quant), not yet available in this build; use bits=32");
        }
        throw new IllegalArgumentException("bits: expected 32 (FP32) or 4, 6, 8 (ShiftQuant), got " + bits);
    }
}
