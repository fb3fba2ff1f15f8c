package org.nibble.models.bert;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nibble.kernels.Parallel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Once compiled, an encoder forward allocates little beyond its output. A kernel helper that takes or returns a vector
 * and that C2 does not inline boxes every such vector: it happened to {@code GemmF32}'s tile store (19.6 MB per
 * 128-token forward), to {@code QuantPanels}' code decoders (42 MB per Q6 forward) and to {@code Attention}'s tile
 * kernels (96-577 KB per forward on AVX-512, then its softmax helpers' returned maxima and sums on CI), each time only
 * in some JVM runs; and a JDK vector call site whose profile had seen two vector shapes made C2 box the accumulators of
 * {@code QuantPanels}' 512-bit kernels in some runs (1.4 GB per pair of Q6 forwards). The models build therefore runs
 * this test three times ({@code models/pom.xml}): as usual; with no nibble method inlined (execution
 * forward-allocation-without-inlining), where every such helper boxes every run; and with C2 alone
 * (forward-allocation-without-tiers), where the kernels compile from the interpreter's profiles, as in the runs that
 * boxed. One thread, so all the work (and its allocation) is on the calling thread. A failure lists the heaviest
 * allocation sites.
 */
class ForwardAllocationTest {
    /** Headroom beyond the output: the Output record, its offsets, a few small per-call arrays. */
    static final long SLACK_BYTES = 64 << 10;

    @ParameterizedTest
    @EnumSource(value = MiniLm.Variant.class, names = {"F32", "Q8", "Q6", "Q4"})
    void compiledForwardAllocatesLittleBeyondItsOutput(MiniLm.Variant variant) throws Exception {
        int threads = Parallel.threads();
        Parallel.setThreads(1);
        try (MiniLm m = MiniLm.load(variant)) {
            // two lengths: the padded batch path and its mask; with the long sentence the quantized projections
            // get more than ShiftProjection.FUSED_ROWS rows (their decode-all path), without it fewer (fused path)
            String longer = "the quick brown fox jumps over the lazy dog ".repeat(4);
            List<int[]> batch = m.tokenize(List.of("The quick brown fox jumps over the lazy dog.", "Hi", longer));
            long out = 4L * (batch.get(0).length + batch.get(1).length + batch.get(2).length)
                    * m.encoder().config().hidden();
            long bound = out + SLACK_BYTES;
            var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            double perForward = Double.NaN;
            long deadline = System.nanoTime() + 40_000_000_000L;
            // repeat until the allocation per forward is that low (compiled) or 40 s pass
            while (System.nanoTime() < deadline) {
                long before = bean.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100; i++) {
                    m.encoder().forward(batch.subList(0, 2));
                    m.encoder().forward(batch.subList(2, 3));
                }
                perForward = (bean.getCurrentThreadAllocatedBytes() - before) / 100.0;
                if (perForward <= bound) {
                    break;
                }
            }
            if (perForward > bound) {
                String sites = topAllocationSites(() -> {
                    m.encoder().forward(batch.subList(0, 2));
                    m.encoder().forward(batch.subList(2, 3));
                }, 300);
                fail(variant + ": " + perForward + " bytes allocated per pair of forwards after 40 s of them, "
                        + "expected at most " + bound + " (output " + out + " bytes); top allocation sites (JFR "
                        + "samples, bytes per pair):\n" + sites);
            }
        } finally {
            Parallel.setThreads(threads);
        }
    }

    /**
     * The ten heaviest allocation sites of {@code calls} runs of {@code work} on this thread, from JFR's allocation
     * samples: class, estimated bytes per run and the top frames, one site per line. A failure then says which
     * kernel boxed, without a rerun under a profiler (the boxing happens only in some JVM runs).
     */
    static String topAllocationSites(Runnable work, int calls) throws IOException {
        Path file = Files.createTempFile("nibble-alloc", ".jfr");
        try {
            try (Recording recording = new Recording()) {
                recording.enable("jdk.ObjectAllocationSample").with("throttle", "10000/s").withStackTrace();
                recording.start();
                for (int i = 0; i < calls; i++) {
                    work.run();
                }
                recording.stop();
                recording.dump(file);
            }
            Map<String, Long> bytes = new HashMap<>();
            String thread = Thread.currentThread().getName();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                if (e.getThread("eventThread") == null || !thread.equals(e.getThread("eventThread").getJavaName())) {
                    continue;
                }
                StringBuilder site = new StringBuilder(e.getClass("objectClass").getName());
                if (e.getStackTrace() != null) {
                    List<RecordedFrame> frames = e.getStackTrace().getFrames();
                    for (int i = 0; i < Math.min(8, frames.size()); i++) {
                        RecordedFrame f = frames.get(i);
                        site.append(" <- ").append(f.getMethod().getType().getName()).append('.')
                                .append(f.getMethod().getName()).append(':').append(f.getLineNumber());
                    }
                }
                bytes.merge(site.toString(), e.getLong("weight"), Long::sum);
            }
            StringBuilder top = new StringBuilder();
            bytes.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(10)
                    .forEach(en -> top.append(en.getValue() / calls).append(' ').append(en.getKey()).append('\n'));
            return top.toString();
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
