package org.nibble.engine.onnx;

import org.junit.jupiter.api.Test;
import org.nibble.engine.Scope;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxReaderTest {
    @Test
    void readsEveryPartOfASmallModel() throws Exception {
        OnnxModel m = OnnxReader.read(OnnxBytes.smallModel());
        assertEquals(8, m.irVersion());
        assertEquals("test", m.producerName());
        assertEquals(17L, m.opsets().get(""));
        OnnxGraph g = m.graph();
        assertEquals("g", g.name());
        assertEquals(List.of("Constant", "MatMul", "Add"), g.nodes().stream().map(OnnxNode::opType).toList());
        OnnxNode add = g.nodes().get(2);
        assertEquals(List.of("XW", "B"), add.inputs());
        assertEquals(0.25f, add.attribute("alpha").f());
        assertArrayEquals(new long[]{0, 2, 1}, add.attribute("perm").ints());
        OnnxTensor shape = g.nodes().getFirst().attribute("value").t();
        assertArrayEquals(new long[]{1, -1}, shape.longs());
        OnnxTensor w = g.initializer("W");
        assertArrayEquals(new long[]{2, 3}, w.dims());
        assertEquals("raw_data", w.storage());
        assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, w.floats());
        assertArrayEquals(new float[]{0.5f, -1f, 2f}, g.initializer("B").floats());
        assertEquals("float_data", g.initializer("B").storage());
        assertArrayEquals(new int[]{-1, 0, 127}, g.initializer("ZP").ints());
        assertEquals(OnnxDataType.INT8, g.initializer("ZP").dataType());
        assertEquals(List.of("X"), g.inputs().stream().map(OnnxValueInfo::name).toList());
        assertEquals(List.of("batch", 2L), g.inputs().getFirst().dims());
        assertEquals(OnnxDataType.FLOAT, g.inputs().getFirst().elemType());
        try (Scope s = Scope.open("t")) {
            assertArrayEquals(new float[]{1, 2, 3, 4, 5, 6}, w.toTensor(s).toFloatArray());
        }
    }

    /** copyFloats writes a range of raw_data and of float_data into a segment; bad ranges and types are refused. */
    @Test
    void copyFloatsCopiesARangeOfEitherStorage() throws Exception {
        OnnxGraph g = OnnxReader.read(OnnxBytes.smallModel()).graph();
        var layout = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment dst = a.allocate(4 * 8);
            dst.fill((byte) 0x7f);
            g.initializer("W").copyFloats(2, 3, dst, layout, 4); // raw_data elements 2..4 to floats 1..3
            g.initializer("B").copyFloats(1, 2, dst, layout, 4 * 5); // float_data elements 1..2 to floats 5..6
            float[] got = dst.toArray(layout);
            float garbage = Float.intBitsToFloat(0x7f7f7f7f);
            assertArrayEquals(new float[]{garbage, 3, 4, 5, garbage, -1f, 2f, garbage}, got);
            assertThrows(IndexOutOfBoundsException.class, () -> g.initializer("W").copyFloats(4, 3, dst, layout, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> g.initializer("W").copyFloats(0, 6, dst, layout, 12));
            assertThrows(IllegalStateException.class, () -> g.initializer("ZP").copyFloats(0, 1, dst, layout, 0));
        }
    }

    @Test
    void everyTruncationFailsWithAFormatError() {
        byte[] full = OnnxBytes.smallModel();
        for (int len = 0; len < full.length; len++) {
            byte[] cut = Arrays.copyOf(full, len);
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(cut),
                    "truncated to " + len);
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
        }
    }

    @Test
    void foreignFilesAreNamed() {
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(new byte[0])).getMessage()
                .contains("empty"));
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(
                new byte[]{'P', 'K', 3, 4, 20, 0})).getMessage().contains("zip"));
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
        assertThrows(OnnxFormatException.class, () -> OnnxReader.read(png));
        byte[] text = "hello world, this is not a model\n".getBytes(StandardCharsets.UTF_8);
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(text));
        assertTrue(e.getMessage().contains("ONNX"), e.getMessage());
    }

    @Test
    void randomBytesNeverEscapeAsAnotherException() {
        SplittableRandom rng = new SplittableRandom(7);
        byte[] model = OnnxBytes.smallModel();
        for (int trial = 0; trial < 2000; trial++) {
            byte[] b;
            if (trial % 2 == 0) {
                b = new byte[rng.nextInt(1, 200)];
                rng.nextBytes(b);
            } else {
                b = model.clone();
                for (int flips = 0; flips < 3; flips++) {
                    b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
                }
            }
            try {
                OnnxReader.read(b);
            } catch (OnnxFormatException expected) {
                // the only acceptable failure
            }
        }
    }

    @Test
    void forgedSizesFailBeforeAllocating() {
        // dims claiming 2^60 floats with 24 bytes of data
        byte[] huge = model(OnnxBytes.rawTensor("W", 1, OnnxBytes.floatsLE(1, 2, 3, 4, 5, 6), 1L << 30, 1L << 30));
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(huge));
        assertTrue(e.getMessage().contains("'W'") && e.getMessage().contains("dims"), e.getMessage());
        // dims that need more bytes than raw_data holds
        byte[] short1 = model(OnnxBytes.rawTensor("W", 1, OnnxBytes.floatsLE(1, 2, 3), 1000, 1000));
        e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(short1));
        assertTrue(e.getMessage().contains("4000000 bytes of raw_data, found 12"), e.getMessage());
        // a length prefix of ~2 GB in a 30-byte file
        byte[] forged = {0x08, 0x07, 0x3a, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 1, 2, 3};
        e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(forged));
        assertTrue(e.getMessage().contains("length") || e.getMessage().contains("truncated"), e.getMessage());
        // negative dimension
        byte[] neg = model(OnnxBytes.rawTensor("W", 1, OnnxBytes.floatsLE(1), -1));
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(neg)).getMessage()
                .contains("negative"));
    }

    @Test
    void unsupportedStorageIsNamed() {
        OnnxBytes ext = new OnnxBytes().varint(1, 4).varint(2, 1).string(8, "E").varint(14, 1);
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxReader.read(model(ext)));
        assertTrue(e.getMessage().contains("'E'") && e.getMessage().toLowerCase().contains("external"),
                e.getMessage());
        OnnxBytes str = new OnnxBytes().varint(1, 1).varint(2, 8).string(8, "S").bytes(6, new byte[]{'a'});
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(model(str))).getMessage()
                .contains("string_data"));
        OnnxBytes wrongType = new OnnxBytes().varint(1, 2).varint(2, 7).string(8, "L").packedFloats(4, 1, 2);
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(model(wrongType))).getMessage()
                .contains("float_data given for a INT64"));
    }

    @Test
    void graphMissingOrWrongWireType() {
        byte[] noGraph = new OnnxBytes().varint(1, 7).toByteArray();
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(noGraph)).getMessage()
                .contains("no graph"));
        byte[] wire = new OnnxBytes().varint(7, 5).toByteArray();  // graph as a varint
        assertTrue(assertThrows(OnnxFormatException.class, () -> OnnxReader.read(wire)).getMessage()
                .contains("wire type"));
    }

    private static byte[] model(OnnxBytes tensor) {
        OnnxBytes graph = new OnnxBytes().message(5, tensor);
        return new OnnxBytes().varint(1, 8).message(7, graph).toByteArray();
    }
}
