package org.nibble.bench;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Formats JMH results as one table. Benchmark methods are named {@code <op>_<impl>}; rows that share class, op and
 * parameters form a group, and each row's ratio is {@code baselineTime / rowTime} (above 1 = faster than the
 * baseline). The baseline implementation is {@code scalar} unless the benchmark class declares a
 * {@code public static final String BASELINE}. If the class declares
 * {@code public static double flops(String op, Map<String,String> params)}, a GFLOP/s column is filled in.
 */
final class BenchTable {
    private BenchTable() {
    }

    record Row(String cls, String op, String impl, Map<String, String> params, double score, double error,
               String unit) {
        String groupKey() {
            return cls + "." + op + " " + params;
        }
    }

    static String shortName(String benchmark) {
        int dot = benchmark.lastIndexOf('.');
        int prev = benchmark.lastIndexOf('.', dot - 1);
        return benchmark.substring(prev + 1);
    }

    static String paramString(BenchmarkParams p) {
        StringBuilder sb = new StringBuilder();
        for (String k : p.getParamsKeys()) {
            sb.append(sb.isEmpty() ? "" : " ").append(k).append('=').append(p.getParam(k));
        }
        return sb.toString();
    }

    static String format(Collection<RunResult> results) {
        List<Row> rows = new ArrayList<>();
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            String name = shortName(p.getBenchmark());
            String cls = name.substring(0, name.indexOf('.'));
            String method = name.substring(name.indexOf('.') + 1);
            int us = method.lastIndexOf('_');
            String op = us > 0 ? method.substring(0, us) : method;
            String impl = us > 0 ? method.substring(us + 1) : "";
            Map<String, String> params = new TreeMap<>();
            for (String k : p.getParamsKeys()) {
                params.put(k, p.getParam(k));
            }
            var pr = r.getPrimaryResult();
            rows.add(new Row(p.getBenchmark().substring(0, p.getBenchmark().lastIndexOf('.')) + "|" + cls, op, impl,
                    params, pr.getScore(), pr.getScoreError(), pr.getScoreUnit()));
        }
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        for (Row row : rows) {
            groups.computeIfAbsent(row.groupKey(), k -> new ArrayList<>()).add(row);
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-34s %-12s %-34s %14s %10s %9s  %s%n", "benchmark", "impl",
                "params", "time/op", "GFLOP/s", "ratio", "(ratio = baseline time / time)"));
        for (List<Row> g : groups.values()) {
            String baselineImpl = baseline(g.getFirst().cls());
            Row base = g.stream().filter(r -> r.impl().equals(baselineImpl)).findFirst().orElse(null);
            for (Row r : g) {
                String ratio = base == null ? "" : r == base ? "baseline"
                        : String.format(Locale.ROOT, "%.2fx", base.score() / r.score());
                double flops = flops(r);
                String gf = Double.isNaN(flops) ? "" : String.format(Locale.ROOT, "%.1f",
                        flops / toNanos(r.score(), r.unit()));
                sb.append(String.format(Locale.ROOT, "%-34s %-12s %-34s %14s %10s %9s%n",
                        r.cls().substring(r.cls().indexOf('|') + 1) + "." + r.op(), r.impl(),
                        r.params().toString().replaceAll("[{}]", ""), time(r.score(), r.unit()), gf, ratio));
            }
            if (base == null && !available(g.getFirst().cls(), baselineImpl)) {
                Row r = g.getFirst();
                sb.append(String.format(Locale.ROOT, "%-34s %-12s %-34s %14s%n",
                        r.cls().substring(r.cls().indexOf('|') + 1) + "." + r.op(), baselineImpl,
                        r.params().toString().replaceAll("[{}]", ""), "not installed"));
            }
        }
        return sb.toString();
    }

    private static String time(double score, String unit) {
        double ns = toNanos(score, unit);
        if (Double.isNaN(ns)) {
            return String.format(Locale.ROOT, "%.4g %s", score, unit);
        }
        if (ns >= 1e6) {
            return String.format(Locale.ROOT, "%.3f ms", ns / 1e6);
        }
        if (ns >= 1e3) {
            return String.format(Locale.ROOT, "%.3f us", ns / 1e3);
        }
        return String.format(Locale.ROOT, "%.1f ns", ns);
    }

    private static double toNanos(double score, String unit) {
        return switch (unit) {
            case "ns/op" -> score;
            case "us/op" -> score * 1e3;
            case "ms/op" -> score * 1e6;
            case "s/op" -> score * 1e9;
            default -> Double.NaN;
        };
    }

    private static Class<?> load(String cls) {
        try {
            return Class.forName(cls.substring(0, cls.indexOf('|')));
        } catch (ClassNotFoundException e) {
            return null;
        }
    }

    private static String baseline(String cls) {
        Class<?> c = load(cls);
        if (c != null) {
            try {
                Field f = c.getField("BASELINE");
                return (String) f.get(null);
            } catch (ReflectiveOperationException | ClassCastException ignored) {
                // default below
            }
        }
        return "scalar";
    }

    /** False when the class declares {@code static boolean available(String impl)} and it says so. */
    private static boolean available(String cls, String impl) {
        Class<?> c = load(cls);
        if (c == null) {
            return true;
        }
        try {
            return (Boolean) c.getMethod("available", String.class).invoke(null, impl);
        } catch (ReflectiveOperationException | ClassCastException e) {
            return true;
        }
    }

    private static double flops(Row r) {
        Class<?> c = load(r.cls());
        if (c == null) {
            return Double.NaN;
        }
        try {
            Method m = c.getMethod("flops", String.class, Map.class);
            return ((Number) m.invoke(null, r.op(), r.params())).doubleValue();
        } catch (ReflectiveOperationException | ClassCastException e) {
            return Double.NaN;
        }
    }
}
