package org.nibble.kernels.norm;

import org.nibble.kernels.Checks;

import java.lang.foreign.MemorySegment;

/** Argument checks shared by the norm kernels (messages name the argument, the expected and the actual value). */
final class NormChecks {
    private NormChecks() {
    }

    /** Checks rows/width and a rows x width matrix view with leading dimension {@code ld}. */
    static void matrix(String name, MemorySegment seg, long off, int rows, int width, int ld, int elemBytes) {
        Checks.checkMatrix(name, seg, off, rows, width, ld, elemBytes);
    }

    /** Checks an optional vector of {@code n} elements ({@code seg} may be null). */
    static void optVector(String name, MemorySegment seg, long off, int n, int elemBytes) {
        if (seg != null) {
            Checks.checkRange(name, seg, off, n, elemBytes);
        }
    }

    /** Checks a required vector of {@code n} elements. */
    static void vector(String name, MemorySegment seg, long off, int n, int elemBytes) {
        if (seg == null) {
            throw new NullPointerException(name + ": expected a segment of " + n + " elements, got null");
        }
        Checks.checkRange(name, seg, off, n, elemBytes);
    }

    static void positive(String name, float v) {
        if (!(v > 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException(name + ": expected a finite value > 0, got " + v);
        }
    }

    static void nonNegative(String name, float v) {
        if (!(v >= 0) || Float.isInfinite(v)) {
            throw new IllegalArgumentException(name + ": expected a finite value >= 0, got " + v);
        }
    }

    /** Error for a row whose input (or statistic) is not finite. */
    static ArithmeticException nonFinite(String norm, String what, int row) {
        return new ArithmeticException(norm + ": non-finite " + what + " in row " + row
                + " (NaN or Inf, or a statistic that overflows float)");
    }
}
