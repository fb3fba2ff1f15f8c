package org.nibble.bench;

import org.junit.jupiter.api.Test;
import org.nibble.kernels.Parallel;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NibbleCliTest {
    private static String[] run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = NibbleCli.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[]{Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void versionAndHelp() {
        String[] v = run("--version");
        assertEquals("0", v[0]);
        assertTrue(v[1].startsWith("nibble "), v[1]);
        assertTrue(v[1].contains("Java " + Runtime.version().feature()), v[1]);
        String[] h = run("--help");
        assertEquals("0", h[0]);
        assertTrue(h[1].contains("info") && h[1].contains("bench"), h[1]);
    }

    @Test
    void infoReportsSpeciesCpuAndThreads() {
        var info = SystemInfo.collect();
        assertTrue(info.get("java").startsWith(Integer.toString(Runtime.version().feature())), info.get("java"));
        assertTrue(info.get("vector api").contains("float x"), info.get("vector api"));
        assertTrue(info.get("threads").startsWith(Integer.toString(Parallel.threads())), info.get("threads"));
        assertTrue(info.containsKey("cpu simd") && info.containsKey("off-heap limit"));
    }

    @Test
    void enumOptionsTakeAnyCaseAndNameTheChoices() {
        assertEquals("0", run("embed", "--variant", "q4", "--help")[0]);
        assertEquals("0", run("embed", "--variant", "Ort_Int8", "--help")[0]);
        String[] r = run("embed", "--variant", "q5", "--help");
        assertNotEquals("0", r[0]);
        assertTrue(r[2].contains("--variant") && r[2].contains("q5") && r[2].contains("Q4"), r[2]);
    }

    @Test
    void threadsOptionIsValidated() {
        int before = Parallel.threads();
        try {
            String[] r = run("info", "--threads", "0");
            assertNotEquals("0", r[0]);
            assertTrue(r[2].contains("--threads") && r[2].contains("0"), r[2]);
            assertEquals("0", run("info", "--threads", "1")[0]);
            assertEquals(1, Parallel.threads());
        } finally {
            Parallel.setThreads(before);
        }
    }
}
