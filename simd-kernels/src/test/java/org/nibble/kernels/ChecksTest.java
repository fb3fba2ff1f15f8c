package org.nibble.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class ChecksTest {
    private static final MemorySegment SEG = Arena.ofAuto().allocate(4 * 64, 4);

    /**
     * Checks that pass allocate nothing, whatever the JIT does: run before C2 compiles them (no escape analysis), so
     * a message or argument name built on the success path shows up here (it cost 112 bytes per packed multiply in a
     * CI run where C2 did not remove it).
     */
    @Test
    void passingChecksAllocateNothing() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int calls = 10_000;
        runChecks(1); // load and link everything the loop touches
        long before = threads.getCurrentThreadAllocatedBytes();
        runChecks(calls);
        long bytes = threads.getCurrentThreadAllocatedBytes() - before;
        // The measuring call itself may allocate a few bytes; one string per check would be >= 40 bytes per call.
        assertTrue(bytes < calls, "bytes allocated by " + calls + " passing checks: " + bytes);
    }

    private static void runChecks(int calls) {
        for (int i = 0; i < calls; i++) {
            Checks.checkCount("n", i);
            Checks.checkRange("x", SEG, 2, 60, 4);
            Checks.checkRange("x", " scales", SEG, 0, 64, 4);
            Checks.checkMatrix("c", SEG, 1, 7, 9, 9, 4);
            Checks.checkMatrix("w", " codes", SEG, 0, 16, 16, 16, 1);
        }
    }

    @Test
    void failuresNameTheArgumentAndItsPart() {
        var rows = assertThrows(IllegalArgumentException.class,
                () -> Checks.checkMatrix("w", " codes", SEG, 0, -2, 4, 4, 1));
        assertEquals("w codes rows: expected a count >= 0, got -2", rows.getMessage());
        var cols = assertThrows(IllegalArgumentException.class,
                () -> Checks.checkMatrix("c", SEG, 0, 3, -1, 4, 4));
        assertEquals("c cols: expected a count >= 0, got -1", cols.getMessage());
        var ld = assertThrows(IllegalArgumentException.class,
                () -> Checks.checkMatrix("w", " codes", SEG, 0, 2, 5, 4, 1));
        assertEquals("w codes: expected leading dimension >= 5 (cols), got 4", ld.getMessage());
        var range = assertThrows(IndexOutOfBoundsException.class,
                () -> Checks.checkRange("x", " scales", SEG, 60, 5, 4));
        assertEquals("x scales: elements [60, 65) exceed the segment's 64 elements of 4 bytes", range.getMessage());
        var negative = assertThrows(IndexOutOfBoundsException.class,
                () -> Checks.checkMatrix("c", SEG, -1, 1, 1, 1, 4));
        assertEquals("c: expected an element offset >= 0, got -1", negative.getMessage());
        var nul = assertThrows(NullPointerException.class, () -> Checks.checkRange("g", " group ids", null, 0, 1, 1));
        assertEquals("g group ids: segment is null", nul.getMessage());
    }
}
