package org.nibble.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Per-thread native scratch for the last, partial vector of an elementwise kernel: the tail elements are copied in
 * (zero padded), the kernel's own full-vector loop runs on the scratch, and the results are copied out. The vector
 * function is thus compiled once per kernel (no masked duplicate of the loop body, which would double C2's node count
 * and push heavy functions past its inlining cutoff), the tail gets bit-identical results to the body, and no access
 * leaves the caller's range. Native (not heap) segments keep the access profile of the kernels monomorphic.
 */
final class Tail {
    private Tail() {
    }

    /** Floats per operand slot: one 512-bit vector is 16 floats. */
    static final int SLOT = 16;

    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(4L * 3 * SLOT, 64));

    /** Scratch with {@code src[from..to)} (byte base {@code sb}) copied into slot {@code slot}, rest zero. */
    static MemorySegment scratch() {
        return SCRATCH.get();
    }

    /** Copies floats {@code [from, to)} of {@code src} (byte base {@code sb}) to slot {@code slot}, zero padded. */
    static void in(MemorySegment t, int slot, MemorySegment src, long sb, int from, int to) {
        long base = 4L * slot * SLOT;
        t.asSlice(base, 4L * SLOT).fill((byte) 0);
        MemorySegment.copy(src, FLOAT, sb + 4L * from, t, FLOAT, base, to - from);
    }

    /** Copies {@code to - from} floats of slot {@code slot} back to {@code dst} at element {@code from}. */
    static void out(MemorySegment t, int slot, MemorySegment dst, long db, int from, int to) {
        MemorySegment.copy(t, FLOAT, 4L * slot * SLOT, dst, FLOAT, db + 4L * from, to - from);
    }
}
