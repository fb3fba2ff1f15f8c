package org.nibble.kernels;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTest {
    private final int before = Parallel.threads();

    @AfterEach
    void restore() {
        Parallel.setThreads(before);
    }

    @Test
    void everyIndexRunsExactlyOnce() {
        for (int threads : new int[]{1, 2, 3, 4}) {
            Parallel.setThreads(threads);
            for (int n : new int[]{0, 1, 2, 5, 100, 1001}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n + 10);
                Parallel.forRange(5, 5 + n, (lo, hi) -> {
                    for (int i = lo; i < hi; i++) {
                        hits.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < n + 10; i++) {
                    assertEquals(i >= 5 && i < 5 + n ? 1 : 0, hits.get(i), "threads=" + threads + " n=" + n + " i=" + i);
                }
            }
        }
    }

    @Test
    void chunkBoundsDependOnlyOnRangeGrainAndThreads() {
        Parallel.setThreads(3);
        for (int run = 0; run < 20; run++) {
            List<int[]> chunks = Collections.synchronizedList(new ArrayList<>());
            Parallel.forRange(0, 1000, 10, (lo, hi) -> chunks.add(new int[]{lo, hi}));
            chunks.sort((a, b) -> Integer.compare(a[0], b[0]));
            assertEquals(3, chunks.size());
            assertArrayEquals(new int[]{0, 333}, chunks.get(0));
            assertArrayEquals(new int[]{333, 666}, chunks.get(1));
            assertArrayEquals(new int[]{666, 1000}, chunks.get(2));
        }
        // grain limits the number of chunks
        assertEquals(1, Parallel.chunks(10, 64));
        assertEquals(2, Parallel.chunks(100, 50));
    }

    @Test
    void exceptionsReachTheCaller() {
        Parallel.setThreads(2);
        IllegalStateException boom = new IllegalStateException("boom");
        var e = assertThrows(IllegalStateException.class, () -> Parallel.forRange(0, 100, (lo, hi) -> {
            if (lo > 0) {
                throw boom;
            }
        }));
        assertSame(boom, e);
    }

    @Test
    void nestedLoopsRunInline() {
        Parallel.setThreads(2);
        AtomicIntegerArray hits = new AtomicIntegerArray(100);
        Parallel.forRange(0, 10, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                int row = i;
                Parallel.forRange(0, 10, (a, b) -> {
                    for (int j = a; j < b; j++) {
                        hits.incrementAndGet(row * 10 + j);
                    }
                });
            }
        });
        for (int i = 0; i < 100; i++) {
            assertEquals(1, hits.get(i));
        }
    }

    @Test
    void badArgumentsAreNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertTrue(e.getMessage().contains("threads") && e.getMessage().contains("0"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Parallel.forRange(5, 4, (a, b) -> { }));
        assertTrue(e2.getMessage().contains("end"), e2.getMessage());
    }
    @Test
    void concurrentCallersAndParkedWorkersEachRunEveryIndexOnce() throws Exception {
        Parallel.setThreads(3);
        int callers = 4, rounds = 200, n = 997;
        AtomicIntegerArray hits = new AtomicIntegerArray(callers * n);
        List<Thread> ts = new ArrayList<>();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < callers; t++) {
            int base = t * n;
            Thread th = new Thread(() -> {
                for (int r = 0; r < rounds; r++) {
                    Parallel.forRange(0, n, 7, (lo, hi) -> {
                        for (int i = lo; i < hi; i++) {
                            hits.incrementAndGet(base + i);
                        }
                    });
                }
            });
            th.setUncaughtExceptionHandler((x, e) -> errors.add(e));
            ts.add(th);
            th.start();
        }
        for (Thread th : ts) {
            th.join(60_000);
            assertTrue(!th.isAlive(), "a caller did not finish within 60 s");
        }
        assertTrue(errors.isEmpty(), () -> "caller failed: " + errors);
        for (int i = 0; i < callers * n; i++) {
            assertEquals(rounds, hits.get(i), "index " + i);
        }
        // workers that parked after their spin window wake up for the next loop
        Thread.sleep(20);
        AtomicIntegerArray again = new AtomicIntegerArray(n);
        Parallel.forRange(0, n, 1, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                again.incrementAndGet(i);
            }
        });
        for (int i = 0; i < n; i++) {
            assertEquals(1, again.get(i), "index " + i + " after the workers parked");
        }
    }
}
