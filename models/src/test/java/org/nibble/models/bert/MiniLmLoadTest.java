package org.nibble.models.bert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link MiniLm#load(MiniLm.Variant)} from a models directory ({@code -Dnibble.models}) instead of the class path. */
class MiniLmLoadTest {
    @Test
    void aModelsDirectoryGivesTheSameModelAsTheClassPath(@TempDir Path dir) throws Exception {
        for (String name : new String[]{MiniLm.ONNX_RESOURCE, MiniLm.TOKENIZER_RESOURCE}) {
            try (InputStream in = MiniLm.class.getResourceAsStream(name)) {
                Files.copy(in, dir.resolve(name.substring(1)));
            }
        }
        String text = "Files unpacked by the build, read without inflating the jar.";
        float[] fromJar, fromDir;
        try (MiniLm m = MiniLm.load(MiniLm.Variant.F32, null)) {
            fromJar = m.embed(text);
        }
        try (MiniLm m = MiniLm.load(MiniLm.Variant.F32, dir.toString())) {
            fromDir = m.embed(text);
        }
        assertArrayEquals(fromJar, fromDir);
        // ORT's int8 file is not in the directory: the error names the file and the property
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> MiniLm.load(MiniLm.Variant.ORT_INT8, dir.toString()));
        assertTrue(e.getMessage().contains("all-minilm-l6-v2-q.onnx") && e.getMessage().contains("nibble.models"),
                e.getMessage());
    }
}
