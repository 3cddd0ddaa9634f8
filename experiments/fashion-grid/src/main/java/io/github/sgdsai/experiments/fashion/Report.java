// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import io.github.sgdsai.experiments.fashion.FashionGrid.Method;
import io.github.sgdsai.experiments.fashion.FashionGrid.Run;
import io.github.sgdsai.experiments.fashion.FashionGrid.Settings;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The grid's outputs: grid.json (every run), GRID.md (tables and summary), grid.png (heat maps). */
final class Report {
    /** A cell counts as "good" within this many percentage points of its method's best (grid seed). */
    static final double BAND_PP = 1.0;

    private Report() {
    }

    static void write(Settings s, List<Run> runs) throws IOException {
        Files.writeString(s.out().resolve("grid.json"), json(s, runs));
        Files.writeString(s.out().resolve("GRID.md"), markdown(s, runs));
        FashionGrid.savePng(s, runs);
    }

    /** A compact, exact-enough rendering of a grid value (1e-3, 0.03, 0). */
    static String num(double v) {
        if (v == 0) {
            return "0";
        }
        String t = String.format(Locale.ROOT, "%.0e", v).replace("e-0", "e-").replace("e+0", "e").replace("e+", "e");
        return Double.parseDouble(t) == v ? t : String.format(Locale.ROOT, "%g", v);
    }

    /** Mean and sample standard deviation of the accuracies of the best cell's extra seeds (NaN if none). */
    static double[] extraSeeds(List<Run> runs, Method m) {
        Run best = FashionGrid.best(runs, m);
        List<Double> acc = new ArrayList<>();
        for (Run r : runs) {
            if (r.method() == m && r.seed() != best.seed() && r.lr() == best.lr() && r.wd() == best.wd()) {
                acc.add(r.diverged() ? 0.10 : r.accuracy());
            }
        }
        if (acc.isEmpty()) {
            return new double[] {Double.NaN, Double.NaN, 0};
        }
        double mean = acc.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double ss = 0;
        for (double a : acc) {
            ss += (a - mean) * (a - mean);
        }
        return new double[] {mean, acc.size() > 1 ? Math.sqrt(ss / (acc.size() - 1)) : Double.NaN, acc.size()};
    }

    /** Cells (grid seed) within {@link #BAND_PP} of the method's best, and the number of cells. */
    static int[] band(List<Run> runs, Method m) {
        Run best = FashionGrid.best(runs, m);
        int good = 0;
        int all = 0;
        for (Run r : runs) {
            if (r.method() == m && r.seed() == best.seed()) {
                all++;
                if (!r.diverged() && 100 * (best.accuracy() - r.accuracy()) <= BAND_PP + 1e-9) {
                    good++;
                }
            }
        }
        return new int[] {good, all};
    }

