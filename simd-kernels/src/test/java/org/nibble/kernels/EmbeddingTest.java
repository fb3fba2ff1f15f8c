package org.nibble.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nibble.kernels.NnTestSupport.*;
import static org.nibble.kernels.Simd.INT;

class EmbeddingTest {
    static MemorySegment ids(Arena a, long off, int n, int vocab, long seed) {
        MemorySegment s = a.allocate(4L * (off + n + 1), 4);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            s.setAtIndex(INT, off + i, r.nextInt(vocab)); // repeats are likely: vocab is small
        }
        return s;
    }

    @Test
    void gatherAndScatterEqualTwin() {
        int vocab = 11;
        for (int dim : SIZES) {
            for (int n : new int[]{0, 1, 5, 40}) {
                int ldt = dim + 1, ldo = dim + 3;
                try (Arena a = Arena.ofShared()) {
                    MemorySegment table = SoftmaxTest.matrix(a, 2, vocab, dim, ldt, dim, -1, 1);
                    MemorySegment id = ids(a, 1, n, vocab, dim * 3L + n);
                    MemorySegment ov = SoftmaxTest.out(a, 3, n, ldo), or = SoftmaxTest.out(a, 3, n, ldo);
                    Embedding.gather(n, dim, id, 1, vocab, table, 2, ldt, ov, 3, ldo);
                    EmbeddingScalar.gather(n, dim, id, 1, vocab, table, 2, ldt, or, 3, ldo);
                    SoftmaxTest.assertMatrixGuards("out", ov, 3, n, dim, ldo);
                    for (int i = 0; i < n; i++) {
                        assertArrayClose("gather", read(or, 3 + (long) i * ldo, dim), read(ov, 3 + (long) i * ldo,
                                dim), 0, 0);
                    }
                    MemorySegment dout = SoftmaxTest.matrix(a, 0, n, dim, ldo, dim + 5L, -1, 1);
                    MemorySegment tv = SoftmaxTest.matrix(a, 2, vocab, dim, ldt, 77, -1, 1);
                    MemorySegment tr = SoftmaxTest.matrix(a, 2, vocab, dim, ldt, 77, -1, 1);
                    Embedding.scatterAdd(n, dim, id, 1, vocab, dout, 0, ldo, tv, 2, ldt);
                    EmbeddingScalar.scatterAdd(n, dim, id, 1, vocab, dout, 0, ldo, tr, 2, ldt);
                    SoftmaxTest.assertMatrixGuards("dtable", tv, 2, vocab, dim, ldt);
                    for (int r = 0; r < vocab; r++) {
                        assertArrayClose("scatterAdd row " + r, read(tr, 2 + (long) r * ldt, dim),
                                read(tv, 2 + (long) r * ldt, dim), 0, 0);
                    }
                }
            }
        }
    }

    @Test
    void scatterAddIndependentOfThreads() {
        int vocab = 7, dim = 4099, n = 200;
        try (Arena a = Arena.ofShared()) {
            MemorySegment id = ids(a, 0, n, vocab, 5), dout = random(a, 0, n * dim, 6, -1, 1);
            MemorySegment t1 = floats(a, (long) vocab * dim), t3 = floats(a, (long) vocab * dim);
            int saved = Parallel.threads();
            try {
                Parallel.setThreads(1);
                Embedding.scatterAdd(n, dim, id, 0, vocab, dout, 0, dim, t1, 0, dim);
                Parallel.setThreads(3);
                Embedding.scatterAdd(n, dim, id, 0, vocab, dout, 0, dim, t3, 0, dim);
            } finally {
                Parallel.setThreads(saved);
            }
            assertArrayClose("threads", read(t1, 0, vocab * dim), read(t3, 0, vocab * dim), 0, 0);
        }
    }

    @Test
    void badIdsAreNamed() {
        try (Arena a = Arena.ofShared()) {
            MemorySegment table = floats(a, 20), out = floats(a, 20), id = ids(a, 0, 3, 5, 1);
            id.setAtIndex(INT, 1, 5);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> Embedding.gather(3, 4, id, 0, 5, table, 0, 4, out, 0, 4));
            assertTrue(e.getMessage().startsWith("ids[1]") && e.getMessage().contains("got 5"), e.getMessage());
            id.setAtIndex(INT, 1, -2);
            assertThrows(IllegalArgumentException.class,
                    () -> Embedding.scatterAdd(3, 4, id, 0, 5, out, 0, 4, table, 0, 4));
        }
    }
}
