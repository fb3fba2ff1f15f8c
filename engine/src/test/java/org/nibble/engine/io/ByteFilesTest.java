package org.nibble.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ByteFilesTest {
    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Sizes around the slice length: every byte arrives, in order. */
    @Test
    void readsWholeFilesOfAnySize(@TempDir Path dir) throws IOException {
        int s = ByteFiles.SLICE;
        for (int n : new int[]{0, 1, 4095, s - 1, s, s + 1, 2 * s + s / 2}) {
            byte[] data = random(n, n);
            Path f = dir.resolve("f" + n);
            Files.write(f, data);
            assertArrayEquals(data, ByteFiles.read(f), n + " bytes");
        }
        assertThrows(NoSuchFileException.class, () -> ByteFiles.read(dir.resolve("missing")));
    }

    /** The expected size only sizes the first array: streams that end early, run longer or have no size are whole. */
    @Test
    void readsStreamsWhateverTheirExpectedSize() throws IOException {
        byte[] data = random(100_000, 7);
        for (long expected : new long[]{100_000, 99_999, 100_001, 1, 0, -1, Long.MAX_VALUE}) {
            // a stream that hands out at most 777 bytes per read, as inflating streams do
            InputStream in = new FilterInputStream(new ByteArrayInputStream(data)) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    return super.read(b, off, Math.min(len, 777));
                }
            };
            byte[] got = ByteFiles.read(in, expected);
            assertEquals(data.length, got.length, "expected " + expected);
            assertArrayEquals(data, got, "expected " + expected);
            assertEquals(-1, in.read(), "stream read to its end");
        }
    }
}
