// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import io.github.sgdsai.experiments.lm.LmRun.Opt;
import io.github.sgdsai.experiments.lm.LmRun.Result;
import io.github.sgdsai.experiments.lm.LmRun.Settings;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Writes the experiment's JSON, Markdown table and plots. */
final class LmReport {

    private LmReport() {
    }

    /** One run as JSON. */
    static String json(Result r) {
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"optimizer\": \"").append(r.opt().name()).append("\",\n");
        b.append("  \"label\": \"").append(r.opt().label).append("\",\n");
        b.append(field("lr", r.lr())).append(field("seed", r.seed()));
        b.append(field("finalHeldOut", r.finalHeldOut())).append(field("diverged", r.diverged()));
        b.append(field("fwdBwdMs", r.fwdBwdMs())).append(field("optStepMs", r.optStepMs()));
        b.append(field("stateBytes", r.stateBytes())).append(field("parameters", r.parameters()));
        b.append(field("tensors", r.tensors()));
        b.append("  \"evalSteps\": ").append(array(r.evalSteps())).append(",\n");
        b.append("  \"heldOut\": ").append(array(r.heldOut())).append(",\n");
        b.append("  \"evalWallSeconds\": ").append(array(r.evalWall())).append(",\n");
        b.append("  \"gsnr\": {");
        String sep = "";
        for (Map.Entry<String, Double> e : r.gsnr().entrySet()) {
            b.append(sep).append("\n    \"").append(e.getKey()).append("\": ").append(num(e.getValue()));
            sep = ",";
        }
        b.append(r.gsnr().isEmpty() ? "},\n" : "\n  },\n");
        b.append("  \"trainLoss\": ").append(array(r.trainLoss())).append("\n}\n");
        return b.toString();
    }

    private static String field(String k, Object v) {
        return "  \"" + k + "\": " + (v instanceof Double d ? num(d) : String.valueOf(v)) + ",\n";
    }

    private static String num(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null";
    }

    private static String array(double[] a) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < a.length; i++) {
            b.append(i == 0 ? "" : ", ").append(num(a[i]));
        }
        return b.append(']').toString();
    }

    private static String array(int[] a) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < a.length; i++) {
            b.append(i == 0 ? "" : ", ").append(a[i]);
        }
        return b.append(']').toString();
    }

    /** Mean and sample standard deviation. */
    static double[] meanSd(List<Double> xs) {
        double m = xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double v = 0;
        for (double x : xs) {
            v += (x - m) * (x - m);
        }
        return new double[] {m, xs.size() > 1 ? Math.sqrt(v / (xs.size() - 1)) : Double.NaN};
    }

    static void write(Path out, Corpus corpus, Settings s, List<Result> all, Map<Opt, Double> best, double minutes,
                      String args) throws IOException {
        StringBuilder md = new StringBuilder();
        Result any = all.get(0);
        md.append("# Character-level transformer LM on the JDK's java.util sources: SGD-SaI vs AdamW\n\n");
        md.append(String.format(Locale.ROOT, "Command: `CharLm %s` (see the module README for the full java line). "
                + "Java %s, DJL 0.36.0 / PyTorch 2.7.1 CPU, %d CPUs, total %.1f min.%n%n",
                args, System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), minutes));
        md.append(String.format(Locale.ROOT, "Corpus: `%s`, %d training files (%,d chars), %d held-out files "
                        + "(%,d chars; every %dth file by sorted path). Model: %d layers, d = %d, %d heads, context %d, "
                        + "%,d parameters in %d tensors (q, k, v, output projections separate). Budget: %d steps × "
                        + "%d sequences × %d tokens = %,d tokens per run, warm-up %d steps then cosine to 0, "
                        + "clipping at global norm 1.0, weight decay %.2g (decoupled).%n%n",
                corpus.source(), corpus.trainFiles(), corpus.train().length, corpus.heldOutFiles(),
                corpus.heldOut().length, CharLm.HELD_OUT_EVERY, s.depth(), s.dim(), s.heads(), s.context(),
                any.parameters(), any.tensors(), s.steps(), s.batch(), s.context(), s.steps() * s.tokensPerStep(),
                s.warmup(), s.weightDecay()));
        md.append("## Learning-rate sweep (seed 1, final held-out loss in nats/char)\n\n| optimizer | lr | held-out |"
                + " within 0.05 of best |\n|---|---|---|---|\n");
        for (Opt opt : Opt.values()) {
            List<Result> sweep = all.stream().filter(r -> r.opt() == opt && r.seed() == CharLm.SWEEP_SEED)
                    .sorted(Comparator.comparingDouble(Result::lr)).toList();
            double bestLoss = sweep.stream().mapToDouble(Result::finalHeldOut).min().orElse(Double.NaN);
            for (Result r : sweep) {
                md.append(String.format(Locale.ROOT, "| %s | %.0e | %s%s | %s |%n", opt.label, r.lr(),
                        fmt(r.finalHeldOut()), r.lr() == best.get(opt) ? " **best**" : "",
                        r.finalHeldOut() <= bestLoss + 0.05 ? "yes" : "no"));
            }
        }
        md.append("\n## Best cell of each optimizer over seeds\n\n| optimizer | lr | seed 1 (chose lr) | seeds 2–4: "
                + "mean ± sd | all 4 seeds: mean ± sd |\n|---|---|---|---|---|\n");
        for (Opt opt : Opt.values()) {
            Double lr = best.get(opt);
            List<Double> further = new ArrayList<>();
            List<Double> four = new ArrayList<>();
            double first = Double.NaN;
            for (Result r : all) {
                if (r.opt() == opt && lr != null && r.lr() == lr) {
                    four.add(r.finalHeldOut());
                    if (r.seed() == CharLm.SWEEP_SEED) {
                        first = r.finalHeldOut();
                    } else {
                        further.add(r.finalHeldOut());
                    }
                }
            }
            double[] f = meanSd(further);
            double[] a = meanSd(four);
            md.append(String.format(Locale.ROOT, "| %s | %.0e | %s | %s ± %s | %s ± %s |%n", opt.label,
                    lr == null ? Double.NaN : lr, fmt(first), fmt(f[0]), fmt(f[1]), fmt(a[0]), fmt(a[1])));
        }
        md.append("\n## Cost per step (means over every run of the optimizer; first 5 steps of a run excluded)\n\n"
                + "| optimizer | forward+backward ms | `trainer.step()` ms | step share | state bytes | bytes/param |\n"
                + "|---|---|---|---|---|---|\n");
        for (Opt opt : Opt.values()) {
            List<Result> rs = all.stream().filter(r -> r.opt() == opt).toList();
            double fb = rs.stream().mapToDouble(Result::fwdBwdMs).average().orElse(Double.NaN);
            double st = rs.stream().mapToDouble(Result::optStepMs).average().orElse(Double.NaN);
            Result r = rs.get(0);
            md.append(String.format(Locale.ROOT, "| %s | %.1f | %.2f | %.1f %% | %,d%s | %.2f |%n", opt.label, fb, st,
                    100 * st / (fb + st), r.stateBytes(), opt == Opt.DJL_ADAMW ? " (m, v: 2 floats/param)" : "",
                    (double) r.stateBytes() / r.parameters()));
        }
        Result sai = all.stream().filter(r -> r.opt() == Opt.SGDSAI && !r.gsnr().isEmpty()).findFirst().orElse(null);
        if (sai != null) {
            md.append("\n## SGD-SaI: g-SNR of every tensor at the first step (seed ").append(sai.seed())
                    .append(", lr ").append(String.format(Locale.ROOT, "%.0e", sai.lr())).append(")\n\n")
                    .append("| tensor | g-SNR |\n|---|---|\n");
            for (Map.Entry<String, Double> e : sai.gsnr().entrySet()) {
                md.append(String.format(Locale.ROOT, "| `%s` | %.1f |%n", e.getKey(), e.getValue()));
            }
        }
        md.append("\n![held-out loss against steps](loss-vs-steps.png)\n\n![held-out loss against training wall time]"
                + "(loss-vs-time.png)\n\n![sweep](sweep.png)\n");
        Files.writeString(out.resolve("RESULTS.md"), md.toString());
        plots(out, all, best);
    }

    private static String fmt(double d) {
        return Double.isFinite(d) ? String.format(Locale.ROOT, "%.4f", d) : Double.isNaN(d) ? "–" : "diverged";
    }

    private static void plots(Path out, List<Result> all, Map<Opt, Double> best) throws IOException {
        XYChart steps = new XYChartBuilder().width(900).height(560).title("Held-out loss (mean over seeds) and "
                + "training loss (seed 1, EMA 0.95) at each optimizer's best lr").xAxisTitle("step")
                .yAxisTitle("loss (nats/char)").build();
        XYChart time = new XYChartBuilder().width(900).height(560).title("Held-out loss against training wall time "
                + "(mean over seeds)").xAxisTitle("seconds of training (evaluation excluded)")
                .yAxisTitle("loss (nats/char)").build();
        for (Opt opt : Opt.values()) {
            Double lr = best.get(opt);
            List<Result> rs = all.stream().filter(r -> r.opt() == opt && lr != null && r.lr() == lr
                    && !r.diverged()).toList();
            if (rs.isEmpty()) {
                continue;
            }
            int n = rs.get(0).evalSteps().length;
            double[] x = new double[n];
            double[] y = new double[n];
            double[] w = new double[n];
            for (int k = 0; k < n; k++) {
                x[k] = rs.get(0).evalSteps()[k];
                for (Result r : rs) {
                    y[k] += r.heldOut()[k] / rs.size();
                    w[k] += r.evalWall()[k] / rs.size();
                }
            }
            String label = String.format(Locale.ROOT, "%s lr %.0e", opt.label, lr);
            steps.addSeries(label + " held-out", x, y).setMarker(SeriesMarkers.CIRCLE);
            time.addSeries(label, w, y).setMarker(SeriesMarkers.CIRCLE);
            double[] tl = rs.get(0).trainLoss();
            double[] sx = new double[tl.length];
            double[] sy = new double[tl.length];
            double ema = tl[0];
            for (int i = 0; i < tl.length; i++) {
                ema = 0.95 * ema + 0.05 * tl[i];
                sx[i] = i + 1;
                sy[i] = ema;
            }
            XYSeries train = steps.addSeries(label + " train", sx, sy);
            train.setMarker(SeriesMarkers.NONE);
        }
        BitmapEncoder.saveBitmap(steps, out.resolve("loss-vs-steps.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        BitmapEncoder.saveBitmap(time, out.resolve("loss-vs-time.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        XYChart sweep = new XYChartBuilder().width(900).height(560).title("Learning-rate sweep (seed 1)")
                .xAxisTitle("peak learning rate").yAxisTitle("final held-out loss (nats/char)").build();
        sweep.getStyler().setXAxisLogarithmic(true);
        for (Opt opt : Opt.values()) {
            List<Result> rs = all.stream().filter(r -> r.opt() == opt && r.seed() == CharLm.SWEEP_SEED
                    && !r.diverged()).sorted(Comparator.comparingDouble(Result::lr)).toList();
            if (!rs.isEmpty()) {
                sweep.addSeries(opt.label, rs.stream().mapToDouble(Result::lr).toArray(),
                        rs.stream().mapToDouble(Result::finalHeldOut).toArray()).setMarker(SeriesMarkers.CIRCLE);
            }
        }
        BitmapEncoder.saveBitmap(sweep, out.resolve("sweep.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