    static String json(Settings s, List<Run> runs) {
        StringBuilder b = new StringBuilder();
        b.append("{\n  \"settings\": {");
        b.append(String.format(Locale.ROOT, "\"data\": %s, \"train\": %d, \"test\": %d, \"epochs\": %d, \"batch\": %d, "
                        + "\"seed\": %d, \"extraSeeds\": %d, \"decoupledWds\": %s, \"coupledWds\": %s",
                s.data() == null ? "\"shipped subset\"" : "\"" + s.data().toString().replace("\\", "/") + "\"",
                s.train(), s.test(), s.epochs(), s.batch(), s.seed(), s.extraSeeds(), arr(s.decoupledWds()),
                arr(s.coupledWds())));
        b.append(", \"lrs\": {");
        for (int i = 0; i < s.methods().size(); i++) {
            Method m = s.methods().get(i);
            b.append(i > 0 ? ", " : "").append('"').append(m).append("\": ").append(arr(s.lrs(m)));
        }
        b.append("}, \"java\": \"").append(System.getProperty("java.version")).append("\", \"processors\": ")
                .append(Runtime.getRuntime().availableProcessors()).append("},\n  \"summary\": {");
        for (int i = 0; i < s.methods().size(); i++) {
            Method m = s.methods().get(i);
            Run best = FashionGrid.best(runs, m);
            double[] ex = extraSeeds(runs, m);
            int[] band = band(runs, m);
            b.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT,
                    "\n    \"%s\": {\"bestLr\": %s, \"bestWd\": %s, \"bestAccuracy\": %s, \"extraSeedsMean\": %s, "
                            + "\"extraSeedsSd\": %s, \"extraSeedsRuns\": %d, \"cellsWithin1pp\": %d, \"cells\": %d}",
                    m, d(best.lr()), d(best.wd()), d(best.accuracy()), d(ex[0]), d(ex[1]), (int) ex[2], band[0], band[1]));
        }
        b.append("\n  },\n  \"runs\": [");
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            b.append(i > 0 ? "," : "").append(String.format(Locale.ROOT,
                    "\n    {\"method\": \"%s\", \"lr\": %s, \"wd\": %s, \"seed\": %d, \"accuracy\": %s, \"diverged\": %b, "
                            + "\"firstLoss\": %s, \"meanLoss\": %s, \"steps\": %d, \"seconds\": %.2f",
                    r.method(), d(r.lr()), d(r.wd()), r.seed(), d(r.accuracy()), r.diverged(), d(r.firstLoss()),
                    d(r.lastLoss()), r.steps(), r.seconds()));
            if (!r.gsnr().isEmpty()) {
                b.append(", \"gsnr\": {");
                int k = 0;
                for (Map.Entry<String, Double> e : r.gsnr().entrySet()) {
                    b.append(k++ > 0 ? ", " : "").append('"').append(e.getKey()).append("\": ").append(d(e.getValue()));
                }
                b.append('}');
            }
            b.append('}');
        }
        return b.append("\n  ]\n}\n").toString();
    }

    private static String d(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    private static String arr(double[] v) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            b.append(i > 0 ? ", " : "").append(v[i]);
        }
        return b.append(']').toString();
    }

    static String markdown(Settings s, List<Run> runs) {
        StringBuilder b = new StringBuilder("# Fashion-MNIST: learning rate x weight decay (LeNet-5-style CNN)\n\n");
        b.append(String.format(Locale.ROOT, "%s, %d training / %d test images, %d epochs x %d steps of batch %d per cell, "
                        + "grid seed %d, %d extra seeds for each best cell. Held-out accuracy in %%; `div` = diverged "
                        + "(non-finite loss). Best cell in **bold**.%n%n",
                s.data() == null ? "Shipped subset" : "Files from " + s.data(), s.train(), s.test(), s.epochs(),
                s.train() / s.batch(), s.batch(), s.seed(), s.extraSeeds()));
        b.append("| optimizer | weight decay | best lr | best wd | best acc (grid seed) | best cell, extra seeds "
                + "(mean ± sd) | cells within 1 pp of best | diverged cells | s per run |\n");
        b.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Method m : s.methods()) {
            Run best = FashionGrid.best(runs, m);
            double[] ex = extraSeeds(runs, m);
            int[] band = band(runs, m);
            long div = runs.stream().filter(r -> r.method() == m && r.seed() == best.seed() && r.diverged()).count();
            double secs = runs.stream().filter(r -> r.method() == m).mapToDouble(Run::seconds).average().orElse(0);
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f | %s | %d / %d | %d | %.1f |%n", m.label,
                    m.decoupled ? "decoupled" : "coupled L2", num(best.lr()), num(best.wd()), 100 * best.accuracy(),
                    Double.isNaN(ex[0]) ? "–" : Double.isNaN(ex[1]) ? String.format(Locale.ROOT, "%.2f (n=1)", 100 * ex[0])
                            : String.format(Locale.ROOT, "%.2f ± %.2f (n=%d)", 100 * ex[0], 100 * ex[1], (int) ex[2]),
                    band[0], band[1], div, secs));
        }
        for (Method m : s.methods()) {
            Run best = FashionGrid.best(runs, m);
            b.append("\n## ").append(m.label).append("\n\n| wd \\ lr |");
            for (double lr : s.lrs(m)) {
                b.append(' ').append(num(lr)).append(" |");
            }
            b.append("\n|---|");
            for (int i = 0; i < s.lrs(m).length; i++) {
                b.append("---|");
            }
            for (double wd : s.wds(m)) {
                b.append("\n| ").append(num(wd)).append(" |");
                for (double lr : s.lrs(m)) {
                    Run r = FashionGrid.cell(runs, m, lr, wd, best.seed());
                    String v = r == null ? "–" : r.diverged() ? "div" : String.format(Locale.ROOT, "%.2f", 100 * r.accuracy());
                    b.append(' ').append(r == best ? "**" + v + "**" : v).append(" |");
                }
            }
            b.append('\n');
        }
        Run sai = s.methods().contains(Method.SGDSAI) ? FashionGrid.best(runs, Method.SGDSAI) : null;
        if (sai != null && !sai.gsnr().isEmpty()) {
            b.append("\n## SGD-SaI g-SNR per DL4J parameter (best cell, first step)\n\n| tensor | g-SNR |\n|---|---|\n");
            for (Map.Entry<String, Double> e : sai.gsnr().entrySet()) {
                b.append(String.format(Locale.ROOT, "| `%s` | %.4g |%n", e.getKey(), e.getValue()));
            }
        }
        return b.toString();
    }
}
