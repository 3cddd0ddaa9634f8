// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;

import io.github.sgdsai.AdamW;
import io.github.sgdsai.NameRule;
import io.github.sgdsai.Optimizer.Tensor;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.djl.DjlOptimizer;
import io.github.sgdsai.schedule.Schedule;
import io.github.sgdsai.schedule.Schedules;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.IntConsumer;

/**
 * One training run of the character-level language model: a model, an optimizer, a learning rate and a seed, with
 * every protocol rule of the project's EXPERIMENTS.md that applies: linear warm-up then cosine decay (the library's
 * {@link Schedules#warmupCosine}), global gradient-norm clipping at 1.0, decoupled weight decay with none on biases
 * and norms ({@link NameRule#biasesAndNorms()}), the same data order and initialisation for every optimizer.
 */
public final class LmRun {

    /**
     * The optimizers compared.
     */
    public enum Opt {
        /** sgdsai's SGD-SaI through {@link DjlOptimizer}. */
        SGDSAI("SGD-SaI (sgdsai)"),
        /** sgdsai's AdamW through {@link DjlOptimizer}. */
        ADAMW("AdamW (sgdsai)"),
        /** DJL's own {@code Optimizer.adamW()}, with clipping done in the loop and one weight decay for all. */
        DJL_ADAMW("AdamW (DJL)");

        /** Label in tables and plots. */
        public final String label;

        Opt(String label) {
            this.label = label;
        }
    }

    /**
     * Model and budget.
     *
     * @param depth       transformer layers
     * @param dim         width d
     * @param heads       attention heads
     * @param context     sequence length T
     * @param batch       sequences per step B
     * @param steps       optimizer steps
     * @param evalEvery   held-out evaluation every this many steps (and at the first and last)
     * @param evalBatches held-out batches per evaluation
     * @param weightDecay decoupled λ on weights (not on biases and norms where the optimizer allows)
     */
    public record Settings(int depth, int dim, int heads, int context, int batch, int steps, int evalEvery,
                           int evalBatches, double weightDecay) {
        /**
         * Tokens per step.
         *
         * @return batch times context
         */
        public long tokensPerStep() {
            return (long) batch * context;
        }

        /**
         * Warm-up steps: 5 % of the run.
         *
         * @return the warm-up length in steps
         */
        public int warmup() {
            return Math.max(1, steps / 20);
        }
    }

    /**
     * What a run produced.
     *
     * @param opt            optimizer
     * @param lr             peak learning rate
     * @param seed           seed of initialisation and data order
     * @param trainLoss      training loss at every step
     * @param evalSteps      steps at which the held-out loss was measured (before that step's update)
     * @param heldOut        held-out loss at those steps
     * @param evalWall       training wall seconds (evaluations excluded) at those steps
     * @param fwdBwdMs       mean forward+backward milliseconds per step (first 5 steps excluded)
     * @param optStepMs      mean {@code trainer.step()} milliseconds (first 5 steps excluded)
     * @param stateBytes     optimizer state bytes
     * @param parameters     trainable parameters
     * @param tensors        trainable tensors
     * @param gsnr           SGD-SaI: each tensor's first-step g-SNR (empty otherwise)
     * @param diverged       whether the loss became non-finite (the run then stops)
     */
    public record Result(Opt opt, double lr, long seed, double[] trainLoss, int[] evalSteps, double[] heldOut,
                         double[] evalWall, double fwdBwdMs, double optStepMs, long stateBytes, long parameters,
                         int tensors, Map<String, Double> gsnr, boolean diverged) {
        /**
         * The last held-out loss.
         *
         * @return the loss, or infinity if the run diverged
         */
        public double finalHeldOut() {
            return diverged ? Double.POSITIVE_INFINITY : heldOut[heldOut.length - 1];
        }
    }

    private LmRun() {
    }

