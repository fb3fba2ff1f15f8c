package org.nibble.kernels.quant;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.BYTE;

/** Scalar twin of {@link U8S8Gemm}: one multiply-add at a time, in long (then checked to fit an int). */
public final class U8S8GemmScalar {
    private U8S8GemmScalar() {
    }

    /** See {@link U8S8Gemm#gemm}. */
    public static void gemm(int m, int n, int k, int[] a, MemorySegment w, long wOff, int[] c) {
        U8S8Gemm.check(m, n, k, a, w, wOff, c);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long acc = 0;
                for (int p = 0; p < k; p++) {
                    acc += (long) a[i * k + p] * w.get(BYTE, wOff + (long) j * k + p);
                }
                c[i * n + j] = Math.toIntExact(acc);
            }
        }
    }
}
