package org.nibble.engine.io;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * Whole files and streams of known size read into one byte array, in slices of {@link #SLICE} bytes.
 *
 * <p>Why not {@code Files.readAllBytes}: for a heap array, the JDK reads through a temporary native buffer as
 * large as the read, so a 90 MB model file also allocates and touches 90 MB of native memory; on a VM where a page
 * fault is costly that doubled the read (all-MiniLM-L6-v2's ONNX file: 620-810 ms with {@code readAllBytes}, 315-360
 * ms in 1 MiB slices, throwaway timing loop). {@code InputStream.readAllBytes} on a stream of unknown size collects
 * its chunks and copies them once more at the end.
 */
public final class ByteFiles {
    private ByteFiles() {
    }

    /** Bytes per read call: the JDK's per-thread temporary native buffer stays this small. */
    static final int SLICE = 1 << 20;

    /** The whole file; fails with a message naming it for files of 2 GiB or more. */
    public static byte[] read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 8) {
                throw new IOException(file + ": " + size + " bytes; files of 2 GiB or more are not supported");
            }
            byte[] out = new byte[(int) size];
            int off = 0;
            while (off < out.length) {
                int n = ch.read(ByteBuffer.wrap(out, off, Math.min(SLICE, out.length - off)));
                if (n < 0) {
                    throw new EOFException(file + ": ended after " + off + " of " + size + " bytes (truncated while "
                            + "being read?)");
                }
                off += n;
            }
            return out;
        }
    }

    /**
     * The rest of a stream that should hold {@code expected} more bytes (e.g. a jar entry's size; negative when
     * unknown, then the stream is read to its end). The stream is not closed. A stream that ends early, or holds
     * more, is read in full all the same: {@code expected} only sizes the first array.
     */
    public static byte[] read(InputStream in, long expected) throws IOException {
        if (expected < 0 || expected > Integer.MAX_VALUE - 8) {
            return in.readAllBytes();
        }
        byte[] out = new byte[(int) expected];
        int off = in.readNBytes(out, 0, out.length);
        if (off < out.length) {
            return java.util.Arrays.copyOf(out, off);
        }
        byte[] rest = in.readAllBytes();
        if (rest.length == 0) {
            return out;
        }
        byte[] all = java.util.Arrays.copyOf(out, out.length + rest.length);
        System.arraycopy(rest, 0, all, out.length, rest.length);
        return all;
    }
}
