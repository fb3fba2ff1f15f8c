package org.nibble.models.gpt;

/**
 * Seeds for stochastic rounding: a pure function of the run seed, the training step, the layer id and the matmul,
 * so runs are deterministic, a resumed run rounds exactly like an uninterrupted one, and no two (step, layer, op)
 * triples share a stream.
 */
public final class RoundingClock {
    private final long seed;
    private long step;
    private int layers;

    RoundingClock(long seed) {
        this.seed = seed;
    }

    /** A new layer id. */
    int register() {
        return layers++;
    }

    void setStep(long s) {
        this.step = s;
    }

    /** The seed of matmul {@code op} of layer {@code id} at the current step (SplitMix64 finaliser). */
    long seed(int id, int op) {
        long z = seed + 0x9E3779B97F4A7C15L * (step * 1_000_003L + id * 4L + op + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
