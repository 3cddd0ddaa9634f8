// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import io.github.sgdsai.AdamW;
import io.github.sgdsai.NameRule;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.dl4j.Dl4jOptimizer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.Sgd;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The seed paper's Figure 2 in small: held-out accuracy of a LeNet-5-style CNN on Fashion-MNIST over a grid of
 * learning rates x weight decays, for SGD-SaI and AdamW (this library, decoupled weight decay, through
 * {@link Dl4jOptimizer}) and SGDM and Adam (DL4J's own {@code Nesterovs} and {@code Adam} updaters, coupled L2). Every
 * cell trains the same network from the same initialization on the same data order for the same number of steps.
 * The best cell of each optimizer is then rerun with further seeds.
 *
 * <p>Writes {@code grid.json} (every run), {@code GRID.md} (tables and summary) and {@code grid.png} (one heat map
 * per optimizer, best cell in brackets) to the output directory. Arguments (all optional):
 * {@code --data DIR} (the four Fashion-MNIST {@code *-ubyte.gz} files; default: the subset shipped in the module),
 * {@code --train N} (first N training images, default 10000), {@code --test N} (default 2000), {@code --epochs E}
 * (default 2), {@code --batch B} (default 50), {@code --seed S} (default 1), {@code --extra-seeds K} (default 3), {@code --methods sgdsai,adamw,sgdm,adam}, {@code --lrs a,b,..} and
 * {@code --wds-decoupled a,b,..}, {@code --wds-coupled a,b,..} (replace the grids of every method),
 * {@code --out DIR}. {@code --replot DIR} alone redraws GRID.md and grid.png from DIR/grid.json; {@code --merge OUT
 * DIR...} writes all three into OUT from the grid.json of several runs of the same grid, each on some methods.
 */
public final class FashionGrid {

    /** The optimizers compared. */
    public enum Method {
        /** SGD-SaI (this library), momentum 0.9, decoupled weight decay on weights. */
        SGDSAI("SGD-SaI", true, new double[] {1e-4, 3e-4, 1e-3, 3e-3, 1e-2}),
        /** AdamW (this library), betas (0.9, 0.999), decoupled weight decay on weights. */
        ADAMW("AdamW", true, new double[] {3e-4, 1e-3, 3e-3, 1e-2, 3e-2}),
        /** DL4J's Nesterovs(lr, 0.9) with coupled L2 on weights. */
        SGDM("SGDM (DL4J Nesterovs)", false, new double[] {3e-3, 1e-2, 3e-2, 1e-1, 3e-1}),
        /** DL4J's Adam(lr, 0.9, 0.999, 1e-8) with coupled L2 on weights. */
        ADAM("Adam (DL4J, L2)", false, new double[] {3e-4, 1e-3, 3e-3, 1e-2, 3e-2});

        final String label;
        final boolean decoupled;
        final double[] lrs;

        Method(String label, boolean decoupled, double[] lrs) {
            this.label = label;
            this.decoupled = decoupled;
            this.lrs = lrs;
        }
    }

    static final double[] DECOUPLED_WDS = {0, 1e-2, 1e-1, 1};
    static final double[] COUPLED_WDS = {0, 1e-4, 1e-3, 1e-2};

    /** Settings of one grid run. */
    record Settings(Path data, int train, int test, int epochs, int batch, long seed, int extraSeeds,
                    List<Method> methods, Map<Method, double[]> lrs, double[] decoupledWds, double[] coupledWds, Path out) {
        double[] lrs(Method m) {
            return lrs.getOrDefault(m, m.lrs);
        }

        double[] wds(Method m) {
            return m.decoupled ? decoupledWds : coupledWds;
        }
    }

    /** One training run and its result. */
    record Run(Method method, double lr, double wd, long seed, double accuracy, double firstLoss, double lastLoss,
               boolean diverged, int steps, double seconds, Map<String, Double> gsnr) {
    }

    /** Thrown by the loss listener when the loss stops being finite, the same for every optimizer. */
    private static final class Diverged extends RuntimeException {
        @java.io.Serial
        private static final long serialVersionUID = 1L;

        Diverged() {
            super("non-finite loss", null, false, false);
        }
    }

    /** Records the loss per iteration, through DL4J's listener mechanism. */
    private static final class LossListener extends BaseTrainingListener {
        double first = Double.NaN;
        double sum;
        int count;

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            double s = model.score();
            if (!Double.isFinite(s)) {
                throw new Diverged();
            }
            if (Double.isNaN(first)) {
                first = s;
            }
            sum += s;
            count++;
        }
    }

    private FashionGrid() {
    }

    /**
     * Runs the grid.
     *
     * @param args see the class documentation
     * @throws IOException if the data cannot be read or the results written
     */
    public static void main(String[] args) throws IOException {
        if (args.length == 2 && args[0].equals("--replot")) {
            Replot.replot(Path.of(args[1]));
            return;
        }
        if (args.length >= 3 && args[0].equals("--merge")) { // --merge OUT PART...: one grid run in several processes
            Replot.replot(Path.of(args[1]), Arrays.stream(args, 2, args.length).map(Path::of).toList());
            return;
        }
        Settings s = parse(args);
        run(s, System.out);
        System.out.println("results in " + s.out.toAbsolutePath());
    }

    static Settings parse(String[] args) {
        Path data = null;
        Path out = Path.of("results");
        int train = 10_000;
        int test = 2_000;
        int epochs = 2;
        int batch = 50;
        long seed = 1;
        int extra = 3;
        List<Method> methods = List.of(Method.values());
        Map<Method, double[]> lrs = new LinkedHashMap<>();
        double[] dwd = DECOUPLED_WDS;
        double[] cwd = COUPLED_WDS;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(a + ": needs a value");
            }
            String v = args[++i];
            switch (a) {
                case "--data" -> data = Path.of(v);
                case "--out" -> out = Path.of(v);
                case "--train" -> train = positive(a, v);
                case "--test" -> test = positive(a, v);
                case "--epochs" -> epochs = positive(a, v);
                case "--batch" -> batch = positive(a, v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--extra-seeds" -> extra = Integer.parseInt(v);
                case "--methods" -> methods = Arrays.stream(v.split(",")).map(x -> Method.valueOf(x.trim().toUpperCase(Locale.ROOT))).toList();
                case "--lrs" -> {
                    for (Method m : Method.values()) {
                        lrs.put(m, doubles(v));
                    }
                }
                case "--wds-decoupled" -> dwd = doubles(v);
                case "--wds-coupled" -> cwd = doubles(v);
                default -> throw new IllegalArgumentException(a + ": unknown option");
            }
        }
        if (extra < 0) {
            throw new IllegalArgumentException("--extra-seeds: must be at least 0, got " + extra);
        }
        return new Settings(data, train, test, epochs, batch, seed, extra, methods, lrs, dwd, cwd, out);
    }

    private static int positive(String name, String v) {
        int n = Integer.parseInt(v);
        if (n < 1) {
            throw new IllegalArgumentException(name + ": must be at least 1, got " + v);
        }
        return n;
    }

    private static double[] doubles(String v) {
        return Arrays.stream(v.split(",")).mapToDouble(Double::parseDouble).toArray();
    }

    /** Runs every cell, then the extra seeds of each method's best cell; logs to {@code log}. */
    static List<Run> run(Settings s, PrintStream log) throws IOException {
        FashionMnist train = FashionMnist.load(s.data, true, s.train);
        FashionMnist test = FashionMnist.load(s.data, false, s.test);
        int stepsPerRun = s.epochs * (train.count() / s.batch);
        int cells = 0;
        for (Method m : s.methods) {
            cells += s.lrs(m).length * s.wds(m).length;
        }
        int total = cells + s.extraSeeds * s.methods.size();
        log.printf(Locale.ROOT, "Fashion-MNIST grid: %d train / %d test images, %d epochs of %d steps (batch %d), %d cells + %d "
                + "extra-seed runs%n", train.count(), test.count(), s.epochs, train.count() / s.batch, s.batch, cells,
                s.extraSeeds * s.methods.size());
        List<Run> runs = new ArrayList<>();
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("grid").setInitialMax((long) total * stepsPerRun)
                .setStyle(ProgressBarStyle.ASCII).setUnit(" steps", 1).setUpdateIntervalMillis(2000)
                .showSpeed().build()) {
            for (Method m : s.methods) {
                for (double wd : s.wds(m)) {
                    for (double lr : s.lrs(m)) {
                        bar.setExtraMessage(String.format(Locale.ROOT, " %s lr=%g wd=%g", m, lr, wd));
                        runs.add(train(m, lr, wd, s.seed, train, test, s, bar));
                        write(s, runs);
                    }
                }
            }
            for (Method m : s.methods) {
                Run best = best(runs, m);
                for (int k = 1; k <= s.extraSeeds; k++) {
                    bar.setExtraMessage(String.format(Locale.ROOT, " %s best cell, seed %d", m, s.seed + k));
                    runs.add(train(m, best.lr, best.wd, s.seed + k, train, test, s, bar));
                    write(s, runs);
                }
            }
        }
        return runs;
    }

    /** The best grid cell (the grid seed) of method {@code m}; ties go to the first. */
    static Run best(List<Run> runs, Method m) {
        Run best = null;
        long seed = Long.MIN_VALUE;
        for (Run r : runs) {
            if (r.method == m) {
                if (best == null) {
                    seed = r.seed;
                }
                if (r.seed == seed && (best == null || r.accuracy > best.accuracy)) {
                    best = r;
                }
            }
        }
        return best;
    }

    /** Trains one cell and evaluates it on the test split. */
    static Run train(Method m, double lr, double wd, long seed, FashionMnist train, FashionMnist test, Settings s,
                     ProgressBar bar) {
        IUpdater updater = switch (m) {
            case SGDM -> new Nesterovs(lr, 0.9);
            case ADAM -> new Adam(lr, 0.9, 0.999, 1e-8);
            default -> new Sgd(lr); // replaced by the attached optimizer
        };
        MultiLayerNetwork net = LeNet.create(seed, updater, m.decoupled ? 0 : wd);
        Dl4jOptimizer<? extends Optimizer> opt = switch (m) {
            case SGDSAI -> Dl4jOptimizer.attach(net, SgdSai.builder().lr(lr).momentum(0.9).weightDecay(wd)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            case ADAMW -> Dl4jOptimizer.attach(net, AdamW.builder().lr(lr).betas(0.9, 0.999).weightDecay(wd)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            default -> null;
        };
        LossListener loss = new LossListener();
        net.setListeners(loss);
        boolean diverged = false;
        long t0 = System.nanoTime();
        int stepsPerEpoch = train.count() / s.batch;
        int done = 0;
        try {
            for (int e = 0; e < s.epochs; e++) {
                List<DataSet> batches = train.epoch(s.batch, seed * 1_000 + e);
                net.fit(new ExistingDataSetIterator(batches));
                bar.stepBy(stepsPerEpoch);
                done += stepsPerEpoch;
            }
        } catch (Diverged | NonFiniteGradientException ex) {
            diverged = true;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        bar.stepBy((long) s.epochs * stepsPerEpoch - done);
        double acc = diverged ? Double.NaN
                : net.evaluate(new ExistingDataSetIterator(test.inOrder(500))).accuracy();
        Map<String, Double> gsnr = new LinkedHashMap<>();
        if (opt != null) {
            for (Optimizer.Tensor t : opt.optimizer().tensors()) {
                if (t.hasGsnr()) {
                    gsnr.put(t.name(), t.gsnr());
                }
            }
            opt.close();
        }
        return new Run(m, lr, wd, seed, acc, loss.first, loss.count > 0 ? loss.sum / loss.count : Double.NaN,
                diverged, loss.count, seconds, m == Method.SGDSAI ? gsnr : Map.of());
    }

    /** Writes grid.json, GRID.md and grid.png for the runs so far (after every run, so a cut-off grid leaves results). */
    static void write(Settings s, List<Run> runs) throws IOException {
        Files.createDirectories(s.out);
        List<Method> done = s.methods.stream().filter(m -> runs.stream().anyMatch(r -> r.method == m)).toList();
        Report.write(new Settings(s.data, s.train, s.test, s.epochs, s.batch, s.seed, s.extraSeeds, done, s.lrs,
                s.decoupledWds, s.coupledWds, s.out), runs);
    }

    /** A heat map chart of one method's grid (accuracy in %), best cell in brackets. */
    static HeatMapChart heatMap(Settings s, Method m, List<Run> runs) {
        double[] lrs = s.lrs(m);
        double[] wds = s.wds(m);
        Run best = best(runs, m);
        List<String> x = new ArrayList<>();
        for (double lr : lrs) {
            x.add(Report.num(lr));
        }
        List<String> y = new ArrayList<>();
        for (double wd : wds) {
            y.add(Report.num(wd));
        }
        List<Number[]> cells = new ArrayList<>();
        for (int i = 0; i < lrs.length; i++) {
            for (int j = 0; j < wds.length; j++) {
                Run r = cell(runs, m, lrs[i], wds[j], best.seed);
                double v = r == null ? 0 : r.diverged ? 10.0 : Math.round(1000 * r.accuracy) / 10.0;
                // the best cell is passed negated: the pattern's negative form prints it in brackets, and the colour
                // scale paints everything below 0 red
                cells.add(new Number[] {i, j, r == best ? -v : v});
            }
        }
        HeatMapChart chart = new HeatMapChartBuilder().width(620).height(440)
                .title(String.format(Locale.ROOT, "%s: best [%.1f%%] at lr %s, wd %s", m.label, 100 * best.accuracy,
                        Report.num(best.lr), Report.num(best.wd)))
                .xAxisTitle("learning rate").yAxisTitle(m.decoupled ? "decoupled weight decay" : "L2 (coupled)").build();
        chart.getStyler().setShowValue(true).setMin(-110).setMax(100).setRangeColors(COLOURS)
                .setHeatMapValueDecimalPattern("0.0;'['0.0']'");
        chart.getStyler().setLegendVisible(false);
        chart.addSeries("accuracy %", x, y, cells);
        return chart;
    }

    /** Colour stops every 10 points from -110 to 100: red below 0 (the best cell), light to dark blue-green above. */
    private static final Color[] COLOURS = colours();

    private static Color[] colours() {
        int[][] ramp = {{0xff, 0xff, 0xd9}, {0xed, 0xf8, 0xb1}, {0xc7, 0xe9, 0xb4}, {0x7f, 0xcd, 0xbb}, {0x41, 0xb6, 0xc4},
                {0x1d, 0x91, 0xc0}};
        double[] at = {0, 50, 65, 75, 85, 100};
        Color[] out = new Color[22];
        for (int k = 0; k < out.length; k++) {
            double v = -110 + 10 * k;
            if (v < 0) {
                out[k] = new Color(0xe3, 0x4a, 0x33);
                continue;
            }
            int seg = 0;
            while (seg < at.length - 2 && v > at[seg + 1]) {
                seg++;
            }
            double t = Math.min(1, Math.max(0, (v - at[seg]) / (at[seg + 1] - at[seg])));
            out[k] = new Color((int) Math.round(ramp[seg][0] + t * (ramp[seg + 1][0] - ramp[seg][0])),
                    (int) Math.round(ramp[seg][1] + t * (ramp[seg + 1][1] - ramp[seg][1])),
                    (int) Math.round(ramp[seg][2] + t * (ramp[seg + 1][2] - ramp[seg][2])));
        }
        return out;
    }

    static Run cell(List<Run> runs, Method m, double lr, double wd, long seed) {
        for (Run r : runs) {
            if (r.method == m && r.lr == lr && r.wd == wd && r.seed == seed) {
                return r;
            }
        }
        return null;
    }

    static void savePng(Settings s, List<Run> runs) throws IOException {
        List<HeatMapChart> charts = new ArrayList<>();
        for (Method m : s.methods) {
            charts.add(heatMap(s, m, runs));
        }
        // XChart fills every cell of its rows x cols layout: 2 x 2 for four, one row otherwise
        int cols = charts.size() == 4 ? 2 : charts.size();
        int rows = charts.size() / cols;
        BitmapEncoder.saveBitmap(charts, rows, cols, s.out.resolve("grid.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    }
}
