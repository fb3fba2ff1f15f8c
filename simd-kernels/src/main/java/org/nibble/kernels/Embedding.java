package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/**
 * Embedding lookup (gather rows of a {@code vocab x dim} F32 table by int32 ids) and its gradient (scatter-add of
 * output rows into the table gradient), Vector API implementation; the twin with identical signatures is
 * {@link EmbeddingScalar}. Both equal the twin exactly.
 *
 * <p>The scatter-add is deterministic: threads split the {@code dim} columns, never the ids, and each thread adds the
 * rows in id order, so every table element receives its contributions in the same order for any thread count
 * (repeated ids accumulate in input order, the same sums as the sequential twin).
 */
public final class Embedding {
    private Embedding() {
    }

    /** Checks the shapes and that every id is a row of the table; names the first bad id. */
    static void checkIds(int n, MemorySegment ids, long idOff, int vocab) {
        Checks.checkCount("n", n);
        Checks.checkCount("vocab", vocab);
        Checks.checkRange("ids", ids, idOff, n, 4);
        for (int i = 0; i < n; i++) {
            int id = ids.getAtIndex(INT, idOff + i);
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("ids[" + i + "]: expected a row in [0, " + vocab + "), got " + id);
            }
        }
    }

    /** {@code out[i, :] = table[ids[i], :]} for {@code i < n}. */
    public static void gather(int n, int dim, MemorySegment ids, long idOff, int vocab, MemorySegment table,
                              long tOff, int ldt, MemorySegment out, long oOff, int ldo) {
        checkIds(n, ids, idOff, vocab);
        Checks.checkMatrix("table", table, tOff, vocab, dim, ldt, 4);
        Checks.checkMatrix("out", out, oOff, n, dim, ldo, 4);
        if (dim == 0) {
            return;
        }
        Parallel.forRange(0, n, Math.max(1, Softmax.GRAIN / dim), (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                long src = 4 * (tOff + (long) ids.getAtIndex(INT, idOff + i) * ldt);
                MemorySegment.copy(table, FLOAT, src, out, FLOAT, 4 * (oOff + (long) i * ldo), dim);
            }
        });
    }

    /**
     * {@code dtable[ids[i], :] += dout[i, :]} for {@code i < n}, in order of i (rows not referenced are untouched).
     */
    public static void scatterAdd(int n, int dim, MemorySegment ids, long idOff, int vocab, MemorySegment dout,
                                  long dOff, int ldd, MemorySegment dtable, long tOff, int ldt) {
        checkIds(n, ids, idOff, vocab);
        Checks.checkMatrix("dout", dout, dOff, n, dim, ldd, 4);
        Checks.checkMatrix("dtable", dtable, tOff, vocab, dim, ldt, 4);
        if (dim == 0 || n == 0) {
            return;
        }
        int grain = Math.max(4 * Simd.F32_LANES, Softmax.GRAIN / n);
        Parallel.forRange(0, dim, grain, (lo, hi) -> {
            for (int i = 0; i < n; i++) {
                long t = 4 * (tOff + (long) ids.getAtIndex(INT, idOff + i) * ldt + lo);
                long d = 4 * (dOff + (long) i * ldd + lo);
                RowStats.addRowTo(hi - lo, dtable, t, dout, d);
            }
        });
    }
}
