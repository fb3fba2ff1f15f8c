package org.nibble.bench;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.format.OutputFormat;

import java.io.PrintStream;
import java.util.Collection;

/** A one-line-per-benchmark progress printer instead of JMH's verbose log. */
final class ProgressFormat implements OutputFormat {
    private final PrintStream out;
    private int started;

    ProgressFormat(PrintStream out) {
        this.out = out;
    }

    @Override
    public void iteration(BenchmarkParams benchParams, IterationParams params, int iteration) {
    }

    @Override
    public void iterationResult(BenchmarkParams benchParams, IterationParams params, int iteration,
                                IterationResult data) {
    }

    @Override
    public void startBenchmark(BenchmarkParams benchParams) {
        started++;
        out.printf("[%d] %s %s ... ", started, BenchTable.shortName(benchParams.getBenchmark()),
                BenchTable.paramString(benchParams));
        out.flush();
    }

    @Override
    public void endBenchmark(BenchmarkResult result) {
        if (result == null) {
            out.println("failed");
            return;
        }
        var r = result.getPrimaryResult();
        out.printf("%.4g %s%n", r.getScore(), r.getScoreUnit());
    }

    @Override
    public void startRun() {
    }

    @Override
    public void endRun(Collection<RunResult> result) {
    }

    @Override
    public void print(String s) {
    }

    @Override
    public void println(String s) {
        if (s.contains("ERROR") || s.contains("Exception") || s.startsWith("<")) {
            out.println(s);
        }
    }

    @Override
    public void flush() {
        out.flush();
    }

    @Override
    public void close() {
        out.flush();
    }

    @Override
    public void verbosePrintln(String s) {
    }

    @Override
    public void write(int b) {
    }

    @Override
    public void write(byte[] b) {
    }
}
