package org.nibble.engine;

import java.util.SplittableRandom;
import java.util.random.RandomGenerator.SplittableGenerator;

/**
 * Seeded random generators. All randomness in nibble comes from a generator made here from an explicit seed, so the
 * same seed and thread count give bit-identical results.
 */
public final class Rng {
    private Rng() {
    }

    /** A splittable generator for {@code seed}; split it to hand independent streams to parallel work. */
    public static SplittableGenerator of(long seed) {
        return new SplittableRandom(seed);
    }
}
