package org.nibble.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the README's jshell command ({@code ./nibble jshell}) non-interactively on a script and checks what it
 * prints. Runs after {@code package}, against the packaged jar.
 */
class JshellIT {
    @Test
    void readmeJshellCommandRunsAScript() throws IOException, InterruptedException {
        Path root = Path.of("..").toAbsolutePath().normalize();
        Path script = Path.of("src/test/resources/example.jsh").toAbsolutePath();
        Path log = Files.createTempFile("nibble-jshell", ".log");
        Process p = new ProcessBuilder(root.resolve("nibble").toString(), "jshell", script.toString())
                .directory(root.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .start();
        boolean done = p.waitFor(180, TimeUnit.SECONDS);
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done, "jshell did not finish in 180 s:\n" + out);
        assertEquals(0, p.exitValue(), out);
        // y = 0.5 + 2 x, computed by hand
        assertTrue(out.contains("axpy=[2.5, 4.5, 6.5, 8.5, 10.5, 12.5]"), out);
        // 1 + 4 + 9 + 16 + 25 + 36
        assertTrue(out.contains("dot=91.0"), out);
        assertTrue(out.contains("tensor([[1.0000, 4.0000],"), out);
        assertTrue(out.contains("shape=[3, 2], dtype=F32"), out);
    }
}
