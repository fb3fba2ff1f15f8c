package org.nibble.kernels.quant;

/**
 * Which axis of a row-major matrix is the contraction axis K of the GEMM that consumes it, i.e. which index owns a
 * group id ("channel"). The range of channel {@code k} is the max |x| over the other axis (papers.md 1.3, 1.5).
 */
public enum ChannelAxis {
    /** One group id per column; ranges are column maxima. X and W in {@code Y = X W^T}, dY in {@code dX = dY W}. */
    COLUMNS,
    /** One group id per row; ranges are row maxima. W in {@code dX = dY W}; dY and X in {@code dW = dY^T X}. */
    ROWS
}
