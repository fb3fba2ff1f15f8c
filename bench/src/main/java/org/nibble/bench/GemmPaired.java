package org.nibble.bench;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * A noise-robust side-by-side of {@link GemmF32} and OpenBLAS for shared machines, where JMH's wall-clock averages
 * swing by 2-3x with the neighbours' load: the two implementations are called alternately on the same data, and
 * with one thread each call is timed by the thread's CPU time (OpenBLAS with one thread runs in the calling thread),
 * so time slices given to other processes do not count. With more threads it falls back to wall time (read "best").
 * Not a JMH benchmark; {@code GemmBench} / {@code GemvBench} remain the reference.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp bench/target/nibble.jar \
 *      org.nibble.bench.GemmPaired THREADS REPS SHAPE...
 * </pre>
 * SHAPE is {@code MxKxN} (C = A B, no transposes), {@code gemvxOUTxIN} (y = W x, W stored out x in; OpenBLAS
 * NoTrans sgemv) or {@code gemvTxOUTxIN} (y = x W, W stored in x out; OpenBLAS Trans sgemv). Unset
 * {@code OPENBLAS_CORETYPE} first.
 */
public final class GemmPaired {
    private GemmPaired() {
    }

    public static void main(String[] args) {
        if (args.length < 3) {
            System.err.println("usage: GemmPaired THREADS REPS SHAPE...   (SHAPE: MxKxN, gemvxOUTxIN, gemvTxOUTxIN)");
            System.exit(2);
        }
        if (!OpenBlas.available()) {
            System.err.println("openblas: " + OpenBlas.status());
            System.exit(1);
        }
        int threads = Integer.parseInt(args[0]);
        int reps = Integer.parseInt(args[1]);
        Parallel.setThreads(threads);
        OpenBlas.setThreads(threads);
        System.out.println("openblas: " + OpenBlas.describe() + "; timing: "
                + (threads == 1 ? "thread CPU time" : "wall time"));
        var mx = ManagementFactory.getThreadMXBean();
        for (int s = 2; s < args.length; s++) {
            String[] p = args[s].split("x");
            boolean gemv = p[0].startsWith("gemv"), gemvT = p[0].equals("gemvT");
            int m = gemv ? 1 : Integer.parseInt(p[0]);
            int k = Integer.parseInt(gemv ? p[2] : p[1]), n = Integer.parseInt(gemv ? p[1] : p[2]);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment a = random(arena, (long) m * k), b = random(arena, (long) k * n);
                MemorySegment c = arena.allocate(4L * m * n, 64);
                double[][] g = new double[2][reps];
                for (int it = 0; it < reps + 5; it++) {
                    for (int impl = 0; impl < 2; impl++) {
                        long t0 = threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                        run(impl == 0, gemv, gemvT, m, n, k, a, b, c);
                        long t1 = threads == 1 ? mx.getCurrentThreadCpuTime() : System.nanoTime();
                        if (it >= 5) {
                            g[impl][it - 5] = 2.0 * m * n * k / (t1 - t0);
                        }
                    }
                }
                Arrays.sort(g[0]);
                Arrays.sort(g[1]);
                double nb = g[0][reps - 1], nm = g[0][reps / 2], ob = g[1][reps - 1], om = g[1][reps / 2];
                System.out.printf(Locale.ROOT, "%-18s threads=%d  nibble best %6.1f median %6.1f | openblas best %6.1f"
                        + " median %6.1f GFLOP/s | nibble/openblas best %.2f median %.2f%n", args[s], threads, nb, nm,
                        ob, om, nb / ob, nm / om);
            }
        }
    }

    private static void run(boolean nibble, boolean gemv, boolean gemvT, int m, int n, int k, MemorySegment a,
                            MemorySegment b, MemorySegment c) {
        if (gemvT) {
            if (nibble) {
                GemmF32.gemm(false, false, 1, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
            } else {
                OpenBlas.sgemv(true, k, n, 1f, b, 0, n, a, 0, 1, 0f, c, 0, 1);
            }
        } else if (gemv) {
            if (nibble) {
                GemmF32.gemm(false, true, 1, n, k, 1f, a, 0, k, b, 0, k, 0f, c, 0, n);
            } else {
                OpenBlas.sgemv(false, n, k, 1f, b, 0, k, a, 0, 1, 0f, c, 0, 1);
            }
        } else if (nibble) {
            GemmF32.gemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        } else {
            OpenBlas.sgemm(false, false, m, n, k, 1f, a, 0, k, b, 0, n, 0f, c, 0, n);
        }
    }

    private static MemorySegment random(Arena arena, long count) {
        var rng = new SplittableRandom(count);
        MemorySegment s = arena.allocate(4 * count, 64);
        for (long i = 0; i < count; i++) {
            s.setAtIndex(FLOAT, i, (float) (rng.nextDouble() * 2 - 1));
        }
        return s;
    }
}
