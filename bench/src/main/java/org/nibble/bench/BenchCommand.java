package org.nibble.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code nibble bench}: runs the JMH benchmarks of {@code org.nibble.bench.jmh} programmatically and prints one table
 * with each implementation's ratio to its baseline (the scalar twin, or a native library) measured in the same run.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Run the JMH benchmarks and print a table with ratios measured in one run.",
                "Quick mode (default) takes under 2 minutes for the default set; --full is publication grade."})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    NibbleCli.Common common;

    @Parameters(arity = "0..*", paramLabel = "REGEX",
            description = "Benchmarks to run, as regular expressions over class.method (default: the default set).")
    List<String> include = new ArrayList<>();

    @Option(names = "--full", description = "More forks, warm-up and iterations (slower, tighter error bars).")
    boolean full;

    @Option(names = "--param", paramLabel = "NAME=V1,V2",
            description = "Override a benchmark parameter, e.g. --param size=1024,65536.")
    List<String> params = new ArrayList<>();

    @Option(names = "--list", description = "List the benchmarks and exit.")
    boolean list;

    /** What runs when no REGEX is given. Later issues add their rows here. */
    static final List<String> DEFAULT_SET = List.of("FloatOpsBench");

    @Override
    public Integer call() throws RunnerException {
        System.out.print(SystemInfo.format());
        System.out.println();
        ChainedOptionsBuilder b = new OptionsBuilder()
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                        "-Xmx4g")
                .shouldFailOnError(true);
        for (String r : include.isEmpty() ? DEFAULT_SET : include) {
            b.include(r);
        }
        System.out.printf("%-16s %s%n%n", "openblas:", OpenBlas.describe());
        if (!OpenBlas.available()) {
            b.exclude(".*_openblas$");
        }
        for (String p : params) {
            int eq = p.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--param: expected NAME=V1,V2,..., got '" + p + "'");
            }
            b.param(p.substring(0, eq), p.substring(eq + 1).split(","));
        }
        if (full) {
            b.forks(2).warmupIterations(5).warmupTime(TimeValue.seconds(1))
                    .measurementIterations(5).measurementTime(TimeValue.seconds(1));
        } else {
            b.forks(1).warmupIterations(2).warmupTime(TimeValue.milliseconds(300))
                    .measurementIterations(3).measurementTime(TimeValue.milliseconds(300));
        }
        Runner runner = new Runner(b.build(), new ProgressFormat(System.out));
        if (list) {
            runner.list();
            return 0;
        }
        long t0 = System.nanoTime();
        Collection<RunResult> results = runner.run();
        System.out.println();
        System.out.print(BenchTable.format(results));
        System.out.printf("%n%d benchmarks in %.0f s (%s mode)%n", results.size(),
                (System.nanoTime() - t0) / 1e9, full ? "full" : "quick");
        return 0;
    }
}
