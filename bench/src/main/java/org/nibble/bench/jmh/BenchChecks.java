package org.nibble.bench.jmh;

/** Result checks run once per benchmark trial: a benchmark that computes the wrong thing fails instead of timing it. */
public final class BenchChecks {
    private BenchChecks() {
    }

    /** Fails unless {@code |actual - expected| <= tol * max(1, |expected|)}. */
    public static void close(String what, double actual, double expected, double tol) {
        if (!(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)))) {
            throw new IllegalStateException(what + ": benchmark result check failed: got " + actual + ", expected "
                    + expected + " (relative tolerance " + tol + ")");
        }
    }

    /** Fails unless the arrays are bit-identical. */
    public static void equal(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalStateException(what + ": length " + actual.length + " != " + expected.length);
        }
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToIntBits(actual[i]) != Float.floatToIntBits(expected[i])) {
                throw new IllegalStateException(what + ": benchmark result check failed at " + i + ": got "
                        + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
