package org.nibble.kernels.norm;

import org.nibble.kernels.FloatOps;
import org.nibble.kernels.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Row-parallel backward passes that also accumulate parameter gradients (sums over rows). The rows are cut into the
 * deterministic chunks of {@link Parallel}; chunk 0 accumulates straight into the targets, every other chunk into a
 * private zeroed partial, and the partials are added to the targets in chunk order afterwards. The result is
 * therefore bit-identical from run to run at a given thread count.
 */
final class ChunkedGrads {
    private ChunkedGrads() {
    }

    /** Body of one chunk: rows {@code [lo, hi)}, accumulating into {@code g[i]} at element offset {@code gOff[i]}. */
    @FunctionalInterface
    interface Body {
        void run(int lo, int hi, MemorySegment[] g, long[] gOff);
    }

    /** Rows per chunk so that one chunk holds at least ~16K elements. */
    static int grain(int width) {
        return Math.max(1, 16384 / Math.max(1, width));
    }

    /**
     * Runs {@code body} over {@code [0, rows)}. {@code targets[i]} (may be null: no gradient wanted) has
     * {@code lens[i]} floats at {@code offs[i]}.
     */
    static void run(int rows, int width, MemorySegment[] targets, long[] offs, int[] lens, Body body) {
        int chunks = Parallel.chunks(rows, grain(width));
        if (chunks <= 1) {
            if (rows > 0) {
                body.run(0, rows, targets, offs);
            }
            return;
        }
        long per = 0;
        for (int i = 0; i < targets.length; i++) {
            per += targets[i] == null ? 0 : (lens[i] + 15) / 16 * 16L;
        }
        MemorySegment partial = per == 0 ? null : Arena.ofAuto().allocate(4 * per * (chunks - 1), 64);
        long perChunk = per;
        Parallel.forRange(0, chunks, 1, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                int lo = Parallel.chunkStart(0, rows, chunks, c), hi = Parallel.chunkStart(0, rows, chunks, c + 1);
                if (c == 0) {
                    body.run(lo, hi, targets, offs);
                } else {
                    MemorySegment[] g = new MemorySegment[targets.length];
                    long[] o = new long[targets.length];
                    long at = perChunk * (c - 1);
                    for (int i = 0; i < targets.length; i++) {
                        if (targets[i] != null) {
                            g[i] = partial;
                            o[i] = at;
                            at += (lens[i] + 15) / 16 * 16L;
                        }
                    }
                    body.run(lo, hi, g, o);
                }
            }
        });
        for (int c = 1; c < chunks; c++) {
            long at = perChunk * (c - 1);
            for (int i = 0; i < targets.length; i++) {
                if (targets[i] != null) {
                    FloatOps.add(lens[i], targets[i], offs[i], partial, at, targets[i], offs[i]);
                    at += (lens[i] + 15) / 16 * 16L;
                }
            }
        }
    }
}
