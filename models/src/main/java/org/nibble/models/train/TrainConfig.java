package org.nibble.models.train;

/**
 * Optimisation settings of a training run.
 *
 * @param steps        optimizer steps in the whole run (the cosine schedule ends here)
 * @param batch        sequences per step
 * @param lr           peak learning rate
 * @param minLrRatio   final learning rate as a fraction of {@code lr}
 * @param warmup       linear warmup steps
 * @param weightDecay  AdamW decoupled weight decay (on matrices and embeddings only, not on norms or biases)
 * @param beta1        AdamW first-moment decay
 * @param beta2        AdamW second-moment decay
 * @param eps          AdamW epsilon
 * @param clip         global gradient-norm clip (0 = off)
 * @param seed         seeds the init, the batches and any stochastic rounding
 * @param evalEvery    validation every N steps (0 = only at the end)
 * @param evalBatches  validation batches per evaluation
 */
public record TrainConfig(int steps, int batch, double lr, double minLrRatio, int warmup, double weightDecay,
                          double beta1, double beta2, double eps, double clip, long seed, int evalEvery,
                          int evalBatches) {
    public TrainConfig {
        if (steps < 1) {
            throw new IllegalArgumentException("steps: expected >= 1, got " + steps);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr: expected a finite value > 0, got " + lr);
        }
        if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
            throw new IllegalArgumentException("minLrRatio: expected a value in [0, 1], got " + minLrRatio);
        }
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup: expected >= 0, got " + warmup);
        }
        if (!(clip >= 0)) {
            throw new IllegalArgumentException("clip: expected >= 0, got " + clip);
        }
        if (evalEvery < 0 || evalBatches < 1) {
            throw new IllegalArgumentException("evalEvery/evalBatches: expected >= 0 / >= 1, got " + evalEvery + " / "
                    + evalBatches);
        }
    }

    /** Defaults: AdamW (0.9, 0.95, 1e-8), weight decay 0.1, clip 1.0, warmup 10% (at most 100), min lr 10%. */
    public static TrainConfig of(int steps, int batch, double lr, long seed) {
        return new TrainConfig(steps, batch, lr, 0.1, Math.min(100, Math.max(1, steps / 10)), 0.1, 0.9, 0.95, 1e-8,
                1.0, seed, Math.max(1, steps / 10), 8);
    }

    /** Learning rate of 0-based {@code step}: linear warmup to {@code lr}, then cosine down to {@code minLrRatio lr}. */
    public double lrAt(long step) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        double span = Math.max(1, steps - warmup);
        double progress = Math.min(1.0, (step - warmup) / span);
        double min = lr * minLrRatio;
        return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
    }
}
