package org.nibble.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nibble.engine.DType;
import org.nibble.engine.Scope;
import org.nibble.engine.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripKeepsValuesShapesDtypesAndMetadata() throws IOException {
        Path f = dir.resolve("a.safetensors");
        try (Scope s = Scope.open("t")) {
            Map<String, Tensor> ts = new LinkedHashMap<>();
            ts.put("w", s.fromArray(new float[]{1.5f, -2f, 3.25f, 0f, 1e-30f, Float.MAX_VALUE}, 2, 3));
            ts.put("ids", s.fromArray(new int[]{7, -1, 1 << 30}, 3));
            ts.put("empty", s.zeros(DType.F32, 0, 4));
            SafeTensors.write(f, ts, Map.of("step", "12", "quote", "a\"b\\c\n"));
            var loaded = SafeTensors.read(f, s);
            assertArrayEquals(ts.get("w").toFloatArray(), loaded.tensors().get("w").toFloatArray());
            assertArrayEquals(new int[]{2, 3}, loaded.tensors().get("w").shape());
            assertArrayEquals(new int[]{7, -1, 1 << 30}, loaded.tensors().get("ids").toIntArray());
            assertEquals(DType.I32, loaded.tensors().get("ids").dtype());
            assertArrayEquals(new int[]{0, 4}, loaded.tensors().get("empty").shape());
            assertEquals("12", loaded.metadata().get("step"));
            assertEquals("a\"b\\c\n", loaded.metadata().get("quote"));
        }
        // the real layout: 8-byte LE length, JSON header, little-endian raw data right after it
        byte[] raw = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(raw, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(raw, 8, (int) n, StandardCharsets.UTF_8);
        assertTrue(header.contains("\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), header);
        float first = ByteBuffer.wrap(raw, 8 + (int) n, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat();
        assertEquals(1.5f, first);
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void foreignAndTruncatedFilesFailClearly() throws IOException {
        Path f = dir.resolve("x.bin");
        Files.write(f, "hello world, not a checkpoint".getBytes(StandardCharsets.UTF_8));
        var e = assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
        Files.write(f, new byte[3]);
        assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f));

        Path good = dir.resolve("g.safetensors");
        try (Scope s = Scope.open("t")) {
            SafeTensors.write(good, Map.of("w", s.fromArray(new float[64], 64)), Map.of());
        }
        byte[] raw = Files.readAllBytes(good);
        Files.write(f, java.util.Arrays.copyOf(raw, raw.length - 10)); // truncated data
        var t = assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f));
        assertTrue(t.getMessage().contains("outside the data section"), t.getMessage());
        raw[9] = 'x'; // corrupt JSON
        Files.write(f, raw);
        assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f));
    }

    @Test
    void forgedHeaderCannotAllocateBeyondTheFile() throws IOException {
        long before = Scope.liveBytes();
        // shape claims 2^31-1 x 2^31-1 floats, offsets claim a petabyte: both must be refused before any allocation
        String[] forged = {
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647],\"data_offsets\":[0,16]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1000000000000000]}}",
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,1073741824]}}",
                // many tensors aliasing the same bytes would multiply the allocation: overlaps are refused
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
        };
        for (String h : forged) {
            Path f = dir.resolve("forged.safetensors");
            byte[] hb = h.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(8 + hb.length + 16).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(hb.length).put(hb);
            Files.write(f, b.array());
            assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f), h);
        }
        // a header length larger than the file
        Path f = dir.resolve("len.safetensors");
        Files.write(f, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE).array());
        assertThrows(SafeTensors.SafeTensorsException.class, () -> read(f));
        assertEquals(before, Scope.liveBytes());
    }

    private static void read(Path f) throws IOException {
        try (Scope s = Scope.open("r")) {
            SafeTensors.read(f, s);
        }
    }
}
