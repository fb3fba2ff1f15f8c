package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;
import static org.nibble.kernels.Simd.INT;

/** Scalar reference twin of {@link Embedding}: plain loops in id order. */
public final class EmbeddingScalar {
    private EmbeddingScalar() {
    }

    public static void gather(int n, int dim, MemorySegment ids, long idOff, int vocab, MemorySegment table,
                              long tOff, int ldt, MemorySegment out, long oOff, int ldo) {
        Embedding.checkIds(n, ids, idOff, vocab);
        for (int i = 0; i < n; i++) {
            long row = tOff + (long) ids.getAtIndex(INT, idOff + i) * ldt;
            for (int j = 0; j < dim; j++) {
                out.setAtIndex(FLOAT, oOff + (long) i * ldo + j, table.getAtIndex(FLOAT, row + j));
            }
        }
    }

    public static void scatterAdd(int n, int dim, MemorySegment ids, long idOff, int vocab, MemorySegment dout,
                                  long dOff, int ldd, MemorySegment dtable, long tOff, int ldt) {
        Embedding.checkIds(n, ids, idOff, vocab);
        for (int i = 0; i < n; i++) {
            long row = tOff + (long) ids.getAtIndex(INT, idOff + i) * ldt;
            for (int j = 0; j < dim; j++) {
                float s = dtable.getAtIndex(FLOAT, row + j) + dout.getAtIndex(FLOAT, dOff + (long) i * ldd + j);
                dtable.setAtIndex(FLOAT, row + j, s);
            }
        }
    }
}
