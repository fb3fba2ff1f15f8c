package org.nibble.kernels;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

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
 *
 * <p>Workers spin for 200 microseconds after a chunk before parking, and so does a caller waiting for its
 * chunks (SPIN_NANOS holds the measurement). One caller at a time uses the workers; a second thread that
 * calls in meanwhile runs the same chunks itself, in order, so its results do not depend on which one got the pool.
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
    private static volatile Pool pool = Pool.of(threads);
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

    /**
     * How long an idle worker, and a caller waiting for its chunks, spin before parking. A model's forward pass runs
     * dozens of parallel loops a few microseconds to a millisecond apart; waking a parked thread costs tens of
     * microseconds on a VM (MiniLM at 12 tokens on 2 threads: 2.98 ms with a blocking executor). Idle workers park
     * after this, so an idle process uses no CPU.
     */
    private static final long SPIN_NANOS = 200_000;

    /**
     * The workers: one task slot each, filled by the one caller that holds the dispatch lock (other concurrent
     * callers run their chunks themselves). The caller runs chunk 0, the worker w chunk w + 1.
     */
    private static final class Pool {
        final Worker[] workers;
        final ReentrantLock dispatch = new ReentrantLock();

        private Pool(int n) {
            workers = new Worker[n];
            for (int w = 0; w < n; w++) {
                workers[w] = new Worker("nibble-worker-" + (w + 1));
                workers[w].start();
            }
        }

        static Pool of(int threads) {
            return threads <= 1 ? null : new Pool(threads - 1);
        }

        void shutdown() {
            for (Worker w : workers) {
                w.stopped = true;
                LockSupport.unpark(w);
            }
        }
    }

    private static final class Worker extends Thread {
        volatile Runnable task;
        volatile boolean parked;
        volatile boolean stopped;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        /** Hands a task to this (idle) worker. */
        void give(Runnable r) {
            task = r;
            if (parked) {
                LockSupport.unpark(this);
            }
        }

        @Override
        public void run() {
            IN_WORKER.set(Boolean.TRUE);
            long idleSince = System.nanoTime();
            while (!stopped) {
                Runnable r = task;
                if (r != null) {
                    task = null;
                    r.run();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    // Dekker with give(): parked is written before task is read again, task before parked is read
                    parked = true;
                    if (task == null && !stopped) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
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
        Pool old = pool;
        pool = Pool.of(n);
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
        Pool p = pool;
        if (c == 1 || p == null || IN_WORKER.get()) {
            body.run(start, end);
            return;
        }
        if (!p.dispatch.tryLock()) {
            // another thread is using the workers: run the same chunks here, in order
            for (int k = 0; k < c; k++) {
                body.run(chunkStart(start, end, c, k), chunkStart(start, end, c, k + 1));
            }
            return;
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try {
            AtomicInteger pending = new AtomicInteger(c - 1);
            Thread caller = Thread.currentThread();
            for (int k = 1; k < c; k++) {
                int lo = chunkStart(start, end, c, k), hi = chunkStart(start, end, c, k + 1);
                p.workers[k - 1].give(() -> {
                    try {
                        body.run(lo, hi);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    } finally {
                        if (pending.decrementAndGet() == 0) {
                            LockSupport.unpark(caller);
                        }
                    }
                });
            }
            IN_WORKER.set(Boolean.TRUE);
            try {
                body.run(start, chunkStart(start, end, c, 1));
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            } finally {
                IN_WORKER.set(Boolean.FALSE);
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (pending.get() != 0 && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            while (pending.get() != 0) {
                LockSupport.park(Parallel.class); // a worker unparks the caller when the last chunk ends
            }
        } finally {
            p.dispatch.unlock();
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
