package org.nibble.models.bert;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Grow-only scratch buffers of the calling thread, reused across forward passes (closing a shared arena on every
 * call costs a handshake with all threads). Segments come from automatic arenas: any pool thread may read them, and
 * the GC frees them with the thread's workspace.
 */
final class Workspace {
    private static final ThreadLocal<Workspace> CURRENT = ThreadLocal.withInitial(Workspace::new);

    private final MemorySegment[] slots = new MemorySegment[12];

    private Workspace() {
    }

    /** The calling thread's workspace. */
    static Workspace get() {
        return CURRENT.get();
    }

    /** Slot {@code i}, at least {@code bytes} long (contents undefined). */
    MemorySegment slot(int i, long bytes) {
        MemorySegment s = slots[i];
        if (s == null || s.byteSize() < bytes) {
            s = Arena.ofAuto().allocate(Math.max(64, bytes + bytes / 4), 64);
            slots[i] = s;
        }
        return s.asSlice(0, bytes);
    }
}
