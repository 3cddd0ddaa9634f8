// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.cpu.VectorBackend;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The JVM's version of the SGD-SaI paper's Figure 4: optimizer-state memory and step time of SGD-SaI, SGDM, AdamW and
 * Adam-mini on GPT-2 small, medium and large, from the JSON of {@link Gpt2StepBenchmark} and
 * {@link Gpt2BaselineBenchmark} (scores in ms/op, as annotated: do not pass {@code -tu}) and the CSV of
 * {@link Gpt2Memory}.
 *
 * <p>Usage: {@code java -Djava.awt.headless=true -cp jmh/target/benchmarks.jar io.github.sgdsai.jmh.Gpt2Report
 * gpt2.json[,more.json...] gpt2-memory.csv OUT_DIR [header.md [notes.md]]} writes {@code OUT_DIR/GPT2.md} (header, tables, target
 * verdicts, notes) and {@code OUT_DIR/gpt2.png} (two panels: state bytes and step time against model size).
 */
public final class Gpt2Report {
    private static final String STEP = "Gpt2StepBenchmark.step";
    private static final String BASE = "Gpt2BaselineBenchmark.step";
    private static final Map<String, String> LABEL = new LinkedHashMap<>();

    static {
        LABEL.put("sgd-sai", "SGD-SaI");
        LABEL.put("sgdm", "SGDM");
        LABEL.put("adamw", "AdamW");
        LABEL.put("adam-mini", "Adam-mini");
    }

    /** One line of the memory CSV. */
    record Memory(String model, long parameters, String optimizer, long stateBufferBytes, long stateBytes, long heapDelta) {
    }

    private final List<Report.Row> rows;
    private final List<Memory> memory;

    Gpt2Report(List<Report.Row> rows, List<Memory> memory) {
        this.rows = rows;
        this.memory = memory;
    }

