// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns the JSON of the CPU-vs-TornadoVM run ({@code jmh/results/TORNADO.md} has the command) into its Markdown
 * tables (printed) and a plot of milliseconds per step and per g-SNR against size. Usage:
 * {@code java -Djava.awt.headless=true -cp jmh/target/benchmarks.jar io.github.sgdsai.jmh.TornadoReport
 * jmh/results/tornado-pocl.json jmh/results/tornado-pocl.png}
 */
public final class TornadoReport {
    private static final String[] IMPLS = {"scalar", "vector-1", "vector-all", "tornado", "tornado-device"};

    /** One benchmark result: mean and 99.9% error in ms. */
    private record Cell(double ms, double err) {
    }

    /** (benchmark, check, impl) → size → result. */
    private final Map<String, TreeMap<Integer, Cell>> series = new TreeMap<>();

    private TornadoReport(Path json) throws IOException {
        for (Report.Row r : Report.parse(json)) {
            String check = r.p("check").isEmpty() ? "-" : r.p("check");
            series.computeIfAbsent(key(r.bench(), check, r.p("impl")), k -> new TreeMap<>())
                    .put(r.size(), new Cell(r.ns() / 1e6, r.nsError() / 1e6));
        }
    }

    private static String key(String bench, String check, String impl) {
        return bench + "|" + check + "|" + impl;
    }

    private Cell cell(String bench, String check, String impl, int size) {
        TreeMap<Integer, Cell> s = series.get(key(bench, check, impl));
        return s == null ? null : s.get(size);
    }

    /** A table of ms per operation for every impl, the device-resident ratios, and its bandwidth. */
    String table(String bench, String check, String what, int bytesPerParam) {
        TreeSet<Integer> sizes = new TreeSet<>();
        List<String> impls = new ArrayList<>();
        for (String impl : IMPLS) {
            TreeMap<Integer, Cell> s = series.get(key(bench, check, impl));
            if (s != null) {
                impls.add(impl);
                sizes.addAll(s.keySet());
            }
        }
        StringBuilder t = new StringBuilder("| size |");
        impls.forEach(i -> t.append(' ').append(i).append(' ').append(what).append(" ms |"));
        t.append(" tornado-device / vector-all | tornado / tornado-device | device-resident GB/s (")
                .append(bytesPerParam).append(" B/param in device memory) |\n|");
        t.append("---|".repeat(impls.size() + 4)).append('\n');
        for (int size : sizes) {
            t.append("| 2^").append(Integer.numberOfTrailingZeros(size)).append(" |");
            for (String impl : impls) {
                Cell c = cell(bench, check, impl, size);
                t.append(c == null ? " — |" : String.format(Locale.ROOT, " %.3f ± %.3f |", c.ms, c.err));
            }
            Cell dev = cell(bench, check, "tornado-device", size);
            Cell vec = cell(bench, check, "vector-all", size);
            Cell host = cell(bench, check, "tornado", size);
            t.append(dev != null && vec != null ? String.format(Locale.ROOT, " %.1f× |", dev.ms / vec.ms) : " — |");
            t.append(dev != null && host != null ? String.format(Locale.ROOT, " %.2f× |", host.ms / dev.ms) : " — |");
            t.append(dev != null ? String.format(Locale.ROOT, " %.1f |", (double) bytesPerParam * size / (dev.ms * 1e6)) : " — |");
            t.append('\n');
        }
        return t.toString();
    }

    /** ms per step (unchecked) and per g-SNR against size, log-log, one line per impl. */
    void plot(Path png) throws IOException {
        XYChart chart = new XYChartBuilder().width(960).height(600)
                .title("CPU vs TornadoVM on PoCL (same 2 vCPUs): ms per operation")
                .xAxisTitle("parameters").yAxisTitle("ms").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setMarkerSize(6);
        String[][] lines = {{"StepBenchmark.step", "unchecked", "step"}, {"GsnrBenchmark.moments", "-", "g-SNR"}};
        for (String[] l : lines) {
            for (String impl : IMPLS) {
                TreeMap<Integer, Cell> s = series.get(key(l[0], l[1], impl));
                if (s != null) {
                    List<Double> xs = new ArrayList<>();
                    List<Double> ys = new ArrayList<>();
                    s.forEach((size, c) -> {
                        xs.add((double) size);
                        ys.add(c.ms);
                    });
                    chart.addSeries(l[2] + ", " + impl, xs, ys).setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
                }
            }
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Entry point; see the class documentation. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: TornadoReport tornado-pocl.json OUT.png");
            System.exit(2);
        }
        TornadoReport r = new TornadoReport(Path.of(args[0]));
        System.out.println("Step (after the first), `check=unchecked`:\n\n" + r.table("StepBenchmark.step", "unchecked", "step", 20));
        System.out.println("Step (after the first), `check=checked` (the default policy):\n\n"
                + r.table("StepBenchmark.step", "checked", "step", 20));
        System.out.println("One-off g-SNR reduction (both passes over the gradient):\n\n"
                + r.table("GsnrBenchmark.moments", "-", "g-SNR", 8));
        r.plot(Path.of(args[1]));
    }
}
