package org.nibble.engine.data;

import java.util.SplittableRandom;

/**
 * Seeded random windows of a byte stream as (input, target) token batches: a window of {@code len + 1} bytes at a
 * random offset gives inputs {@code w[0..len)} and next-byte targets {@code w[1..len]}.
 *
 * <p>Batch {@code i} is a pure function of {@code (seed, i)}, so a resumed run draws exactly the batches of an
 * uninterrupted one and any two samplers with the same seed agree.
 */
public final class BatchSampler {
    /** One batch: row-major {@code batch x len} token ids and next-token targets. */
    public record Batch(int[] tokens, int[] targets, int batch, int len) {
    }

    private final byte[] data;
    private final int batch, len;
    private final long seed;

    public BatchSampler(byte[] data, int batch, int len, long seed) {
        if (batch < 1 || len < 1) {
            throw new IllegalArgumentException("batch/len: expected >= 1, got batch=" + batch + ", len=" + len);
        }
        if (data.length < len + 1) {
            throw new IllegalArgumentException("data: expected at least len + 1 = " + (len + 1) + " bytes, got "
                    + data.length + " (use a larger corpus or a smaller --ctx)");
        }
        this.data = data;
        this.batch = batch;
        this.len = len;
        this.seed = seed;
    }

    /** Batch number {@code index} (0-based). */
    public Batch get(long index) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
        int[] tok = new int[batch * len], tgt = new int[batch * len];
        int range = data.length - len; // valid starts: [0, data.length - len - 1]
        for (int b = 0; b < batch; b++) {
            int start = r.nextInt(range);
            for (int t = 0; t < len; t++) {
                tok[b * len + t] = data[start + t] & 0xFF;
                tgt[b * len + t] = data[start + t + 1] & 0xFF;
            }
        }
        return new Batch(tok, tgt, batch, len);
    }
}
