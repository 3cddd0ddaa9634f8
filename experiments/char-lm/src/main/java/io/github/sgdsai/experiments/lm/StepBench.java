// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;

import io.github.sgdsai.AdamW;
import io.github.sgdsai.NameRule;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.djl.DjlOptimizer;
import io.github.sgdsai.experiments.lm.LmRun.Settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Times {@code trainer.step()} (DJL's whole optimizer path: gradient hand-over, update, zeroing) for sgdsai's SGD-SaI
 * and AdamW through {@link DjlOptimizer} and for DJL's own {@code sgd} (momentum 0.9) and {@code adamW}, and, like
 * for like, the adapter's own {@link DjlOptimizer#step()} (which skips DJL's gradient hand-over) beside DJL's
 * optimizers called directly ({@code optimizer.update(id, weight, grad)} per parameter, no parameter server), in one run,
 * at two sizes: one 4096×4096 {@code Linear} (16.8 M parameters, 2 tensors) and the experiment's language model.
 * For the adapter it also times the sgdsai engine's step alone on the staged gradients, so the adapter's own cost
 * (gradient copy, zeroing, DJL's per-parameter calls) is the difference.
 *
 * <p>{@code java ... io.github.sgdsai.experiments.lm.StepBench OUTFILE.md [repeats]}; backward passes are not timed; the LM
 * gets ten times the repeats, its steps being short and the machine shared.
 */
public final class StepBench {

    private StepBench() {
    }

    private enum Kind { SGDSAI_DIRECT, ADAMW_DIRECT, DJL_SGD_DIRECT, DJL_ADAMW_DIRECT, SGDSAI, ADAMW, DJL_SGD, DJL_ADAMW }

    /**
     * Runs the benchmark.
     *
     * @param args {@code OUTFILE.md [repeats]}
     * @throws IOException if writing fails
     */
    public static void main(String[] args) throws IOException {
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        StringBuilder md = new StringBuilder();
        md.append(String.format(Locale.ROOT, "Java %s, DJL 0.36.0 / PyTorch 2.7.1 CPU (%s intra-op threads), sgdsai "
                        + "backend threads 1, %d CPUs; median of %d timed steps (10 times as many for the LM) after 2 untimed ones. "
                        + "Backward passes are not timed.%n%n",
                System.getProperty("java.version"), System.getProperty("ai.djl.pytorch.num_threads", "default"),
                Runtime.getRuntime().availableProcessors(), repeats));
        md.append("| model | parameters | optimizer, called through | step ms | engine step alone ms | "
                + "vs DJL sgd, same path | vs DJL adamW, same path |\n|---|---|---|---|---|---|---|\n");
        for (String model : new String[] {"16M", "lm"}) {
            double[] ms = new double[Kind.values().length];
            double[] engine = new double[Kind.values().length];
            long params = 0;
            for (Kind k : Kind.values()) {
                double[] r = time(model, k, model.equals("lm") ? 10 * repeats : repeats);
                ms[k.ordinal()] = r[0];
                engine[k.ordinal()] = r[1];
                params = (long) r[2];
                System.out.printf(Locale.ROOT, "%s %s: step %.2f ms, engine %.2f ms%n", model, k, r[0], r[1]);
            }
            for (Kind k : Kind.values()) {
                double t = ms[k.ordinal()];
                // like for like: a direct call against DJL's optimizer called directly, trainer.step() against trainer.step()
                boolean direct = k.ordinal() <= Kind.DJL_ADAMW_DIRECT.ordinal();
                double sgd = ms[(direct ? Kind.DJL_SGD_DIRECT : Kind.DJL_SGD).ordinal()];
                double adamw = ms[(direct ? Kind.DJL_ADAMW_DIRECT : Kind.DJL_ADAMW).ordinal()];
                md.append(String.format(Locale.ROOT, "| %s | %,d | %s | %.2f | %s | %.1f× | %.1f× |%n",
                        model.equals("lm") ? "LM of the experiment" : "Linear 4096×4096", params, label(k), t,
                        Double.isNaN(engine[k.ordinal()]) ? "–" : String.format(Locale.ROOT, "%.2f",
                                engine[k.ordinal()]), sgd / t, adamw / t));
            }
        }
        Files.writeString(Path.of(args[0]), md.toString());
        System.out.print(md);
    }

    private static String label(Kind k) {
        return switch (k) {
            case SGDSAI_DIRECT -> "SGD-SaI, `opt.step()`";
            case ADAMW_DIRECT -> "AdamW, `opt.step()`";
            case DJL_SGD_DIRECT -> "DJL sgd, momentum 0.9, `optimizer.update(..)` per parameter";
            case DJL_ADAMW_DIRECT -> "DJL adamW, `optimizer.update(..)` per parameter";
            case SGDSAI -> "SGD-SaI, `trainer.step()`";
            case ADAMW -> "AdamW, `trainer.step()`";
            case DJL_SGD -> "DJL sgd, momentum 0.9";
            case DJL_ADAMW -> "DJL adamW";
        };
    }

    /** Median ms of trainer.step(), median ms of the engine step alone (NaN for DJL's), parameter count. */
    private static double[] time(String model, Kind kind, int repeats) {
        ai.djl.engine.Engine.getInstance().setRandomSeed(1);
        Block block;
        Shape input;
        Settings s = CharLm.full();
        if (model.equals("16M")) {
            block = Linear.builder().setUnits(4096).build();
            input = new Shape(1, 4096);
        } else {
            block = new CharTransformer(Corpus.VOCAB, s.context(), s.dim(), s.heads(), s.depth());
            input = new Shape(s.batch(), s.context());
        }
        block.setInitializer(new NormalInitializer(0.02f), Parameter.Type.WEIGHT);
        DjlOptimizer ours = null;
        boolean direct = kind == Kind.SGDSAI_DIRECT || kind == Kind.ADAMW_DIRECT;
        boolean djlDirect = kind == Kind.DJL_SGD_DIRECT || kind == Kind.DJL_ADAMW_DIRECT;
        ai.djl.training.optimizer.Optimizer opt = switch (kind) {
            case SGDSAI, SGDSAI_DIRECT -> ours = DjlOptimizer.of(block, SgdSai.builder().lr(1e-3).momentum(0.9).weightDecay(0.1)
                    .clipGradNorm(1.0).threads(1).group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            case ADAMW, ADAMW_DIRECT -> ours = DjlOptimizer.of(block, AdamW.builder().lr(1e-3).weightDecay(0.1)
                    .clipGradNorm(1.0).threads(1).group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            case DJL_SGD, DJL_SGD_DIRECT -> ai.djl.training.optimizer.Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1e-3f))
                    .optMomentum(0.9f).optWeightDecays(0.1f).build();
            case DJL_ADAMW, DJL_ADAMW_DIRECT -> ai.djl.training.optimizer.Optimizer.adamW().optLearningRateTracker(Tracker.fixed(1e-3f))
                    .optWeightDecays(0.1f).build();
        };
        long[] stepNs = new long[repeats];
        long[] engineNs = new long[repeats];
        long params = 0;
        Random rnd = new Random(5);
        try (Model m = Model.newInstance("bench", Device.cpu())) {
            m.setBlock(block);
            try (Trainer trainer = m.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(opt)
                    .optDevices(new Device[] {Device.cpu()}))) {
                trainer.initialize(input);
                for (Pair<String, Parameter> p : block.getParameters()) {
                    params += p.getValue().getArray().size();
                }
                for (int r = -2; r < repeats; r++) {
                    try (NDManager sub = trainer.getManager().newSubManager();
                         GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray x;
                        if (model.equals("16M")) {
                            x = sub.randomNormal(input);
                        } else {
                            int[] ids = new int[(int) input.size()];
                            for (int i = 0; i < ids.length; i++) {
                                ids[i] = rnd.nextInt(Corpus.VOCAB);
                            }
                            x = sub.create(ids, input);
                        }
                        NDArray y = trainer.forward(new NDList(x)).singletonOrThrow();
                        gc.backward(y.square().mean());
                    }
                    long t0 = System.nanoTime();
                    if (djlDirect) { // DJL's optimizer on each parameter, without the parameter server's duplicate
                        for (Pair<String, Parameter> p : block.getParameters()) {
                            NDArray w = p.getValue().getArray();
                            opt.update(p.getValue().getId(), w, w.getGradient());
                        }
                    } else if (direct) {
                        ours.step();
                    } else {
                        trainer.step();
                    }
                    long t1 = System.nanoTime();
                    if (djlDirect) { // as trainer.step() leaves them, untimed
                        for (Pair<String, Parameter> p : block.getParameters()) {
                            NDArray grad = p.getValue().getArray().getGradient();
                            grad.subi(grad);
                        }
                    }
                    if (r >= 0) {
                        stepNs[r] = t1 - t0;
                        if (ours != null) { // the engine alone, on the gradients it staged
                            long e0 = System.nanoTime();
                            ours.engine().step();
                            engineNs[r] = System.nanoTime() - e0;
                        }
                    }
                }
            }
        } finally {
            if (ours != null) {
                ours.close();
            }
        }
        return new double[] {median(stepNs), ours != null ? median(engineNs) : Double.NaN, params};
    }

    private static double median(long[] ns) {
        long[] c = ns.clone();
        Arrays.sort(c);
        return c[c.length / 2] / 1e6;
    }
}
