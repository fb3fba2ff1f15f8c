package org.nibble.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nibble.models.gpt.GptConfig;
import org.nibble.models.gpt.Placement;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainCommandTest {
    private static int run(String... args) {
        CommandLine cl = NibbleCli.commandLine();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(new StringWriter()));
        return cl.execute(args);
    }

    private static Path corpus(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 400; i++) {
            sb.append("Madam President, the report ").append(i).append(" was adopted by the house.\n");
        }
        return Files.writeString(dir.resolve("text.txt"), sb);
    }

    @Test
    void trainWritesMetricsSummaryPlotAndCheckpointThenGenerates(@TempDir Path dir) throws IOException {
        Path data = corpus(dir), out = dir.resolve("run");
        assertEquals(0, run("train", "--data", data.toString(), "--layers", "1", "--dim", "16", "--heads", "2",
                "--ctx", "16", "--batch", "2", "--steps", "4", "--eval-every", "2", "--eval-batches", "1",
                "--diagnostics", "--out", out.toString(), "--threads", "1"));
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(5, csv.size(), "header + 4 steps");
        assertTrue(csv.get(0).endsWith("act_rms_0,grad_norm_0"), csv.get(0));
        assertTrue(!csv.get(2).split(",")[2].isEmpty(), "validation at step 2: " + csv.get(2));
        String summary = Files.readString(out.resolve("summary.json"));
        assertTrue(summary.contains("\"steps_done\": 4") && summary.contains("\"failure\": null"), summary);
        byte[] png = Files.readAllBytes(out.resolve("loss.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        assertTrue(Files.size(out.resolve("checkpoint.safetensors")) > 1000);

        assertEquals(0, run("generate", "--checkpoint", out.resolve("checkpoint.safetensors").toString(),
                "--prompt", "Madam", "--tokens", "40", "--threads", "1"));
        assertNotEquals(0, run("generate", "--checkpoint", data.toString()), "a text file is not a checkpoint");
    }

    @Test
    void compareRunsEveryVariantAndPlotsThem(@TempDir Path dir) throws IOException {
        Path data = corpus(dir), out = dir.resolve("cmp");
        assertEquals(0, run("train", "--data", data.toString(), "--layers", "1", "--dim", "16", "--heads", "2",
                "--ctx", "16", "--batch", "2", "--steps", "3", "--eval-batches", "1", "--out", out.toString(),
                "--compare", "placement=pre,post", "--threads", "1"));
        assertTrue(Files.exists(out.resolve("compare.png")));
        assertTrue(Files.exists(out.resolve("placement-pre/summary.json")));
        assertTrue(Files.exists(out.resolve("placement-post/summary.json")));
    }

    @Test
    void variantsParseAndBadInputIsRejected() {
        GptConfig base = GptConfig.of(2, 16, 2, 16, Placement.PERI, "layernorm");
        var v = TrainCommand.variants(base, "bits=32,6,4");
        assertEquals(List.of(32, 6, 4), v.stream().map(GptConfig::bits).toList());
        assertEquals(Placement.LNS, TrainCommand.variants(base, "placement=pre,lns").get(1).placement());
        assertThrows(IllegalArgumentException.class, () -> TrainCommand.variants(base, "depth=1,2"));
        assertThrows(IllegalArgumentException.class, () -> TrainCommand.variants(base, "bits"));
        assertNotEquals(0, run("train", "--bits", "5", "--steps", "1", "--data", "/nonexistent/file"));
        assertNotEquals(0, run("train", "--placement", "sideways", "--steps", "1"));
    }

    @Test
    void embedBits8TrainsResumesAndGenerates(@TempDir Path dir) throws IOException {
        Path data = corpus(dir), out = dir.resolve("e8");
        String[] common = {"train", "--data", data.toString(), "--layers", "1", "--dim", "16", "--heads", "2",
                "--ctx", "16", "--batch", "2", "--eval-batches", "1", "--out", out.toString(), "--threads", "1"};
        String[] first = java.util.stream.Stream.concat(java.util.Arrays.stream(common),
                java.util.stream.Stream.of("--steps", "2", "--embed-bits", "8")).toArray(String[]::new);
        assertEquals(0, run(first));
        String summary = Files.readString(out.resolve("summary.json"));
        assertTrue(summary.contains("\"embed_bits\": 8") && summary.contains("fp32e8/peri"), summary);
        Path ck = out.resolve("checkpoint.safetensors");
        try (var scope = org.nibble.engine.Scope.open("t")) {
            var meta = org.nibble.engine.io.SafeTensors.read(ck, scope).metadata();
            assertEquals(8, org.nibble.models.train.Trainer.info(meta, ck).gpt().embedBits());
        }
        String[] resume = java.util.stream.Stream.concat(java.util.Arrays.stream(common),
                java.util.stream.Stream.of("--steps", "3", "--resume", ck.toString())).toArray(String[]::new);
        assertEquals(0, run(resume));
        assertEquals(0, run("generate", "--checkpoint", ck.toString(), "--prompt", "Madam", "--tokens", "8",
                "--threads", "1"));
    }

    @Test
    void badEmbedBitsNamesTheFlag() {
        CommandLine cl = NibbleCli.commandLine();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(new StringWriter()));
        cl.setErr(new PrintWriter(err));
        assertNotEquals(0, cl.execute("train", "--embed-bits", "4", "--steps", "1", "--data", "/nonexistent/file"));
        String msg = err.toString();
        assertTrue(msg.contains("--embed-bits: expected 32 (FP32) or 8 (ShiftQuant), got 4"), msg);
    }
}