    /** Entry point; see the class documentation. */
    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: Gpt2Report gpt2.json gpt2-memory.csv OUT_DIR [header.md [notes.md]]");
            System.exit(2);
        }
        List<Memory> mem = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            String[] f = line.split(",");
            if (f.length == 6 && !f[0].equals("model")) {
                mem.add(new Memory(f[0], Long.parseLong(f[1]), f[2], Long.parseLong(f[3]), Long.parseLong(f[4]),
                        Long.parseLong(f[5])));
            }
        }
        List<Report.Row> rows = new ArrayList<>();
        for (String json : args[0].split(",")) { // several runs (e.g. small+medium, then large) into one report
            rows.addAll(Report.parse(Path.of(json)));
        }
        Gpt2Report r = new Gpt2Report(rows, mem);
        Path out = Path.of(args[2]);
        Files.createDirectories(out);
        String header = args.length > 3 ? Files.readString(Path.of(args[3])) : "";
        String notes = args.length > 4 ? "\n" + Files.readString(Path.of(args[4])) : "";
        String md = r.markdown();
        Files.writeString(out.resolve("GPT2.md"), header + md + notes);
        r.plot(out.resolve("gpt2.png"));
        System.out.println(md);
        System.out.println("wrote " + out.resolve("GPT2.md") + " and " + out.resolve("gpt2.png"));
    }

    private Optional<Report.Row> row(String bench, String model, String key, String value, int threads) {
        return rows.stream().filter(r -> r.bench().equals(bench) && r.p("model").equals(model) && r.p(key).equals(value)
                && r.p("threads").equals(Integer.toString(threads))).findFirst();
    }

    /** ms per step of {@code optimizer}, or NaN. */
    double step(String model, String optimizer, int threads) {
        return row(STEP, model, "optimizer", optimizer, threads).map(Report.Row::ns).orElse(Double.NaN);
    }

    /** ms per step of the baseline with {@code optimizer}'s traffic, or NaN. */
    double baseline(String model, String optimizer, int threads) {
        return row(BASE, model, "traffic", Gpt2Shapes.trafficOf(optimizer), threads).map(Report.Row::ns).orElse(Double.NaN);
    }

    private boolean checked(String model) {
        return rows.stream().filter(r -> r.p("model").equals(model)).noneMatch(r -> r.p("check").equals("unchecked"));
    }

    private List<String> models() {
        return java.util.Arrays.stream(Gpt2Shapes.Model.values()).map(Gpt2Shapes.Model::label)
                .filter(m -> rows.stream().anyMatch(r -> r.p("model").equals(m))).toList();
    }

    private List<Integer> threads() {
        return rows.stream().map(r -> r.p("threads")).filter(s -> !s.isEmpty()).map(Integer::parseInt).distinct().sorted()
                .toList();
    }

    private static String f(double v, int digits) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.0f%%", 100 * v);
    }

    private static String millions(long n) {
        return String.format(Locale.ROOT, "%.1f M", n / 1e6);
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("\n### Step time (ms per step after the first; mean ± 99.9% error) and fraction of the same-traffic baseline\n\n");
        md.append("| model | parameters | optimizer | threads | step ms | baseline ms | step / baseline traffic rate "
                + "| nominal B/param | step GB/s |\n|---|---|---|---|---|---|---|---|---|\n");
        for (String model : models()) {
            Gpt2Shapes.Model m = Gpt2Shapes.Model.of(model);
            long n = Gpt2Shapes.parameters(m);
            for (String opt : LABEL.keySet()) {
                for (int th : threads()) {
                    Optional<Report.Row> s = row(STEP, model, "optimizer", opt, th);
                    Optional<Report.Row> b = row(BASE, model, "traffic", Gpt2Shapes.trafficOf(opt), th);
                    if (s.isEmpty() && b.isEmpty()) {
                        continue;
                    }
                    long bytes = Gpt2Shapes.trafficBytes(m, Gpt2Shapes.trafficOf(opt), checked(model), VectorBackend.CHUNK);
                    double sMs = s.map(Report.Row::ns).orElse(Double.NaN);
                    double bMs = b.map(Report.Row::ns).orElse(Double.NaN);
                    md.append("| ").append(model).append(" | ").append(millions(n)).append(" | ").append(LABEL.get(opt))
                            .append(" | ").append(th).append(" | ")
                            .append(s.map(r -> f(r.ns(), 1) + " ± " + f(r.nsError(), 1)).orElse("–")).append(" | ")
                            .append(b.map(r -> f(r.ns(), 1) + " ± " + f(r.nsError(), 1)).orElse("–")).append(" | ")
                            .append(pct(bMs / sMs)).append(" | ").append(f((double) bytes / n, 2)).append(" | ")
                            .append(f(bytes / (sMs * 1e6), 1)).append(" |\n");
                }
            }
        }
        md.append("\n### Step-time ratios (same run)\n\n");
        md.append("In brackets: the ratio of the nominal bytes, what the step times' ratio tends to when both run at the "
                + "same bandwidth.\n\n");
        md.append("| model | threads | SGD-SaI / AdamW | Adam-mini / SGD-SaI | SGDM / SGD-SaI | 2-thread speed-up "
                + "(SGD-SaI, AdamW, Adam-mini) |\n|---|---|---|---|---|---|\n");
        for (String model : models()) {
            Gpt2Shapes.Model m = Gpt2Shapes.Model.of(model);
            boolean ck = checked(model);
            double sgdBytes = Gpt2Shapes.trafficBytes(m, "sgd", ck, VectorBackend.CHUNK);
            double adamwBytes = Gpt2Shapes.trafficBytes(m, "adamw", ck, VectorBackend.CHUNK);
            double miniBytes = Gpt2Shapes.trafficBytes(m, "adam-mini", ck, VectorBackend.CHUNK);
            for (int th : threads()) {
                double sai = step(model, "sgd-sai", th);
                md.append("| ").append(model).append(" | ").append(th).append(" | ")
                        .append(f(sai / step(model, "adamw", th), 2)).append("× (").append(f(sgdBytes / adamwBytes, 2))
                        .append("×) | ")
                        .append(f(step(model, "adam-mini", th) / sai, 2)).append("× (").append(f(miniBytes / sgdBytes, 2))
                        .append("×) | ")
                        .append(f(step(model, "sgdm", th) / sai, 2)).append("× | ");
                if (th > 1) {
                    md.append(f(step(model, "sgd-sai", 1) / sai, 2)).append("×, ")
                            .append(f(step(model, "adamw", 1) / step(model, "adamw", th), 2)).append("×, ")
                            .append(f(step(model, "adam-mini", 1) / step(model, "adam-mini", th), 2)).append("×");
                } else {
                    md.append("–");
                }
                md.append(" |\n");
            }
        }
        if (!memory.isEmpty()) {
            md.append("\n### Optimizer state (`stateBufferBytes()` after the first step) and the heap it took\n\n");
            md.append("| model | parameters | optimizer | state buffers | B/param | heap delta (build + first step, after full GC) "
                    + "| heap B/param |\n|---|---|---|---|---|---|---|\n");
            for (Memory r : memory) {
                md.append("| ").append(r.model()).append(" | ").append(millions(r.parameters())).append(" | ")
                        .append(LABEL.getOrDefault(r.optimizer(), r.optimizer())).append(" | ")
                        .append(f(r.stateBufferBytes() / 1e9, 3)).append(" GB | ")
                        .append(f((double) r.stateBufferBytes() / r.parameters(), 4)).append(" | ")
                        .append(f(r.heapDelta() / 1e9, 3)).append(" GB | ")
                        .append(f((double) r.heapDelta() / r.parameters(), 4)).append(" |\n");
            }
        }
        md.append(targets());
        return md.toString();
    }

    /** The targets with measured values and verdicts. */
    String targets() {
        StringBuilder t = new StringBuilder("\n### Targets\n\n| target | measured | verdict |\n|---|---|---|\n");
        for (String model : models()) {
            for (int th : threads()) {
                double r = step(model, "sgd-sai", th) / step(model, "adamw", th);
                if (!Double.isNaN(r)) {
                    t.append("| SGD-SaI step ≤ 0.75× AdamW step, ").append(model).append(", ").append(th).append(" thread(s) | ")
                            .append(f(r, 2)).append("× | ").append(r <= 0.75 ? "met" : "MISSED").append(" |\n");
                }
            }
        }
        for (String model : models()) {
            for (String opt : LABEL.keySet()) {
                for (int th : threads()) {
                    double frac = baseline(model, opt, th) / step(model, opt, th);
                    if (!Double.isNaN(frac)) {
                        t.append("| ").append(LABEL.get(opt)).append(" ≥ 90% of its same-traffic baseline, ").append(model)
                                .append(", ").append(th).append(" thread(s) | ").append(pct(frac)).append(" | ")
                                .append(frac >= 0.9 ? "met" : "MISSED").append(" |\n");
                    }
                }
            }
        }
        for (String model : models()) {
            for (int th : threads()) {
                double r = step(model, "adam-mini", th) / step(model, "sgd-sai", th);
                if (!Double.isNaN(r)) {
                    t.append("| paper: SGD-SaI 3× faster than Adam-mini (Adam-mini / SGD-SaI step), ").append(model).append(", ")
                            .append(th).append(" thread(s) | ").append(f(r, 2)).append("× | ")
                            .append(r >= 3 ? "as in the paper" : "not 3× here").append(" |\n");
                }
            }
        }
        for (Memory m : memory) {
            double perParam = (double) m.stateBufferBytes() / m.parameters();
            double expected = switch (m.optimizer()) {
                case "sgd-sai", "sgdm" -> 4;
                case "adamw" -> 8;
                default -> Double.NaN;
            };
            if (!Double.isNaN(expected)) {
                t.append("| state ").append(f(expected, 0)).append(" B/param, ").append(LABEL.get(m.optimizer())).append(", ")
                        .append(m.model()).append(" (stateBufferBytes; heap) | ").append(f(perParam, 4)).append("; ")
                        .append(f((double) m.heapDelta() / m.parameters(), 4)).append(" | ")
                        .append(perParam == expected && Math.abs((double) m.heapDelta() / m.parameters() - expected) < 0.05
                                ? "met" : "MISSED").append(" |\n");
            }
        }
        return t.toString();
    }

    /** Two panels side by side: state GB against parameters, and ms per step against parameters. */
    void plot(Path png) throws IOException {
        XYChart mem = new XYChartBuilder().width(640).height(640).title("Optimizer state (stateBufferBytes)")
                .xAxisTitle("GPT-2 parameters (millions)").yAxisTitle("GB").build();
        XYChart time = new XYChartBuilder().width(820).height(640).title("Step time, vector backend, checked step")
                .xAxisTitle("GPT-2 parameters (millions)").yAxisTitle("ms per step").build();
        for (XYChart c : new XYChart[] {mem, time}) {
            c.getStyler().setMarkerSize(8);
            c.getStyler().setXAxisMin(0.0);
            c.getStyler().setXAxisMax(800.0);
            c.getStyler().setYAxisMin(0.0);
            c.getStyler().setXAxisDecimalPattern("#0");
            c.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
            c.getStyler().setChartBackgroundColor(Color.WHITE);
        }
        time.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS); // points at small sizes
        Color[] colors = {new Color(0xD62728), new Color(0xFF7F0E), new Color(0x1F77B4), new Color(0x2CA02C)};
        // SGD-SaI, SGDM and Adam-mini hold about 4 B/param: different markers and strokes keep the three lines apart
        org.knowm.xchart.style.markers.Marker[] memMarkers = {SeriesMarkers.CIRCLE, SeriesMarkers.DIAMOND,
                SeriesMarkers.SQUARE, SeriesMarkers.TRIANGLE_UP};
        float[][] dashes = {null, {8f, 6f}, null, {2f, 4f}};
        String largest = models().isEmpty() ? null : models().getLast();
        int ci = 0;
        for (String opt : LABEL.keySet()) {
            int idx = ci++;
            Color color = colors[idx];
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            memory.stream().filter(m -> m.optimizer().equals(opt)).sorted((a, b) -> Long.compare(a.parameters(), b.parameters()))
                    .forEach(m -> {
                        xs.add(m.parameters() / 1e6);
                        ys.add(m.stateBufferBytes() / 1e9);
                    });
            if (!xs.isEmpty()) {
                Memory last = memory.stream().filter(m -> m.optimizer().equals(opt))
                        .max((a, b) -> Long.compare(a.parameters(), b.parameters())).orElseThrow();
                XYSeries s = mem.addSeries(LABEL.get(opt) + String.format(Locale.ROOT, " (%.3f B/param)",
                        (double) last.stateBufferBytes() / last.parameters()), xs, ys);
                s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                s.setLineColor(color);
                s.setMarkerColor(color);
                s.setMarker(memMarkers[idx]);
                if (dashes[idx] != null) {
                    s.setLineStyle(new java.awt.BasicStroke(2f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
                            10f, dashes[idx], 0f));
                }
            }
            for (int th : threads()) {
                List<Double> tx = new ArrayList<>();
                List<Double> ty = new ArrayList<>();
                for (String model : models()) {
                    double ms = step(model, opt, th);
                    if (!Double.isNaN(ms)) {
                        tx.add(Gpt2Shapes.parameters(Gpt2Shapes.Model.of(model)) / 1e6);
                        ty.add(ms);
                    }
                }
                if (!tx.isEmpty()) {
                    double frac = largest == null ? Double.NaN : baseline(largest, opt, th) / step(largest, opt, th);
                    XYSeries s = time.addSeries(LABEL.get(opt) + ", " + th + " thread" + (th > 1 ? "s" : "")
                            + (Double.isNaN(frac) ? "" : " (" + pct(frac) + " of baseline, " + largest + ")"), tx, ty);
                    s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                    s.setLineColor(color);
                    s.setMarkerColor(color);
                    s.setMarker(th > 1 ? SeriesMarkers.SQUARE : SeriesMarkers.CIRCLE);
                    if (th > 1) {
                        s.setLineStyle(new java.awt.BasicStroke(2f, java.awt.BasicStroke.CAP_BUTT, java.awt.BasicStroke.JOIN_MITER,
                                10f, new float[] {6f, 4f}, 0f));
                    }
                }
            }
        }
        BufferedImage a = BitmapEncoder.getBufferedImage(mem);
        BufferedImage b = BitmapEncoder.getBufferedImage(time);
        BufferedImage both = new BufferedImage(a.getWidth() + b.getWidth(), Math.max(a.getHeight(), b.getHeight()),
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = both.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, both.getWidth(), both.getHeight());
        g.drawImage(a, 0, 0, null);
        g.drawImage(b, a.getWidth(), 0, null);
        g.dispose();
        ImageIO.write(both, "png", png.toFile());
    }
}
