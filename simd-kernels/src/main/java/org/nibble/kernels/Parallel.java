package org.nibble.kernels;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The one thread pool of nibble and a parallel-for over index ranges.
 *
 * <p>Chunking is deterministic: a range is cut into {@code chunks(n)} contiguous pieces whose bounds depend only on
 * the range, the grain and the thread count, never on scheduling. Work that writes disjoint outputs per index, or
 * reduces per chunk and combines the chunks in order, is therefore bit-identical from run to run at a given thread
 * count.
 *
 * <p>The thread count is the number of available processors unless {@code -Dnibble.threads=N} or
 * {@link #setThreads(int)} (the CLI's {@code --threads}) says otherwise. The calling thread runs the first chunk
 * itself; nested calls from inside a chunk run inline.
 *
 * <p>It lives in simd-kernels (the bottom module) so the parallel kernels, such as the GEMM, can use it; the engine
 * and everything above share the same pool.
 */
public final class Parallel {
    private Parallel() {
    }

    /** Body of a parallel loop over {@code [lo, hi)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int lo, int hi);
    }

    private static volatile int threads = initialThreads();
    private static volatile ExecutorService pool = newPool(threads);
    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private static int initialThreads() {
        String prop = System.getProperty("nibble.threads");
        int cpus = Runtime.getRuntime().availableProcessors();
        if (prop == null || prop.isBlank()) {
            return cpus;
        }
        try {
            int n = Integer.parseInt(prop.trim());
            if (n < 1) {
                throw new IllegalArgumentException("-Dnibble.threads: expected >= 1, got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-Dnibble.threads: expected an integer >= 1, got '" + prop + "'", e);
        }
    }

    private static ExecutorService newPool(int n) {
        if (n <= 1) {
            return null;
        }
        AtomicInteger id = new AtomicInteger();
        return Executors.newFixedThreadPool(n - 1, r -> {
            Thread t = new Thread(() -> {
                IN_WORKER.set(Boolean.TRUE);
                r.run();
            }, "nibble-worker-" + id.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Threads used by parallel loops (the caller included). */
    public static int threads() {
        return threads;
    }

    /** Sets the thread count (the caller included); replaces the pool. Not to be called while loops run. */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + n);
        }
        if (n == threads) {
            return;
        }
        ExecutorService old = pool;
        pool = newPool(n);
        threads = n;
        if (old != null) {
            old.shutdown();
        }
    }

    /** Number of chunks {@link #forRange(int, int, int, RangeBody)} cuts {@code n} indices into. */
    public static int chunks(int n, int grain) {
        if (n <= 0) {
            return 0;
        }
        int byGrain = (int) Math.max(1, (n + (long) Math.max(1, grain) - 1) / Math.max(1, grain));
        return Math.min(threads, byGrain);
    }

    /** Start of chunk {@code c} of {@code chunks} over {@code [start, end)}. */
    public static int chunkStart(int start, int end, int chunks, int c) {
        return start + (int) ((long) (end - start) * c / chunks);
    }

    /** Runs {@code body} over {@code [start, end)}, one chunk per thread. */
    public static void forRange(int start, int end, RangeBody body) {
        forRange(start, end, 1, body);
    }

    /**
     * Runs {@code body} over {@code [start, end)} cut into at most {@link #threads()} chunks of at least {@code grain}
     * indices (except the last). Exceptions thrown by a chunk are rethrown in the caller.
     */
    public static void forRange(int start, int end, int grain, RangeBody body) {
        if (end < start) {
            throw new IllegalArgumentException("end: expected >= start (" + start + "), got " + end);
        }
        int n = end - start;
        int c = chunks(n, grain);
        if (c == 0) {
            return;
        }
        ExecutorService p = pool;
        if (c == 1 || p == null || IN_WORKER.get()) {
            body.run(start, end);
            return;
        }
        CountDownLatch done = new CountDownLatch(c - 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int k = 1; k < c; k++) {
            int lo = chunkStart(start, end, c, k), hi = chunkStart(start, end, c, k + 1);
            p.execute(() -> {
                try {
                    body.run(lo, hi);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        boolean wasWorker = IN_WORKER.get();
        IN_WORKER.set(Boolean.TRUE);
        try {
            body.run(start, chunkStart(start, end, c, 1));
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            IN_WORKER.set(wasWorker);
        }
        boolean interrupted = false;
        while (true) {
            try {
                done.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error err) {
            throw err;
        }
        if (t != null) {
            throw new RuntimeException(t);
        }
    }
}
