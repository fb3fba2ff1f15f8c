package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

import static org.nibble.kernels.Simd.FLOAT;

/**
 * Transposed copy of an F32 matrix, {@code b[j, i] = a[i, j]} for a row-major {@code rows x cols} {@code a} and the
 * {@code cols x rows} {@code b}, blocked in {@value #TILE} x {@value #TILE} tiles so both the reads and the writes of
 * a tile stay in L1 (a naive loop strides one of them by a whole row per element). The twin is
 * {@link TransposeScalar} (the naive double loop); results are equal exactly. Threads split the tile rows of
 * {@code a}. {@code b} must not overlap {@code a}.
 */
public final class Transpose {
    private Transpose() {
    }

    /** Tile edge: 32 x 32 floats = 4 KiB read + 4 KiB written per tile. */
    static final int TILE = 32;

    /** {@code b[j * ldb + i] = a[i * lda + j]} for {@code i < rows, j < cols}. */
    public static void transpose(int rows, int cols, MemorySegment a, long aOff, int lda, MemorySegment b, long bOff,
                                 int ldb) {
        Checks.checkMatrix("a", a, aOff, rows, cols, lda, 4);
        Checks.checkMatrix("b", b, bOff, cols, rows, ldb, 4);
        if (rows == 0 || cols == 0) {
            return;
        }
        int tileRows = (rows + TILE - 1) / TILE;
        int grain = Math.max(1, (1 << 16) / (TILE * Math.max(1, cols)));
        Parallel.forRange(0, tileRows, grain, (lo, hi) -> {
            for (int ti = lo; ti < hi; ti++) {
                int i0 = ti * TILE, i1 = Math.min(rows, i0 + TILE);
                for (int j0 = 0; j0 < cols; j0 += TILE) {
                    tile(i0, i1, j0, Math.min(cols, j0 + TILE), a, aOff, lda, b, bOff, ldb);
                }
            }
        });
    }

    private static void tile(int i0, int i1, int j0, int j1, MemorySegment a, long aOff, int lda, MemorySegment b,
                             long bOff, int ldb) {
        for (int j = j0; j < j1; j++) {
            long bRow = 4 * (bOff + (long) j * ldb);
            long aCol = 4 * (aOff + j);
            for (int i = i0; i < i1; i++) {
                b.set(FLOAT, bRow + 4L * i, a.get(FLOAT, aCol + 4L * i * lda));
            }
        }
    }
}
