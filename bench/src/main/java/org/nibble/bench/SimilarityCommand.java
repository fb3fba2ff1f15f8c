package org.nibble.bench;

import org.nibble.models.bert.MiniLm;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code nibble similarity "a" "b"}: cosine similarity of two sentence embeddings. */
@Command(name = "similarity", mixinStandardHelpOptions = true,
        description = "Cosine similarity of the all-MiniLM-L6-v2 embeddings of two texts (timing to stderr).")
final class SimilarityCommand implements Callable<Integer> {
    @Mixin
    NibbleCli.Common common;

    @Mixin
    ModelOptions modelOptions;

    @Parameters(index = "0", paramLabel = "A", description = "First text.")
    String a;

    @Parameters(index = "1", paramLabel = "B", description = "Second text.")
    String b;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        try (MiniLm m = modelOptions.load(spec.commandLine())) {
            long t1 = System.nanoTime();
            float[][] v = m.embed(List.of(a, b));
            float sim = MiniLm.similarity(v[0], v[1]);
            long t2 = System.nanoTime();
            System.out.printf(Locale.ROOT, "%.6f%n", sim);
            System.err.printf(Locale.ROOT, "%s: load %.0f ms, embed + similarity %.1f ms%n", m.variant(),
                    (t1 - t0) / 1e6, (t2 - t1) / 1e6);
        }
        return 0;
    }
}
