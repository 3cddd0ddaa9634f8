// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Turns a JMH JSON result file into Markdown tables (time per element, GB/s, fraction of the memory baseline
 * measured in the same run, vector/scalar speed-up, thread scaling, checked/unchecked cost, bytes allocated per
 * step), a check of the targets, and a PNG plot of ns/element against size.
 *
 * <p>Usage: {@code java -cp jmh/target/benchmarks.jar io.github.sgdsai.jmh.Report results.json OUT_DIR [header.md
 * [notes.md]]} writes {@code OUT_DIR/RESULTS.md} (the header, the tables, then the notes) and
 * {@code OUT_DIR/update-ns-per-element.png}.
 */
public final class Report {

    /**
     * One JMH result: benchmark method, parameters, mean ns/op, its 99.9% error, and bytes allocated per op (NaN if
     * not profiled).
     */
    record Row(String bench, Map<String, String> params, double ns, double nsError, double allocPerOp) {
        String p(String k) {
            return params.getOrDefault(k, "");
        }

        int size() {
            return Integer.parseInt(p("size"));
        }
    }

    private final List<Row> rows;

    Report(List<Row> rows) {
        this.rows = rows;
    }

    /** Entry point; see the class documentation. */
    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Report results.json OUT_DIR [header.md [notes.md]]");
            System.exit(2);
        }
        Report r = new Report(parse(Path.of(args[0])));
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        String header = args.length > 2 ? Files.readString(Path.of(args[2])) : "";
        String notes = args.length > 3 ? "\n" + Files.readString(Path.of(args[3])) : "";
        Files.writeString(out.resolve("RESULTS.md"), header + r.markdown() + notes);
        r.plot(out.resolve("update-ns-per-element.png"));
        System.out.println("wrote " + out.resolve("RESULTS.md") + " and " + out.resolve("update-ns-per-element.png"));
    }

    static List<Row> parse(Path json) throws IOException {
        List<Row> rows = new ArrayList<>();
        try (Reader in = Files.newBufferedReader(json)) {
            JsonArray all = JsonParser.parseReader(in).getAsJsonArray();
            for (JsonElement e : all) {
                JsonObject o = e.getAsJsonObject();
                String bench = o.get("benchmark").getAsString();
                bench = bench.substring(bench.lastIndexOf('.', bench.lastIndexOf('.') - 1) + 1);
                Map<String, String> params = new TreeMap<>();
                if (o.has("params")) {
                    for (Map.Entry<String, JsonElement> p : o.getAsJsonObject("params").entrySet()) {
                        params.put(p.getKey(), p.getValue().getAsString());
                    }
                }
                JsonObject primary = o.getAsJsonObject("primaryMetric");
                double ns = primary.get("score").getAsDouble();
                double nsError = primary.get("scoreError").getAsDouble();
                double alloc = Double.NaN;
                JsonObject sec = o.getAsJsonObject("secondaryMetrics");
                if (sec != null && sec.has("gc.alloc.rate.norm")) {
                    alloc = sec.getAsJsonObject("gc.alloc.rate.norm").get("score").getAsDouble();
                }
                rows.add(new Row(bench, params, ns, nsError, alloc));
            }
        }
        return rows;
    }

    /** Mean ns/op of the one row matching, or NaN. */
    double ns(String bench, Predicate<Row> where) {
        return rows.stream().filter(r -> r.bench().equals(bench) && where.test(r)).mapToDouble(Row::ns).findFirst()
                .orElse(Double.NaN);
    }

    private static Predicate<Row> at(String storage, int size) {
        return r -> r.p("storage").equals(storage) && r.size() == size;
    }

    private static Predicate<Row> is(String key, String value) {
        return r -> r.p(key).equals(value);
    }

    private TreeSet<Integer> sizes(String bench, String storage) {
        TreeSet<Integer> s = new TreeSet<>();
        rows.stream().filter(r -> r.bench().equals(bench) && r.p("storage").equals(storage)).forEach(r -> s.add(r.size()));
        return s;
    }

    private List<String> storages() {
        return rows.stream().map(r -> r.p("storage")).filter(s -> !s.isEmpty()).distinct().sorted().toList();
    }

    private static String f(double v, int digits) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    private static String pow2(int size) {
        int k = Integer.numberOfTrailingZeros(size);
        return Integer.bitCount(size) == 1 ? "2^" + k : Integer.toString(size);
    }

    /** GB/s for {@code bytesPerElement} bytes moved per element in {@code ns} nanoseconds for {@code size} elements. */
    static double gbs(double ns, int size, int bytesPerElement) {
        return (double) bytesPerElement * size / ns;
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        for (String st : storages()) {
            TreeSet<Integer> stepSizes = sizes("StepBenchmark.step", st);
            if (!stepSizes.isEmpty()) {
                md.append("\n### Update step, ").append(st).append(" storage (20 B/param; `check=unchecked` unless noted)\n\n");
                md.append("| size | scalar ns/el | vector-1 ns/el | vector-all ns/el | vector-1 GB/s | vector-all GB/s "
                        + "| vector-1 / scalar | vector-1 vs same-traffic-1 | vector-all vs same-traffic-all "
                        + "| all / 1 thread | checked / unchecked (1, all) | alloc B/step |\n");
                md.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
                for (int size : stepSizes) {
                    Predicate<Row> here = at(st, size);
                    Predicate<Row> un = here.and(is("check", "unchecked"));
                    Predicate<Row> ch = here.and(is("check", "checked"));
                    double sc = ns("StepBenchmark.step", un.and(is("impl", "scalar")));
                    double v1 = ns("StepBenchmark.step", un.and(is("impl", "vector-1")));
                    double va = ns("StepBenchmark.step", un.and(is("impl", "vector-all")));
                    double v1c = ns("StepBenchmark.step", ch.and(is("impl", "vector-1")));
                    double vac = ns("StepBenchmark.step", ch.and(is("impl", "vector-all")));
                    double b1 = ns("BaselineBenchmark.sameTraffic", here.and(is("threads", "1")));
                    double ba = ns("BaselineBenchmark.sameTraffic", here.and(is("threads", "all")));
                    double alloc = rows.stream().filter(r -> r.bench().equals("StepBenchmark.step") && un.test(r)
                            && !Double.isNaN(r.allocPerOp())).mapToDouble(Row::allocPerOp).max().orElse(Double.NaN);
                    md.append("| ").append(pow2(size)).append(" | ").append(f(sc / size, 3)).append(" | ")
                            .append(f(v1 / size, 3)).append(" | ").append(f(va / size, 3)).append(" | ")
                            .append(f(gbs(v1, size, 20), 1)).append(" | ").append(f(gbs(va, size, 20), 1)).append(" | ")
                            .append(f(sc / v1, 2)).append("× | ").append(pct(b1 / v1)).append(" | ").append(pct(ba / va))
                            .append(" | ").append(f(v1 / va, 2)).append("× | ").append(f(v1c / v1, 2)).append(", ")
                            .append(f(vac / va, 2)).append(" | ").append(f(alloc, 1)).append(" |\n");
                }
            }
            TreeSet<Integer> gSizes = sizes("GsnrBenchmark.moments", st);
            if (!gSizes.isEmpty()) {
                md.append("\n### g-SNR moments (2 passes, 8 B/el) and non-finite check (1 pass, 4 B/el), ").append(st)
                        .append(" storage\n\n");
                md.append("| size | moments scalar ns/el | moments vector-1 ns/el | moments vector-all ns/el "
                        + "| moments vector-1 / scalar | moments vector-1 vs 2 reads | check scalar ns/el "
                        + "| check vector-1 ns/el | check vector-all ns/el | check vector-1 GB/s | check vs read (1, all) |\n");
                md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
                for (int size : gSizes) {
                    Predicate<Row> here = at(st, size);
                    double ms = ns("GsnrBenchmark.moments", here.and(is("impl", "scalar")));
                    double m1 = ns("GsnrBenchmark.moments", here.and(is("impl", "vector-1")));
                    double ma = ns("GsnrBenchmark.moments", here.and(is("impl", "vector-all")));
                    double cs = ns("GsnrBenchmark.check", here.and(is("impl", "scalar")));
                    double c1 = ns("GsnrBenchmark.check", here.and(is("impl", "vector-1")));
                    double ca = ns("GsnrBenchmark.check", here.and(is("impl", "vector-all")));
                    double r1 = ns("BaselineBenchmark.read", here.and(is("threads", "1")));
                    double ra = ns("BaselineBenchmark.read", here.and(is("threads", "all")));
                    md.append("| ").append(pow2(size)).append(" | ").append(f(ms / size, 3)).append(" | ")
                            .append(f(m1 / size, 3)).append(" | ").append(f(ma / size, 3)).append(" | ")
                            .append(f(ms / m1, 2)).append("× | ").append(pct(2 * r1 / m1)).append(" | ")
                            .append(f(cs / size, 3)).append(" | ").append(f(c1 / size, 3)).append(" | ")
                            .append(f(ca / size, 3)).append(" | ").append(f(gbs(c1, size, 4), 1)).append(" | ")
                            .append(pct(r1 / c1)).append(", ").append(pct(ra / ca)).append(" |\n");
                }
            }
            TreeSet<Integer> bSizes = sizes("BaselineBenchmark.read", st);
            if (!bSizes.isEmpty()) {
                md.append("\n### Memory baselines, ").append(st).append(" storage (GB/s; 1 thread / all threads)\n\n");
                md.append("| size | same-traffic (20 B/el) | read (4 B/el) | copy (8 B/el) | triad (12 B/el) |\n");
                md.append("|---|---|---|---|---|\n");
                for (int size : bSizes) {
                    Predicate<Row> here = at(st, size);
                    md.append("| ").append(pow2(size));
                    String[][] kinds = {{"sameTraffic", "20"}, {"read", "4"}, {"copy", "8"}, {"triad", "12"}};
                    for (String[] k : kinds) {
                        int bytes = Integer.parseInt(k[1]);
                        double one = ns("BaselineBenchmark." + k[0], here.and(is("threads", "1")));
                        double all = ns("BaselineBenchmark." + k[0], here.and(is("threads", "all")));
                        md.append(" | ").append(f(gbs(one, size, bytes), 1)).append(" / ").append(f(gbs(all, size, bytes), 1));
                    }
                    md.append(" |\n");
                }
            }
        }
        md.append(targets());
        return md.toString();
    }

    /** The targets, each with the measured value and a verdict. */
    String targets() {
        StringBuilder t = new StringBuilder("\n### Targets (array storage; computed from the rows above)\n\n");
        t.append("| target | measured | verdict |\n|---|---|---|\n");
        String st = "array";
        for (int size : sizes("StepBenchmark.step", st)) {
            Predicate<Row> un = at(st, size).and(is("check", "unchecked"));
            Predicate<Row> ch = at(st, size).and(is("check", "checked"));
            if (size >= 1 << 24) {
                for (String th : new String[] {"1", "all"}) {
                    double v = ns("StepBenchmark.step", un.and(is("impl", "vector-" + th)));
                    double b = ns("BaselineBenchmark.sameTraffic", at(st, size).and(is("threads", th)));
                    verdict(t, "update ≥ 90% of same-traffic baseline, " + th + " thread(s), " + pow2(size), b / v, 0.9, true);
                    double c = ns("StepBenchmark.step", ch.and(is("impl", "vector-" + th)));
                    verdict(t, "checked step ≤ 1.25× unchecked, " + th + " thread(s), " + pow2(size), c / v, 1.25, false);
                }
            }
            if (size >= 1 << 12 && size <= 1 << 16) {
                double s = ns("StepBenchmark.step", un.and(is("impl", "scalar")));
                double v = ns("StepBenchmark.step", un.and(is("impl", "vector-1")));
                verdict(t, "update vector ≥ 4× scalar, " + pow2(size), s / v, 4, true);
                double gs = ns("GsnrBenchmark.moments", at(st, size).and(is("impl", "scalar")));
                double gv = ns("GsnrBenchmark.moments", at(st, size).and(is("impl", "vector-1")));
                verdict(t, "g-SNR vector ≥ 4× scalar, " + pow2(size), gs / gv, 4, true);
            }
            if (size >= 1 << 22) {
                double v1 = ns("StepBenchmark.step", un.and(is("impl", "vector-1")));
                double va = ns("StepBenchmark.step", un.and(is("impl", "vector-all")));
                verdict(t, "update all threads vs 1 ≥ 1.5×, " + pow2(size), v1 / va, 1.5, true);
            }
        }
        for (int size : sizes("GsnrBenchmark.check", st)) {
            if (size >= 1 << 20) {
                for (String th : new String[] {"1", "all"}) {
                    double c = ns("GsnrBenchmark.check", at(st, size).and(is("impl", "vector-" + th)));
                    double r = ns("BaselineBenchmark.read", at(st, size).and(is("threads", th)));
                    verdict(t, "non-finite check ≥ 90% of plain read, " + th + " thread(s), " + pow2(size), r / c, 0.9, true);
                }
            }
        }
        // gc.alloc.rate.norm also counts what JMH's and the JVM's own threads allocate while an op runs, which grows
        // with the op's duration; ops of a few microseconds show the step's own allocation.
        double worstAlloc = rows.stream().filter(r -> r.bench().equals("StepBenchmark.step") && r.p("impl").startsWith("vector")
                        && r.size() <= 1 << 16 && !Double.isNaN(r.allocPerOp()))
                .mapToDouble(Row::allocPerOp).max().orElse(Double.NaN);
        if (!Double.isNaN(worstAlloc)) {
            t.append("| zero bytes allocated per step (largest gc.alloc.rate.norm over the vector step rows ≤ 2^16) | ")
                    .append(f(worstAlloc, 3)).append(" B/op | ").append(worstAlloc < 1 ? "met" : "MISSED").append(" |\n");
        }
        for (Row r : rows) {
            if (r.bench().equals("BaselineBenchmark.read") && r.p("threads").equals("1") && r.p("storage").equals("array")
                    && r.size() >= 1 << 24 && !Double.isNaN(r.allocPerOp())) {
                t.append("| for comparison: single-threaded `read` baseline at ").append(pow2(r.size()))
                        .append(" (allocates 16 B/op itself, a lambda); the excess is background allocation | ")
                        .append(f(r.allocPerOp(), 1)).append(" B/op = ").append(f(r.allocPerOp() / (r.ns() / 1e6), 1))
                        .append(" B per ms of op time | – |\n");
            }
        }
        return t.toString();
    }

    private static void verdict(StringBuilder t, String what, double value, double bound, boolean atLeast) {
        if (Double.isNaN(value)) {
            return;
        }
        boolean ok = atLeast ? value >= bound : value <= bound;
        String shown = bound < 2 && atLeast && bound <= 1 ? pct(value) : f(value, 2) + "×";
        t.append("| ").append(what).append(" | ").append(shown).append(" | ").append(ok ? "met" : "MISSED").append(" |\n");
    }

    /** ns/element against size, log-log, for the update (unchecked) and the same-traffic baseline, array storage. */
    void plot(Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title("SGD-SaI update step: ns per element (array storage)")
                .xAxisTitle("parameters per tensor").yAxisTitle("ns / element").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(6);
        String[][] series = {{"StepBenchmark.step", "impl", "scalar", "scalar"},
                {"StepBenchmark.step", "impl", "vector-1", "vector, 1 thread"},
                {"StepBenchmark.step", "impl", "vector-all", "vector, all threads"},
                {"BaselineBenchmark.sameTraffic", "threads", "1", "same-traffic baseline, 1 thread"},
                {"BaselineBenchmark.sameTraffic", "threads", "all", "same-traffic baseline, all threads"}};
        for (String[] s : series) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            rows.stream().filter(r -> r.bench().equals(s[0]) && r.p("storage").equals("array") && r.p(s[1]).equals(s[2])
                            && !r.p("check").equals("checked"))
                    .sorted((a, b) -> Integer.compare(a.size(), b.size()))
                    .forEach(r -> {
                        xs.add((double) r.size());
                        ys.add(r.ns() / r.size());
                    });
            if (!xs.isEmpty()) {
                XYSeries xy = chart.addSeries(s[3], xs, ys);
                xy.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            }
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
