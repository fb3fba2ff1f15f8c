package org.nibble.models.train;

/** Training stopped because a loss, activation or gradient became NaN or infinite. */
public final class NonFiniteException extends RuntimeException {
    private final long step;
    private final String layer;

    public NonFiniteException(long step, String layer, String what) {
        super("step " + step + ": " + what + " in " + layer + "; training stopped before the optimizer update "
                + "(no checkpoint was written for this step)");
        this.step = step;
        this.layer = layer;
    }

    /** The 1-based step that failed. */
    public long step() {
        return step;
    }

    /** The layer (block or parameter name) where the first non-finite value was seen. */
    public String layer() {
        return layer;
    }
}
