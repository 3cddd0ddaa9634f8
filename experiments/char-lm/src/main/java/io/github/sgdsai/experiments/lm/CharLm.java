// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import io.github.sgdsai.experiments.lm.LmRun.Opt;
import io.github.sgdsai.experiments.lm.LmRun.Result;
import io.github.sgdsai.experiments.lm.LmRun.Settings;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The experiment: a character-level causal transformer trained on the JDK's own {@code java.util} sources with
 * SGD-SaI, sgdsai's AdamW and DJL's {@code adamW}, the same token budget for each; a learning-rate sweep per
 * optimizer on a ×3 log grid (extended while the best value sits at an edge), then the best cell of each with 3
 * further seeds. Writes per-run JSON, {@code RESULTS.md} and XChart plots into the output folder.
 *
 * <p>{@code java ... io.github.sgdsai.experiments.lm.CharLm full|tiny OUTDIR}: {@code full} is the committed experiment,
 * {@code tiny} the pipeline test CI runs (a few dozen steps of a tiny model, one learning rate each).
 */
public final class CharLm {

    /** The corpus prefix inside {@code src.zip}. */
    public static final String PREFIX = "java.base/java/util/";
    /** Every 10th file (sorted by path) is held out. */
    public static final int HELD_OUT_EVERY = 10;
    /** The seed that chooses learning rates; further seeds are 2, 3, 4. */
    public static final long SWEEP_SEED = 1;

    private CharLm() {
    }

    /**
     * The full experiment's model and budget; system properties {@code lm.depth}, {@code lm.dim}, {@code lm.heads},
     * {@code lm.context}, {@code lm.batch}, {@code lm.steps} override them (the committed run uses none).
     *
     * @return the settings
     */
    public static Settings full() {
        return new Settings(Integer.getInteger("lm.depth", 4), Integer.getInteger("lm.dim", 64),
                Integer.getInteger("lm.heads", 4), Integer.getInteger("lm.context", 64),
                Integer.getInteger("lm.batch", 16), Integer.getInteger("lm.steps", 400), 25, 4, 0.1);
    }

    /**
     * The CI pipeline test's model and budget.
     *
     * @return the settings
     */
    public static Settings tiny() {
        return new Settings(1, 32, 2, 16, 4, 30, 10, 2, 0.1);
    }

    /** Initial learning-rate grids (×3 apart) of the full experiment. */
    static Map<Opt, List<Double>> fullGrids() {
        Map<Opt, List<Double>> g = new EnumMap<>(Opt.class);
        g.put(Opt.SGDSAI, List.of(1e-3, 3e-3, 1e-2));
        g.put(Opt.ADAMW, List.of(1e-3, 3e-3, 1e-2));
        g.put(Opt.DJL_ADAMW, List.of(1e-3, 3e-3, 1e-2));
        return g;
    }

