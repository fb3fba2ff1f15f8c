package org.nibble.bench;

import org.nibble.kernels.GemmF32;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.quant.ShiftMM;
import org.nibble.kernels.quant.ShiftMMCandidates;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A single-thread CPU-time comparison of the ShiftMM kernels, for a machine shared with other work: JMH measures wall
 * time, which swings several-fold when other processes take the cores; the calling thread's CPU time does not
 * (only cache and SMT interference remain). Rounds interleave the implementations; the best of rounds 4..12 is
 * reported. Run: {@code java --add-modules jdk.incubator.vector -cp bench/target/nibble.jar
 * org.nibble.bench.ShiftMMProbe M K N LAYOUT}. Not a replacement for JMH: a decision aid (see ShiftMM's comment).
 */
public final class ShiftMMProbe {
    private ShiftMMProbe() {
    }

    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), k = Integer.parseInt(args[1]), n = Integer.parseInt(args[2]);
        ShiftMM.Layout lay = ShiftMM.Layout.valueOf(args.length > 3 ? args[3] : "FORWARD");
        Parallel.setThreads(1);
        boolean ta = lay.transA(), tb = lay.transB();
        int lda = ta ? m : k, ldb = tb ? k : n;
        Arena ar = Arena.ofShared();
        SplittableRandom rng = new SplittableRandom(1);
        MemorySegment a = ar.allocate((long) m * k, 64), b = ar.allocate((long) n * k, 64);
        MemorySegment af = ar.allocate(4L * m * k, 64), bf = ar.allocate(4L * n * k, 64);
        MemorySegment c = ar.allocate(4L * m * n, 64);
        for (long i = 0; i < (long) m * k; i++) {
            a.set(ValueLayout.JAVA_BYTE, i, (byte) (rng.nextInt(255) - 127));
            af.setAtIndex(ValueLayout.JAVA_FLOAT, i, rng.nextFloat());
        }
        for (long i = 0; i < (long) n * k; i++) {
            b.set(ValueLayout.JAVA_BYTE, i, (byte) (rng.nextInt(255) - 127));
            bf.setAtIndex(ValueLayout.JAVA_FLOAT, i, rng.nextFloat());
        }
        Map<String, Runnable> impls = new LinkedHashMap<>();
        impls.put("fp32", () -> GemmF32.gemm(ta, tb, m, n, k, 1f, af, 0, lda, bf, 0, ldb, 0f, c, 0, n));
        impls.put("shiftmm", () -> ShiftMM.gemm(lay, m, n, k, 1e-3, a, 0, lda, b, 0, ldb, c, 0, n));
        impls.put("fp32-outer", () -> ShiftMMCandidates.fp32Outer(lay, m, n, k, 1e-3, a, 0, lda, b, 0, ldb, c, 0,
                n));
        if (lay == ShiftMM.Layout.FORWARD) {
            impls.put("int16", () -> ShiftMMCandidates.forwardInt16(m, n, k, 1e-3, a, 0, k, b, 0, k, c, 0, n));
            impls.put("fp32-dot", () -> ShiftMMCandidates.forwardFp32Dot(m, n, k, 1e-3, a, 0, k, b, 0, k, c, 0, n));
            impls.put("widen", () -> ShiftMMCandidates.forwardWiden(m, n, k, 1e-3, a, 0, k, b, 0, k, c, 0, n));
        }
        var mx = ManagementFactory.getThreadMXBean();
        Map<String, Double> best = new LinkedHashMap<>();
        for (int round = 0; round < 12; round++) {
            for (var e : impls.entrySet()) {
                long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
                int reps = 0;
                do {
                    e.getValue().run();
                    reps++;
                } while (System.nanoTime() - t0 < 200_000_000L);
                double ms = (mx.getCurrentThreadCpuTime() - c0) / 1e6 / reps;
                if (round >= 3) {
                    best.merge(e.getKey(), ms, Math::min);
                }
            }
        }
        double flop = 2.0 * m * n * k;
        System.out.printf(Locale.ROOT, "%s %dx%dx%d, 1 thread, CPU time (best of 9 rounds)%n", lay, m, k, n);
        for (var e : best.entrySet()) {
            System.out.printf(Locale.ROOT, "  %-11s %9.3f ms  %6.1f GOP/s  %5.2fx fp32%n", e.getKey(), e.getValue(),
                    flop / e.getValue() / 1e6, best.get("fp32") / e.getValue());
        }
    }
}
