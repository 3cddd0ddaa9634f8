// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark.bench;

import io.github.sgdsai.spark.Gradient;
import io.github.sgdsai.spark.Parameters;
import io.github.sgdsai.spark.SparkTrainer;
import io.github.sgdsai.spark.StepTimes;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;
import me.tongfei.progressbar.ProgressBar;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A timed harness (not JMH: a step is a sequence of Spark jobs of 0.1–10 s) for the per-step time of the Spark
 * trainer in local mode, split into gradient, reduce, check, update and broadcast, at 1M and 16M parameters.
 * Reported, not asserted.
 *
 * <p>Usage: {@code StepTiming [master] [outDir] [sizes...]}; defaults {@code local[2]}, {@code spark/results},
 * 1048576 16777216. The model is one tensor per million parameters (so shards hold whole chunks) and a gradient that
 * costs one multiply-add per parameter and example; 4 micro-batches of 2 examples per step, 2 data partitions,
 * 2 shards.
 */
public final class StepTiming {
    private StepTiming() {
    }

    /** An example: a coefficient. */
    record Row(float a) implements Serializable {
    }

    /**
     * Entry point.
     *
     * @param args master, output directory, sizes
     * @throws IOException if the results cannot be written
     */
    public static void main(String[] args) throws IOException {
        String master = args.length > 0 ? args[0] : "local[2]";
        Path out = Path.of(args.length > 1 ? args[1] : "spark/results");
        int[] sizes = args.length > 2 ? Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {1 << 20, 1 << 24};
        Files.createDirectories(out);
        List<String> labels = new ArrayList<>();
        List<double[]> medians = new ArrayList<>();
        StringBuilder md = new StringBuilder();
        StringBuilder json = new StringBuilder("[\n");
        md.append("| parameters | steps timed | gradient (task ms) | reduce (task ms) | check (task ms) | update (task ms)"
                + " | broadcast (driver ms) | step wall (ms) | JVM GC in the step (ms) |\n|---|---|---|---|---|---|---|---|---|\n");
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster(master).setAppName("sgdsai-timing")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"))) {
            sc.setLogLevel("ERROR");
            for (int size : sizes) {
                List<Row> rows = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    rows.add(new Row(0.5f + i % 5 * 0.1f));
                }
                SparkTrainer.Builder b = SparkTrainer.builder().optimizer(o -> o.lr(1e-3)).batchSize(8)
                        .microBatchSize(2).shards(2).backend("vector").checkpointInterval(4).seed(1);
                int tensors = Math.max(1, size / (1 << 20));
                for (int t = 0; t < tensors; t++) {
                    float[] init = new float[size / tensors];
                    for (int i = 0; i < init.length; i++) {
                        init[i] = (float) Math.sin(i * 0.001 + t);
                    }
                    b.tensor("t" + t, init);
                }
                int warm = size > (1 << 22) ? 2 : 3;
                int timed = size > (1 << 22) ? 4 : 8;
                try (SparkTrainer<Row> trainer = b.build(sc.parallelize(rows, 2), StepTiming::gradient)) {
                    long[][] samples = new long[timed][];
                    ProgressBar bar = new ProgressBar(String.format(Locale.ROOT, "%,d params", size), warm + timed);
                    for (int s = 0; s < warm + timed; s++) {
                        long gc0 = gcMillis();
                        trainer.step();
                        long gc = gcMillis() - gc0;
                        bar.step();
                        StepTimes st = trainer.lastStepTimes();
                        if (s >= warm) {
                            samples[s - warm] = new long[] {st.gradientNanos(), st.reduceNanos(), st.checkNanos(),
                                    st.updateNanos(), st.broadcastNanos(), st.wallNanos(), gc * 1_000_000};
                        }
                        System.err.printf(Locale.ROOT, "%n%,d params step %d: %s, GC %d ms%n", size, s, st, gc);
                    }
                    bar.close();
                    double[] med = new double[7];
                    for (int c = 0; c < 7; c++) {
                        long[] col = new long[timed];
                        for (int s = 0; s < timed; s++) {
                            col[s] = samples[s][c];
                        }
                        Arrays.sort(col);
                        med[c] = (col[(timed - 1) / 2] + col[timed / 2]) / 2e6;
                    }
                    labels.add(size >= 1 << 20 ? (size >> 20) + "M" : String.valueOf(size));
                    medians.add(med);
                    md.append(String.format(Locale.ROOT, "| %,d | %d (median) | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f |%n",
                            size, timed, med[0], med[1], med[2], med[3], med[4], med[5], med[6]));
                    json.append(String.format(Locale.ROOT, "  {\"params\": %d, \"master\": \"%s\", \"timedSteps\": %d, "
                            + "\"gradientMs\": %.3f, \"reduceMs\": %.3f, \"checkMs\": %.3f, \"updateMs\": %.3f, "
                            + "\"broadcastMs\": %.3f, \"wallMs\": %.3f, \"gcMs\": %.0f},%n", size, master, timed, med[0], med[1],
                            med[2], med[3], med[4], med[5], med[6]));
                }
            }
        }
        json.setLength(json.length() - 2);
        json.append("\n]\n");
        Files.writeString(out.resolve("step-timing.md"), md.toString());
        Files.writeString(out.resolve("step-timing.json"), json.toString());
        CategoryChart chart = new CategoryChartBuilder().width(800).height(500)
                .title("sgdsai-spark: step time by phase (" + master + ", medians)").xAxisTitle("parameters")
                .yAxisTitle("ms (task time summed; broadcast and wall: driver)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        String[] phases = {"gradient", "reduce", "check", "update", "broadcast", "step wall", "JVM GC"};
        for (int c = 0; c < phases.length; c++) {
            List<Double> ys = new ArrayList<>();
            for (double[] m : medians) {
                ys.add(m[c]);
            }
            chart.addSeries(phases[c], labels, ys);
        }
        BitmapEncoder.saveBitmap(chart, out.resolve("step-timing.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        System.out.print(md);
    }

    /** Milliseconds this JVM has spent in garbage collection so far. */
    static long gcMillis() {
        long ms = 0;
        for (java.lang.management.GarbageCollectorMXBean b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            ms += Math.max(0, b.getCollectionTime());
        }
        return ms;
    }

    /** g_i = a·(a·p_i − 1) / B per example: one multiply-add pass per parameter and example. */
    static Gradient gradient(Parameters p, List<Row> rows, int batchSize) {
        float[][] g = new float[p.size()][];
        float inv = 1f / batchSize;
        for (int t = 0; t < g.length; t++) {
            float[] w = p.get(t);
            float[] gt = new float[w.length];
            for (Row r : rows) {
                float a = r.a();
                for (int i = 0; i < w.length; i++) {
                    gt[i] += a * (a * w[i] - 1f) * inv;
                }
            }
            g[t] = gt;
        }
        return new Gradient(0, g);
    }
}
