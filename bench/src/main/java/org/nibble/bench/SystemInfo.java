package org.nibble.bench;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.OperatingSystemMXBean;
import org.nibble.kernels.Parallel;
import org.nibble.kernels.Simd;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** What {@code nibble info} prints: the JDK, the Vector API species, the CPU's SIMD features, threads and memory. */
public final class SystemInfo {
    private SystemInfo() {
    }

    private static final Set<String> SIMD_FLAGS = Set.of("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c",
            "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx_vnni", "avx512vbmi",
            "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16");

    /** Ordered key/value lines. */
    public static Map<String, String> collect() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("java", Runtime.version() + " (" + System.getProperty("java.vm.name") + ", "
                + System.getProperty("java.vendor") + ")");
        m.put("java.home", System.getProperty("java.home"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        m.put("cpu", cpuModel());
        m.put("cpu simd", String.join(" ", cpuSimdFlags()));
        m.put("vector api", Simd.describe());
        m.put("processors", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("threads", Parallel.threads() + " (set with --threads or -Dnibble.threads)");
        m.put("max heap", mib(Runtime.getRuntime().maxMemory()));
        m.put("off-heap limit", mib(maxDirectMemory()) + " (tensors; -XX:MaxDirectMemorySize)");
        var os = ManagementFactory.getPlatformMXBean(OperatingSystemMXBean.class);
        if (os != null) {
            m.put("physical memory", mib(os.getTotalMemorySize()) + " (" + mib(os.getFreeMemorySize()) + " free)");
        }
        return m;
    }

    /** Prints {@link #collect()} as aligned lines. */
    public static String format() {
        StringBuilder sb = new StringBuilder();
        collect().forEach((k, v) -> sb.append(String.format("%-16s %s%n", k + ":", v)));
        return sb.toString();
    }

    static long maxDirectMemory() {
        try {
            var hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            long v = Long.parseLong(hs.getVMOption("MaxDirectMemorySize").getValue());
            return v > 0 ? v : Runtime.getRuntime().maxMemory();
        } catch (RuntimeException e) {
            return Runtime.getRuntime().maxMemory();
        }
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }

    private static List<String> cpuInfoLines() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    static String cpuModel() {
        for (String line : cpuInfoLines()) {
            if (line.startsWith("model name") || line.startsWith("Model") || line.startsWith("CPU part")) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return System.getProperty("os.arch") + " (no /proc/cpuinfo)";
    }

    static List<String> cpuSimdFlags() {
        for (String line : cpuInfoLines()) {
            if (line.startsWith("flags") || line.startsWith("Features")) {
                Set<String> seen = new TreeSet<>();
                for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
                    if (SIMD_FLAGS.contains(f)) {
                        seen.add(f);
                    }
                }
                return new ArrayList<>(seen);
            }
        }
        return List.of("unknown (no /proc/cpuinfo)");
    }
}