    /**
     * Runs the experiment.
     *
     * @param args {@code full|tiny OUTDIR}
     * @throws IOException if writing results fails
     */
    public static void main(String[] args) throws IOException {
        if (args.length == 6 && args[0].equals("one")) { // one run of the full model: OPT LR SEED STEPS
            Corpus corpus = Corpus.load(Path.of(System.getProperty("java.home")), PREFIX, HELD_OUT_EVERY);
            Settings f = full();
            Settings s = new Settings(f.depth(), f.dim(), f.heads(), f.context(), f.batch(),
                    Integer.parseInt(args[5]), f.evalEvery(), f.evalBatches(), f.weightDecay());
            Path out = Path.of(args[1]);
            Files.createDirectories(out.resolve("runs"));
            run(corpus, s, Opt.valueOf(args[2]), Double.parseDouble(args[3]), Long.parseLong(args[4]), out);
            return;
        }
        if (args.length != 2 || !(args[0].equals("full") || args[0].equals("tiny"))) {
            System.err.println("usage: CharLm full|tiny OUTDIR, or CharLm one OUTDIR SGDSAI|ADAMW|DJL_ADAMW LR SEED STEPS");
            System.exit(2);
        }
        boolean isFull = args[0].equals("full");
        Path out = Path.of(args[1]);
        Files.createDirectories(out.resolve("runs"));
        Corpus corpus = Corpus.load(Path.of(System.getProperty("java.home")), PREFIX, HELD_OUT_EVERY);
        Settings s = isFull ? full() : tiny();
        System.out.printf(Locale.ROOT, "corpus: %s: %d training files (%d chars), %d held-out files (%d chars)%n",
                corpus.source(), corpus.trainFiles(), corpus.train().length, corpus.heldOutFiles(),
                corpus.heldOut().length);
        System.out.println("settings: " + s);
        long start = System.nanoTime();
        List<Result> all = new ArrayList<>();
        Map<Opt, Double> best = new EnumMap<>(Opt.class);
        Map<Opt, List<Double>> grids = isFull ? fullGrids() : Map.of(Opt.SGDSAI, List.of(3e-3),
                Opt.ADAMW, List.of(3e-3), Opt.DJL_ADAMW, List.of(3e-3));
        for (Opt opt : Opt.values()) {
            List<Double> grid = new ArrayList<>(grids.get(opt));
            Map<Double, Result> byLr = new LinkedHashMap<>();
            for (int extensions = 0; ; extensions++) {
                for (double lr : grid) {
                    if (!byLr.containsKey(lr)) {
                        Result r = run(corpus, s, opt, lr, SWEEP_SEED, out);
                        byLr.put(lr, r);
                        all.add(r);
                    }
                }
                double bestLr = argBest(byLr);
                double lo = grid.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
                double hi = grid.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
                if (!isFull || extensions >= 2 || (bestLr != lo && bestLr != hi)) {
                    best.put(opt, bestLr);
                    break;
                }
                grid.add(bestLr == lo ? lo / 3 : hi * 3); // the best sits at an edge: extend the grid
            }
        }
        if (isFull) {
            for (Opt opt : Opt.values()) {
                for (long seed = 2; seed <= 4; seed++) {
                    all.add(run(corpus, s, opt, best.get(opt), seed, out));
                }
            }
        }
        double minutes = (System.nanoTime() - start) / 60e9;
        LmReport.write(out, corpus, s, all, best, minutes, String.join(" ", args));
        System.out.printf(Locale.ROOT, "done in %.1f min; results in %s%n", minutes, out);
    }

    private static double argBest(Map<Double, Result> byLr) {
        double bestLr = Double.NaN;
        double bestLoss = Double.POSITIVE_INFINITY;
        for (Map.Entry<Double, Result> e : byLr.entrySet()) {
            double l = e.getValue().finalHeldOut();
            if (Double.isNaN(bestLr) || l < bestLoss) {
                bestLr = e.getKey();
                bestLoss = l;
            }
        }
        return bestLr;
    }

    private static Result run(Corpus corpus, Settings s, Opt opt, double lr, long seed, Path out) throws IOException {
        String task = String.format(Locale.ROOT, "%s lr=%.0e s%d", opt.name().toLowerCase(Locale.ROOT), lr, seed);
        Result r;
        try (ProgressBar pb = new ProgressBarBuilder().setTaskName(task).setInitialMax(s.steps())
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(1000).showSpeed().build()) {
            double[] last = {Double.NaN};
            r = LmRun.train(corpus, s, opt, lr, seed, pb::stepTo,
                    loss -> {
                        last[0] = Double.isNaN(last[0]) ? loss : 0.95 * last[0] + 0.05 * loss;
                        pb.setExtraMessage(String.format(Locale.ROOT, "loss %.3f", last[0]));
                    });
        }
        System.out.println(LmRun.summary(r));
        Files.writeString(out.resolve("runs").resolve(String.format(Locale.ROOT, "%s-lr%.0e-seed%d.json",
                opt.name().toLowerCase(Locale.ROOT), lr, seed)), LmReport.json(r));
        return r;
    }
}
