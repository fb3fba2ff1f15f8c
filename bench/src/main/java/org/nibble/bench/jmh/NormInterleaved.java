package org.nibble.bench.jmh;

import org.nibble.kernels.Parallel;
import org.nibble.kernels.norm.BHyT;
import org.nibble.kernels.norm.DyT;
import org.nibble.kernels.norm.IntL1Norm;
import org.nibble.kernels.norm.NormKind;
import org.nibble.kernels.norm.RowNorm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * The {@link NormBench} workloads timed call by call in rotation (layernorm, rmsnorm, l1, intl1, dyt, bhyt, then the
 * same rotated by one, ...), reporting each norm's median and its ratio to LayerNorm's median. On a shared, loaded
 * machine the interleaving exposes every norm to the same load, which separate JMH trials do not; JMH stays the
 * reference on a quiet machine.
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/nibble.jar org.nibble.bench.jmh.NormInterleaved \
 *      [shapes=4096x384,4096x768,4096x4096] [threads=1,2] [rounds=41]
 * </pre>
 */
public final class NormInterleaved {
    private NormInterleaved() {
    }

    static final String[] NAMES = {"layernorm", "rmsnorm", "l1", "intl1", "dyt", "bhyt"};

    public static void main(String[] args) {
        String[] shapes = arg(args, "shapes", "4096x384,4096x768,4096x4096").split(",");
        String[] threads = arg(args, "threads", "1,2").split(",");
        int rounds = Integer.parseInt(arg(args, "rounds", "41"));
        for (String shape : shapes) {
            for (String t : threads) {
                run(shape, Integer.parseInt(t), rounds);
            }
        }
    }

    private static String arg(String[] args, String key, String def) {
        for (String a : args) {
            if (a.startsWith(key + "=")) {
                return a.substring(key.length() + 1);
            }
        }
        return def;
    }

    private static void run(String shape, int threads, int rounds) {
        Parallel.setThreads(threads);
        String[] p = shape.split("x");
        int rows = Integer.parseInt(p[0]), w = Integer.parseInt(p[1]);
        long n = (long) rows * w;
        try (Arena ar = Arena.ofShared()) {
            SplittableRandom rng = new SplittableRandom(42);
            MemorySegment x = ar.allocate(4 * n, 64), y = ar.allocate(4 * n, 64);
            MemorySegment dy = ar.allocate(4 * n, 64), dx = ar.allocate(4 * n, 64);
            for (long i = 0; i < n; i++) {
                x.setAtIndex(FLOAT, i, (float) (0.3 + 1.5 * rng.nextGaussian()));
                dy.setAtIndex(FLOAT, i, (float) rng.nextGaussian());
            }
            MemorySegment g = ar.allocate(4L * w, 64), b = ar.allocate(4L * w, 64);
            MemorySegment dg = ar.allocate(4L * w, 64), db = ar.allocate(4L * w, 64);
            for (int i = 0; i < w; i++) {
                g.setAtIndex(FLOAT, i, 1f);
            }
            MemorySegment st = ar.allocate(4L * rows, 64), rs = ar.allocate(4L * rows, 64);
            MemorySegment sums = ar.allocate(4L * rows, 64), sc = ar.allocate(4L * rows, 64);
            MemorySegment one = ar.allocate(64, 64);
            for (int i = 0; i < rows; i++) {
                sc.setAtIndex(FLOAT, i, 0.03f);
            }
            MemorySegment q = ar.allocate(n, 64), codes = ar.allocate(n, 64), gq = ar.allocate(n, 64);
            for (long i = 0; i < n; i++) {
                q.set(ValueLayout.JAVA_BYTE, i, (byte) Math.max(-127, Math.min(127, Math.round(40 * rng.nextGaussian()))));
                gq.set(ValueLayout.JAVA_BYTE, i, (byte) Math.max(-127, Math.min(127, Math.round(40 * rng.nextGaussian()))));
            }
            Runnable[] ops = {
                () -> {
                    RowNorm.forward(NormKind.LAYERNORM, rows, w, 1e-5f, x, 0, w, g, 0, b, 0, y, 0, w, st, 0, rs, 0);
                    RowNorm.backward(NormKind.LAYERNORM, rows, w, x, 0, w, g, 0, st, 0, rs, 0, dy, 0, w, dx, 0, w,
                            dg, 0, db, 0);
                },
                () -> {
                    RowNorm.forward(NormKind.RMSNORM, rows, w, 1e-5f, x, 0, w, g, 0, null, 0, y, 0, w, st, 0, rs, 0);
                    RowNorm.backward(NormKind.RMSNORM, rows, w, x, 0, w, g, 0, st, 0, rs, 0, dy, 0, w, dx, 0, w,
                            dg, 0, null, 0);
                },
                () -> {
                    RowNorm.forward(NormKind.L1, rows, w, 1e-5f, x, 0, w, g, 0, b, 0, y, 0, w, st, 0, rs, 0);
                    RowNorm.backward(NormKind.L1, rows, w, x, 0, w, g, 0, st, 0, rs, 0, dy, 0, w, dx, 0, w, dg, 0,
                            db, 0);
                },
                () -> {
                    IntL1Norm.forward(rows, w, true, 1e-5f, q, 0, w, sc, 0, 8f / 127, codes, 0, w, sums, 0, rs, 0);
                    IntL1Norm.backward(rows, w, true, q, 0, w, sums, 0, rs, 0, codes, 0, w, 8f / 127, gq, 0, w, sc, 0,
                            dx, 0, w);
                },
                () -> {
                    DyT.forward(rows, w, 0.5f, x, 0, w, g, 0, b, 0, y, 0, w);
                    DyT.backward(rows, w, 0.5f, x, 0, w, g, 0, dy, 0, w, dx, 0, w, dg, 0, db, 0, one, 0);
                },
                () -> {
                    BHyT.forward(rows, w, 2f, 10f, 1e-6f, true, x, 0, w, g, 0, null, 0, y, 0, w, st, 0);
                    BHyT.backward(rows, w, 2f, 10f, 1e-6f, true, x, 0, w, g, 0, st, 0, dy, 0, w, dx, 0, w, dg, 0,
                            null, 0, one, 0, null, 0);
                },
            };
            int warm = (int) Math.max(5, Math.min(60, 40_000_000L / n));
            for (int k = 0; k < warm; k++) {
                for (Runnable r : ops) {
                    r.run();
                }
            }
            double[][] t = new double[ops.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < ops.length; k++) {
                    int o = (k + r) % ops.length;
                    long t0 = System.nanoTime();
                    ops[o].run();
                    t[o][r] = (System.nanoTime() - t0) / 1e6;
                }
            }
            double base = median(t[0]);
            StringBuilder sb = new StringBuilder();
            for (int o = 0; o < ops.length; o++) {
                double m = median(t[o]);
                sb.append(String.format(Locale.ROOT, "%-10s shape=%-9s threads=%d  median %9.3f ms  ratio %.2fx%n",
                        NAMES[o], shape, threads, m, base / m));
            }
            System.out.print(sb);
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