    /**
     * Trains one model.
     *
     * @param corpus   the data
     * @param s        model and budget
     * @param opt      optimizer
     * @param lr       peak learning rate
     * @param seed     seed of initialisation and data order
     * @param progress called after every step with the step number (for a progress bar), may be null
     * @param status   receives the current loss for display, may be null
     * @return the result
     */
    public static Result train(Corpus corpus, Settings s, Opt opt, double lr, long seed, IntConsumer progress,
                               java.util.function.DoubleConsumer status) {
        Engine.getInstance().setRandomSeed((int) seed);
        int vocab = Corpus.VOCAB;
        int b = s.batch();
        int t = s.context();
        CharTransformer block = new CharTransformer(vocab, t, s.dim(), s.heads(), s.depth());
        block.setInitializer(new NormalInitializer(0.02f), Parameter.Type.WEIGHT);
        Schedule schedule = Schedules.warmupCosine(lr, s.warmup(), s.steps());
        DjlOptimizer ours = null;
        ai.djl.training.optimizer.Optimizer djlOpt;
        switch (opt) {
            case SGDSAI -> djlOpt = ours = DjlOptimizer.of(block, SgdSai.builder().lr(schedule).momentum(0.9)
                    .weightDecay(s.weightDecay()).clipGradNorm(1.0).threads(1)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            case ADAMW -> djlOpt = ours = DjlOptimizer.of(block, AdamW.builder().lr(schedule).betas(0.9, 0.95)
                    .eps(1e-8).weightDecay(s.weightDecay()).clipGradNorm(1.0).threads(1)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
            case DJL_ADAMW -> {
                // DJL counts updates from 1; the schedule is evaluated at the number of steps done, like ours.
                Tracker tracker = numUpdate -> (float) schedule.at(numUpdate - 1L);
                djlOpt = ai.djl.training.optimizer.Optimizer.adamW().optLearningRateTracker(tracker)
                        .optBeta1(0.9f).optBeta2(0.95f).optEpsilon(1e-8f).optWeightDecays((float) s.weightDecay())
                        .build();
            }
            default -> throw new IllegalArgumentException("optimizer " + opt);
        }
        Random data = new Random(seed * 1_000_003L + 17);
        List<Integer> evalAt = new ArrayList<>();
        for (int k = 0; k < s.steps(); k += s.evalEvery()) {
            evalAt.add(k);
        }
        evalAt.add(s.steps());
        double[] trainLoss = new double[s.steps()];
        double[] held = new double[evalAt.size()];
        double[] wallAt = new double[evalAt.size()];
        int[] evalSteps = evalAt.stream().mapToInt(Integer::intValue).toArray();
        Map<String, Double> gsnr = new LinkedHashMap<>();
        long fwdNs = 0;
        long optNs = 0;
        long wallNs = 0;
        int timed = 0;
        boolean diverged = false;
        int nextEval = 0;
        long params = 0;
        int tensors = 0;
        try (Model model = Model.newInstance("charlm", Device.cpu())) {
            model.setBlock(block);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(djlOpt).optDevices(new Device[] {Device.cpu()});
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(b, t));
                for (Pair<String, Parameter> p : block.getParameters()) {
                    if (p.getValue().requiresGradient()) {
                        params += p.getValue().getArray().size();
                        tensors++;
                    }
                }
                int[] xs = new int[b * t];
                int[] ys = new int[b * t];
                for (int step = 0; step <= s.steps(); step++) {
                    if (nextEval < evalSteps.length && evalSteps[nextEval] == step) {
                        held[nextEval] = heldOutLoss(trainer, corpus, s);
                        wallAt[nextEval] = wallNs / 1e9;
                        nextEval++;
                    }
                    if (step == s.steps()) {
                        break;
                    }
                    for (int r = 0; r < b; r++) {
                        int off = data.nextInt(corpus.train().length - t - 1);
                        for (int j = 0; j < t; j++) {
                            xs[r * t + j] = corpus.train()[off + j];
                            ys[r * t + j] = corpus.train()[off + j + 1];
                        }
                    }
                    long t0 = System.nanoTime();
                    double loss;
                    try (NDManager sub = trainer.getManager().newSubManager()) {
                        NDArray x = sub.create(xs, new Shape(b, t));
                        NDArray y = sub.create(ys, new Shape((long) b * t));
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                            NDArray l = trainer.getLoss().evaluate(new NDList(y),
                                    new NDList(logits.reshape((long) b * t, vocab)));
                            gc.backward(l);
                            loss = l.getFloat();
                        }
                        if (opt == Opt.DJL_ADAMW) {
                            clipGlobalNorm(block, 1.0);
                        }
                        long t1 = System.nanoTime();
                        trainer.step();
                        long t2 = System.nanoTime();
                        if (step >= 5) {
                            fwdNs += t1 - t0;
                            optNs += t2 - t1;
                            timed++;
                        }
                        wallNs += t2 - t0;
                    }
                    trainLoss[step] = loss;
                    if (step == 0 && ours != null && opt == Opt.SGDSAI) {
                        for (Tensor tensor : ours.engine().tensors()) {
                            gsnr.put(tensor.name(), tensor.gsnr());
                        }
                    }
                    if (status != null) {
                        status.accept(loss);
                    }
                    if (progress != null) {
                        progress.accept(step + 1);
                    }
                    if (!Double.isFinite(loss) || loss > 50) {
                        diverged = true;
                        break;
                    }
                }
            }
        } finally {
            if (ours != null) {
                ours.close();
            }
        }
        long stateBytes = ours != null && ours.engine() != null ? ours.engine().stateBytes() : 8L * params;
        if (diverged) {
            for (int k = 0; k < held.length; k++) {
                if (k >= nextEval) {
                    held[k] = Double.NaN;
                }
            }
        }
        return new Result(opt, lr, seed, trainLoss, evalSteps, held, wallAt, timed == 0 ? 0 : fwdNs / 1e6 / timed,
                timed == 0 ? 0 : optNs / 1e6 / timed, stateBytes, params, tensors, gsnr, diverged);
    }

    /** Scales every gradient by min(1, max / (‖g‖ + 1e-6)), the global norm over all of them (torch's rule). */
    private static void clipGlobalNorm(CharTransformer block, double max) {
        List<NDArray> grads = new ArrayList<>();
        double sum = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                NDArray g = p.getValue().getArray().getGradient();
                grads.add(g);
                try (NDArray sq = g.square().sum()) {
                    sum += sq.getFloat();
                }
            }
        }
        double c = max / (Math.sqrt(sum) + 1e-6);
        for (NDArray g : grads) {
            if (c < 1) {
                g.muli((float) c);
            }
            g.close();
        }
    }

    /** Mean loss over the fixed held-out windows (evenly spaced through the held-out text). */
    private static double heldOutLoss(Trainer trainer, Corpus corpus, Settings s) {
        int b = s.batch();
        int t = s.context();
        int windows = s.evalBatches() * b;
        long stride = (corpus.heldOut().length - t - 1L) / windows;
        double total = 0;
        int[] xs = new int[b * t];
        int[] ys = new int[b * t];
        for (int k = 0; k < s.evalBatches(); k++) {
            for (int r = 0; r < b; r++) {
                int off = (int) ((long) (k * b + r) * stride);
                for (int j = 0; j < t; j++) {
                    xs[r * t + j] = corpus.heldOut()[off + j];
                    ys[r * t + j] = corpus.heldOut()[off + j + 1];
                }
            }
            try (NDManager sub = trainer.getManager().newSubManager()) {
                NDArray x = sub.create(xs, new Shape(b, t));
                NDArray y = sub.create(ys, new Shape((long) b * t));
                NDArray logits = trainer.evaluate(new NDList(x)).singletonOrThrow();
                NDArray l = trainer.getLoss().evaluate(new NDList(y),
                        new NDList(logits.reshape((long) b * t, Corpus.VOCAB)));
                total += l.getFloat();
            }
        }
        return total / s.evalBatches();
    }

    /**
     * A one-line summary.
     *
     * @param r a result
     * @return the summary
     */
    public static String summary(Result r) {
        return String.format(Locale.ROOT, "%-18s lr %.2g seed %d: held-out %.4f, fwd+bwd %.1f ms, step %.2f ms%s",
                r.opt().label, r.lr(), r.seed(), r.finalHeldOut(), r.fwdBwdMs(), r.optStepMs(),
                r.diverged() ? " (diverged)" : "");
    }
}
