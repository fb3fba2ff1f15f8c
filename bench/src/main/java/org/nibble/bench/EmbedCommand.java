package org.nibble.bench;

import org.nibble.models.bert.MiniLm;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code nibble embed "text" ...}: sentence embeddings with all-MiniLM-L6-v2. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = {"Sentence embeddings (all-MiniLM-L6-v2: mean-pooled, L2-normalized, 384 floats).",
                "Prints a short preview per text, or --json for the full vectors; timing goes to stderr."})
final class EmbedCommand implements Callable<Integer> {
    @Mixin
    NibbleCli.Common common;

    @Mixin
    ModelOptions modelOptions;

    @Parameters(arity = "1..*", paramLabel = "TEXT", description = "Texts to embed (one batch).")
    List<String> texts;

    @Option(names = "--json", description = "Print the vectors as JSON: [{\"text\": ..., \"embedding\": [...]}].")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        try (MiniLm m = modelOptions.load(spec.commandLine())) {
            long t1 = System.nanoTime();
            float[][] v = m.embed(texts);
            long t2 = System.nanoTime();
            if (json) {
                StringBuilder b = new StringBuilder("[");
                for (int s = 0; s < v.length; s++) {
                    b.append(s == 0 ? "\n" : ",\n").append("  {\"text\": ").append(jsonString(texts.get(s)))
                            .append(", \"tokens\": ").append(m.tokenizer().encode(texts.get(s)).length)
                            .append(", \"embedding\": [");
                    for (int j = 0; j < v[s].length; j++) {
                        b.append(j == 0 ? "" : ", ").append(v[s][j]);
                    }
                    b.append("]}");
                }
                System.out.println(b.append("\n]"));
            } else {
                for (int s = 0; s < v.length; s++) {
                    StringBuilder b = new StringBuilder();
                    for (int j = 0; j < 6; j++) {
                        b.append(String.format(Locale.ROOT, "%s%.5f", j == 0 ? "" : ", ", v[s][j]));
                    }
                    System.out.printf(Locale.ROOT, "%-40s %3d tokens  [%s, ...] (%d floats)%n",
                            preview(texts.get(s)), m.tokenizer().encode(texts.get(s)).length, b, v[s].length);
                }
            }
            System.err.printf(Locale.ROOT, "%s: load %.0f ms, embed %.1f ms for %d text(s), %.1f MB of weights%n",
                    m.variant(), (t1 - t0) / 1e6, (t2 - t1) / 1e6, v.length, m.weightBytes() / 1e6);
        }
        return 0;
    }

    static String preview(String s) {
        String one = s.replaceAll("\\s+", " ");
        return "\"" + (one.length() > 36 ? one.substring(0, 33) + "..." : one) + "\"";
    }

    static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
