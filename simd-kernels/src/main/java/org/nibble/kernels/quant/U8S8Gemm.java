package org.nibble.kernels.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.nibble.kernels.Checks;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.ORDER;

/**
 * Exact integer GEMM of unsigned 8-bit activations and signed 8-bit weights, as ONNX Runtime's {@code MatMulInteger}
 * sums them: {@code c[i][j] = sum_p a[i][p] * w[j][p]} in int32, for activations {@code a} widened to ints
 * (row-major m x k, values 0..255) and weights int8 rows {@code w[j]} of k bytes (the weight transposed: one output
 * per row, so each sum is one contiguous dot product). Products are at most 255 * 128 in magnitude, so the int32 sums
 * are exact for k below 65 536 (65 535 * 32 640 < 2^31).
 *
 * <p>Lanewise int multiply-adds, four activation rows per weight load; the lanes are summed at the end (integers:
 * the order does not matter). Output columns run in parallel ({@link Parallel}). The vector shapes are those of
 * {@code QuantPanels}' 512-bit kernels on such machines (16 int lanes from 16 bytes): one shape per JDK vector call
 * site keeps C2's profiles of them monomorphic.
 */
public final class U8S8Gemm {
    private U8S8Gemm() {
    }

    private static final VectorSpecies<Integer> IS = Simd.I32.length() >= 8 ? Simd.I32 : IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(IS.length() * 8));
    private static final int L = IS.length();
    /** Activation rows per weight-vector load. */
    private static final int ROWS = 4;

    /**
     * {@code c[i * n + j] = sum_p a[i * k + p] * w[wOff + j * k + p]} (w read as signed bytes) for i < m, j < n.
     *
     * @throws IllegalArgumentException if a size is negative, {@code k >= 65536}, or an array or segment is too short
     */
    public static void gemm(int m, int n, int k, int[] a, MemorySegment w, long wOff, int[] c) {
        check(m, n, k, a, w, wOff, c);
        if (Simd.F32_LANES < 8) {
            U8S8GemmScalar.gemm(m, n, k, a, w, wOff, c);
            return;
        }
        // at least ~256 K multiply-adds per task
        int grain = (int) Math.max(1, (1L << 18) / Math.max(1L, (long) m * k));
        Parallel.forRange(0, n, grain, (lo, hi) -> {
            int i = 0;
            for (; i + ROWS <= m; i += ROWS) {
                for (int j = lo; j < hi; j++) {
                    rows4(n, k, a, i, w, wOff + (long) j * k, c, j);
                }
            }
            for (; i < m; i++) {
                for (int j = lo; j < hi; j++) {
                    c[i * n + j] = row(k, a, i * k, w, wOff + (long) j * k);
                }
            }
        });
    }

    static void check(int m, int n, int k, int[] a, MemorySegment w, long wOff, int[] c) {
        Checks.checkCount("m", m);
        Checks.checkCount("n", n);
        Checks.checkCount("k", k);
        if (k >= 1 << 16) {
            throw new IllegalArgumentException("k: expected < 65536 (exact int32 sums), got " + k);
        }
        if (a.length < (long) m * k) {
            throw new IllegalArgumentException("a: expected at least m * k = " + (long) m * k + " ints, got "
                    + a.length);
        }
        if (c.length < (long) m * n) {
            throw new IllegalArgumentException("c: expected at least m * n = " + (long) m * n + " ints, got "
                    + c.length);
        }
        Checks.checkRange("w", w, wOff, (long) n * k, 1);
    }

    /** Rows i .. i+3 against weight row {@code wb}: four sums. */
    private static void rows4(int n, int k, int[] a, int i, MemorySegment w, long wb, int[] c, int j) {
        IntVector s0 = IntVector.zero(IS), s1 = s0, s2 = s0, s3 = s0;
        int a0 = i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k, full = k & -L, p = 0;
        for (; p < full; p += L) {
            IntVector wv = (IntVector) ByteVector.fromMemorySegment(BS, w, wb + p, ORDER)
                    .convertShape(VectorOperators.B2I, IS, 0);
            s0 = s0.add(IntVector.fromArray(IS, a, a0 + p).mul(wv));
            s1 = s1.add(IntVector.fromArray(IS, a, a1 + p).mul(wv));
            s2 = s2.add(IntVector.fromArray(IS, a, a2 + p).mul(wv));
            s3 = s3.add(IntVector.fromArray(IS, a, a3 + p).mul(wv));
        }
        int r0 = s0.reduceLanes(VectorOperators.ADD), r1 = s1.reduceLanes(VectorOperators.ADD);
        int r2 = s2.reduceLanes(VectorOperators.ADD), r3 = s3.reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            int wp = w.get(Simd.BYTE, wb + p);
            r0 += a[a0 + p] * wp;
            r1 += a[a1 + p] * wp;
            r2 += a[a2 + p] * wp;
            r3 += a[a3 + p] * wp;
        }
        c[i * n + j] = r0;
        c[(i + 1) * n + j] = r1;
        c[(i + 2) * n + j] = r2;
        c[(i + 3) * n + j] = r3;
    }

    /** One row (from index {@code ab} of a) against weight row {@code wb}. */
    private static int row(int k, int[] a, int ab, MemorySegment w, long wb) {
        IntVector s = IntVector.zero(IS);
        int full = k & -L, p = 0;
        for (; p < full; p += L) {
            IntVector wv = (IntVector) ByteVector.fromMemorySegment(BS, w, wb + p, ORDER)
                    .convertShape(VectorOperators.B2I, IS, 0);
            s = s.add(IntVector.fromArray(IS, a, ab + p).mul(wv));
        }
        int r = s.reduceLanes(VectorOperators.ADD);
        for (; p < k; p++) {
            r += a[ab + p] * w.get(Simd.BYTE, wb + p);
        }
        return r;
    }
}
