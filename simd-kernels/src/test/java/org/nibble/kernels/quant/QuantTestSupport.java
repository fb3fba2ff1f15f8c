package org.nibble.kernels.quant;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.nibble.kernels.Simd.BYTE;
import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/** Off-heap test buffers (shared arena: the Parallel pool reads them) and array conversions. */
final class QuantTestSupport {
    private QuantTestSupport() {
    }

    static final Arena ARENA = Arena.ofAuto();

    static MemorySegment floats(float... v) {
        MemorySegment s = ARENA.allocate(Math.max(4, 4L * v.length), 64);
        MemorySegment.copy(v, 0, s, FLOAT, 0, v.length);
        return s;
    }

    static MemorySegment bytes(int... v) {
        MemorySegment s = ARENA.allocate(Math.max(1, v.length), 64);
        for (int i = 0; i < v.length; i++) {
            s.set(BYTE, i, (byte) v[i]);
        }
        return s;
    }

    static MemorySegment alloc(long bytes) {
        return ARENA.allocate(Math.max(1, bytes), 64);
    }

    static byte[] toBytes(MemorySegment s, long n) {
        byte[] b = new byte[(int) n];
        MemorySegment.copy(s, BYTE, 0, b, 0, (int) n);
        return b;
    }

    static float[] toFloats(MemorySegment s, long n) {
        float[] f = new float[(int) n];
        MemorySegment.copy(s, FLOAT, 0, f, 0, (int) n);
        return f;
    }

    static int[] toInts(MemorySegment s, long n) {
        int[] f = new int[(int) n];
        MemorySegment.copy(s, INT, 0, f, 0, (int) n);
        return f;
    }

    /** Gaussian floats with occasional large values, so ranges and group ids vary. */
    static MemorySegment randomFloats(SplittableRandom rng, long n) {
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextGaussian() * (rng.nextInt(8) == 0 ? 10 : 1));
        }
        return floats(v);
    }

    static MemorySegment randomCodes(SplittableRandom rng, long n, int max) {
        MemorySegment s = alloc(n);
        for (long i = 0; i < n; i++) {
            s.set(BYTE, i, (byte) (rng.nextInt(2 * max + 1) - max));
        }
        return s;
    }
}
