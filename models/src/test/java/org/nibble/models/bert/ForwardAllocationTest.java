package org.nibble.models.bert;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nibble.kernels.Parallel;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Once compiled, an encoder forward allocates little beyond its output. A kernel helper that takes or returns a
 * vector and that C2 does not inline boxes every such vector: it happened to {@code GemmF32}'s tile store (19.6 MB
 * per 128-token forward) and to {@code QuantPanels}' code decoders (42 MB per Q6 forward), each time only in some
 * JVM runs. One thread, so all the work (and its allocation) is on the calling thread.
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
            // two lengths: the padded batch path and its mask
            List<int[]> batch = m.tokenize(List.of("The quick brown fox jumps over the lazy dog.", "Hi"));
            long out = 4L * (batch.get(0).length + batch.get(1).length) * m.encoder().config().hidden();
            long bound = out + SLACK_BYTES;
            var bean = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            double perForward = Double.NaN;
            long deadline = System.nanoTime() + 40_000_000_000L;
            // repeat until the allocation per forward is that low (compiled) or 40 s pass
            while (System.nanoTime() < deadline) {
                long before = bean.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 100; i++) {
                    m.encoder().forward(batch);
                }
                perForward = (bean.getCurrentThreadAllocatedBytes() - before) / 100.0;
                if (perForward <= bound) {
                    break;
                }
            }
            assertTrue(perForward <= bound, variant + ": " + perForward + " bytes allocated per forward after 40 s of "
                    + "forwards, expected at most " + bound + " (output " + out + " bytes)");
        } finally {
            Parallel.setThreads(threads);
        }
    }
}
