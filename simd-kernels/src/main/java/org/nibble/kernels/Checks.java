package org.nibble.kernels;

import java.lang.foreign.MemorySegment;

/**
 * Argument checks shared by the kernel entry points. Each message names the argument, the expected and the actual
 * value. The checks are O(1) and run once per call, never inside a loop.
 */
public final class Checks {
    private Checks() {
    }

    /** Checks that {@code n >= 0}. */
    public static void checkCount(String name, long n) {
        if (n < 0) {
            throw new IllegalArgumentException(name + ": expected a count >= 0, got " + n);
        }
    }

    /**
     * Checks that elements {@code [off, off + count)} of {@code elemBytes} bytes each lie inside {@code seg}.
     */
    public static void checkRange(String name, MemorySegment seg, long off, long count, int elemBytes) {
        checkRange(name, "", seg, off, count, elemBytes);
    }

    /**
     * {@link #checkRange(String, MemorySegment, long, long, int)} for the part {@code part} of argument {@code name}
     * (messages say {@code name + part}). The two strings are joined only when a check fails: a concatenation on the
     * success path allocates on every call unless C2 inlines the whole check and removes it, which it did not do in
     * every JVM run (112 bytes per packed multiply in one CI run).
     */
    public static void checkRange(String name, String part, MemorySegment seg, long off, long count,
                                  int elemBytes) {
        if (seg == null) {
            throw new NullPointerException(name + part + ": segment is null");
        }
        if (off < 0) {
            throw new IndexOutOfBoundsException(name + part + ": expected an element offset >= 0, got " + off);
        }
        long capacity = seg.byteSize() / elemBytes;
        if (count > 0 && (off > capacity || count > capacity - off)) {
            throw new IndexOutOfBoundsException(name + part + ": elements [" + off + ", " + (off + count)
                    + ") exceed the segment's " + capacity + " elements of " + elemBytes + " bytes");
        }
    }

    /**
     * Checks a row-major matrix view: {@code rows x cols} with leading dimension {@code ld} starting at element
     * {@code off}.
     */
    public static void checkMatrix(String name, MemorySegment seg, long off, int rows, int cols, int ld,
                                   int elemBytes) {
        checkMatrix(name, "", seg, off, rows, cols, ld, elemBytes);
    }

    /**
     * {@link #checkMatrix(String, MemorySegment, long, int, int, int, int)} for the part {@code part} of argument
     * {@code name}; strings are joined only on failure, as in {@link #checkRange(String, String, MemorySegment, long,
     * long, int)}.
     */
    public static void checkMatrix(String name, String part, MemorySegment seg, long off, int rows, int cols, int ld,
                                   int elemBytes) {
        if (rows < 0) {
            throw new IllegalArgumentException(name + part + " rows: expected a count >= 0, got " + rows);
        }
        if (cols < 0) {
            throw new IllegalArgumentException(name + part + " cols: expected a count >= 0, got " + cols);
        }
        if (rows > 0 && cols > 0 && ld < cols) {
            throw new IllegalArgumentException(name + part + ": expected leading dimension >= " + cols
                    + " (cols), got " + ld);
        }
        long extent = rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols;
        checkRange(name, part, seg, off, extent, elemBytes);
    }
}
