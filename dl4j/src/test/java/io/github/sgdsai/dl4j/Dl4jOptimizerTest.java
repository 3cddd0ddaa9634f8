// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NameRule;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Dl4jOptimizerTest {
    private static final int BATCH = 10;
    private static final int STEPS = 12;

    @TempDir
    File tmp;

    /** The configuration under test; group 1 (no decay) catches DL4J's bias names through the preset. */
    private static SgdSai.Builder sgdsai() {
        return SgdSai.builder().backend("scalar").lr(0.05).momentum(0.9).weightDecay(1e-2)
                .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0));
    }

    /**
     * The gradient DL4J hands its updater for {@code ds} at the model's current parameters, divided by the minibatch
     * size with ND4J's own division (the operation DL4J's updater and ours apply), one array per parameter key.
     */
    private static Map<String, float[]> gradients(Model model, DataSet ds, List<String> names) {
        if (model instanceof MultiLayerNetwork net) {
            net.setInput(ds.getFeatures());
            net.setLabels(ds.getLabels());
            net.computeGradientAndScore();
        } else {
            ComputationGraph g = (ComputationGraph) model;
            g.setInputs(ds.getFeatures());
            g.setLabels(ds.getLabels());
            g.computeGradientAndScore();
        }
        INDArray flat = (model instanceof MultiLayerNetwork net ? net.getFlattenedGradients()
                : ((ComputationGraph) model).getFlattenedGradients()).dup();
        flat.divi(ds.numExamples());
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : names) {
            INDArray v = model.paramTable().get(name);
            out.put(name, Nets.slice(flat, v.offset(), v.length()));
        }
        return out;
    }

    /**
     * Trains {@code model} through the integration and, in lock step, the same optimizer configuration on plain
     * {@code float[]} copies stepped with the same gradients; asserts every parameter equal bit for bit after every
     * step.
     */
    private static <O extends Optimizer> void assertTrajectoryEqualsDirect(Model model, Supplier<Optimizer.Builder<?, ?, O>> config) {
        try (Dl4jOptimizer<O> opt = model instanceof MultiLayerNetwork net ? Dl4jOptimizer.attach(net, config.get())
                : Dl4jOptimizer.attach((ComputationGraph) model, config.get())) {
            List<String> names = opt.parameterNames();
            Map<String, float[]> p = new LinkedHashMap<>();
            Map<String, float[]> g = new LinkedHashMap<>();
            Optimizer.Builder<?, ?, O> b = config.get();
            for (String name : names) {
                p.put(name, Nets.param(model, name));
                g.put(name, new float[p.get(name).length]);
                b.add(name, p.get(name), g.get(name));
            }
            try (O direct = b.build()) {
                for (int step = 0; step < STEPS; step++) {
                    DataSet ds = Nets.batch(100 + step, BATCH);
                    Map<String, float[]> grads = gradients(model, ds, names);
                    for (String name : names) {
                        System.arraycopy(grads.get(name), 0, g.get(name), 0, g.get(name).length);
                    }
                    if (model instanceof MultiLayerNetwork net) {
                        net.fit(ds);
                    } else {
                        ((ComputationGraph) model).fit(ds);
                    }
                    direct.step();
                    for (String name : names) {
                        assertArrayEquals(p.get(name), Nets.param(model, name), name + " after step " + (step + 1));
                    }
                }
                assertEquals(STEPS, opt.optimizer().steps());
                for (String name : names) {
                    assertEquals(direct.tensor(name).group().index(), opt.optimizer().tensor(name).group().index(), name);
                }
            }
        }
    }

    @Test
    void sgdsaiTrajectoryEqualsDirectStepsBitForBit() {
        assertTrajectoryEqualsDirect(Nets.cnn(1), Dl4jOptimizerTest::sgdsai);
    }

    @Test
    void adamwAndAdamMiniTrajectoriesEqualDirectStepsBitForBit() {
        assertTrajectoryEqualsDirect(Nets.cnn(2), () -> AdamW.builder().backend("scalar").lr(1e-3).weightDecay(0.1));
        assertTrajectoryEqualsDirect(Nets.cnn(3), () -> AdamMini.builder().backend("scalar").lr(1e-3).weightDecay(0.1));
    }

    @Test
    void computationGraphTrajectoryEqualsDirectStepsBitForBit() {
        ComputationGraph graph = Nets.graph(4, new Sgd(0.1));
        assertTrajectoryEqualsDirect(graph, Dl4jOptimizerTest::sgdsai);
    }

    @Test
    void coupledL2FromDl4jIsAddedToTheGradientAsDl4jDoes() {
        MultiLayerNetwork net = Nets.cnn(5, false, b -> b.l2(1e-2));
        // the direct reference sees the gradient without L2: add it as DL4J's L2Regularization does, g += l2 * p
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            List<String> names = opt.parameterNames();
            DataSet ds = Nets.batch(7, BATCH);
            Map<String, float[]> before = new LinkedHashMap<>();
            for (String name : names) {
                before.put(name, Nets.param(net, name));
            }
            Map<String, float[]> grads = gradients(net, ds, names);
            Map<String, float[]> p = new LinkedHashMap<>();
            SgdSai.Builder b = sgdsai();
            for (String name : names) {
                float[] w = before.get(name).clone();
                float[] gr = grads.get(name);
                org.nd4j.linalg.api.ndarray.INDArray gv = org.nd4j.linalg.factory.Nd4j.create(gr.clone(), new long[] {gr.length});
                org.nd4j.linalg.api.ndarray.INDArray pv = org.nd4j.linalg.factory.Nd4j.create(w.clone(), new long[] {w.length});
                new org.nd4j.linalg.learning.regularization.L2Regularization(1e-2).apply(pv, gv, 0.05, 0, 0);
                float[] withL2 = gv.toFloatVector();
                p.put(name, w);
                b.add(name, w, withL2);
            }
            net.fit(ds);
            try (SgdSai direct = b.build()) {
                direct.step();
            }
            for (String name : names) {
                assertArrayEquals(p.get(name), Nets.param(net, name), name);
            }
        }
    }

    @Test
    void everyDl4jParameterIsItsOwnTensorWithItsOwnGsnr() {
        MultiLayerNetwork net = Nets.cnn(6);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            assertEquals(List.of("0_b", "0_W", "2_W", "2_b", "3_W", "3_b"), opt.parameterNames());
            assertEquals(opt.parameterNames(), opt.optimizer().tensors().stream().map(Optimizer.Tensor::name).sorted(
                    (a, c) -> opt.parameterNames().indexOf(a) - opt.parameterNames().indexOf(c)).toList());
            DataSet ds = Nets.batch(8, BATCH);
            Map<String, float[]> grads = gradients(net, ds, opt.parameterNames());
            net.fit(ds);
            List<Double> seen = new ArrayList<>();
            for (String name : opt.parameterNames()) {
                Optimizer.Tensor t = opt.optimizer().tensor(name);
                assertEquals(net.paramTable().get(name).length(), t.length(), name);
                assertTrue(t.hasGsnr(), name);
                double expected = SgdSai.gsnr(FloatSpan.of(grads.get(name)), 1e-8);
                assertEquals(expected, t.gsnr(), 0.0, name + ": g-SNR of its own first gradient");
                seen.add(t.gsnr());
            }
            assertEquals(seen.size(), seen.stream().distinct().count(), "every tensor has its own g-SNR: " + seen);
            // softmax-cross-entropy: the output bias gradient sums to 0 over classes, so g-SNR = sqrt(n - 1)
            assertEquals(Math.sqrt(Nets.CLASSES - 1), opt.optimizer().tensor("3_b").gsnr(), 1e-4);
            // the name preset put the biases in the no-decay group
            assertEquals(0, opt.optimizer().tensor("0_b").group().weightDecay());
            assertEquals(1e-2, opt.optimizer().tensor("0_W").group().weightDecay());
        }
    }

    @Test
    void parametersAndGradientsAreNd4jMemoryNotCopies() {
        MultiLayerNetwork net = Nets.cnn(9);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            Optimizer.Tensor w = opt.optimizer().tensor("2_W");
            assertTrue(w.param().isDirect(), "direct parameter memory");
            w.param().set(5, 42f);
            assertEquals(42f, Nets.param(net, "2_W")[5]);
            net.getFlattenedGradients().putScalar(net.paramTable().get("2_W").offset() + 3, -7f);
            assertEquals(-7f, w.grad().get(3));
        }
    }

    @Test
    void saveAndRestoreContinuesBitForBit() throws IOException {
        MultiLayerNetwork a = Nets.cnn(11);
        File file = new File(tmp, "model.zip");
        float[] straight;
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(a, sgdsai())) {
            for (int step = 0; step < 5; step++) {
                a.fit(Nets.batch(200 + step, BATCH));
            }
            opt.save(file);
            for (int step = 5; step < 10; step++) {
                a.fit(Nets.batch(200 + step, BATCH));
            }
            straight = Nets.allParams(a);
        }
        MultiLayerNetwork b = MultiLayerNetwork.load(file, false);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(b, sgdsai())) {
            opt.load(file);
            assertEquals(5, opt.optimizer().steps());
            for (int step = 5; step < 10; step++) {
                b.fit(Nets.batch(200 + step, BATCH));
            }
            assertArrayEquals(straight, Nets.allParams(b));
        }
        // without the optimizer state, the same continuation differs (momentum and g-SNR start afresh)
        MultiLayerNetwork c = MultiLayerNetwork.load(file, false);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(c, sgdsai())) {
            for (int step = 5; step < 10; step++) {
                c.fit(Nets.batch(200 + step, BATCH));
            }
            assertFalse(java.util.Arrays.equals(straight, Nets.allParams(c)));
        }
    }

    @Test
    void loadRefusesAFileWithoutOptimizerState() throws IOException {
        MultiLayerNetwork net = Nets.cnn(12);
        File file = new File(tmp, "plain.zip");
        net.save(file);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.load(file));
            assertTrue(e.getMessage().contains("sgdsai-optimizer"), e.getMessage());
            assertEquals(0, opt.optimizer().steps());
        }
    }

    @Test
    void nanGradientIsRejectedWithNothingChanged() throws IOException {
        MultiLayerNetwork net = Nets.cnn(13);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            net.fit(Nets.batch(300, BATCH));
            float[] params = Nets.allParams(net);
            ByteArrayOutputStream state = new ByteArrayOutputStream();
            opt.optimizer().save(state);
            DataSet bad = Nets.batch(301, BATCH);
            bad.getFeatures().putScalar(3, 17, Float.NaN);
            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, () -> net.fit(bad));
            assertTrue(opt.parameterNames().contains(e.tensor()), e.getMessage());
            assertArrayEquals(params, Nets.allParams(net), "parameters untouched");
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            opt.optimizer().save(after);
            assertArrayEquals(state.toByteArray(), after.toByteArray(), "optimizer state untouched");
            assertEquals(1, opt.optimizer().steps());
            // training goes on with good data
            net.fit(Nets.batch(302, BATCH));
            assertEquals(2, opt.optimizer().steps());
        }
    }

    @Test
    void skippedStepLeavesParametersAsTheyWere() {
        MultiLayerNetwork net = Nets.cnn(14);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai().nonFinite(NonFinitePolicy.SKIP_STEP))) {
            float[] params = Nets.allParams(net);
            DataSet bad = Nets.batch(400, BATCH);
            bad.getFeatures().putScalar(0, 0, Float.POSITIVE_INFINITY);
            net.fit(bad);
            assertEquals(1, opt.optimizer().skippedSteps());
            assertArrayEquals(params, Nets.allParams(net), "DL4J's params.subi(gradient) subtracted nothing");
        }
    }

    /** {@code fit} of either kind of model. */
    private static void fit(Model model, DataSet ds) {
        if (model instanceof MultiLayerNetwork net) {
            net.fit(ds);
        } else {
            ((ComputationGraph) model).fit(ds);
        }
    }

    /** Inference (test mode: the batch-norm running statistics are used) of either kind of model. */
    private static INDArray output(Model model, INDArray features) {
        return model instanceof MultiLayerNetwork net ? net.output(features, false)
                : ((ComputationGraph) model).outputSingle(false, features);
    }

    private static <O extends Optimizer> Dl4jOptimizer<O> attach(Model model, Optimizer.Builder<?, ?, O> builder) {
        return model instanceof MultiLayerNetwork net ? Dl4jOptimizer.attach(net, builder)
                : Dl4jOptimizer.attach((ComputationGraph) model, builder);
    }

    private static byte[] state(Optimizer opt) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            opt.save(out);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Under SKIP_STEP, a batch whose gradient is non-finite ({@code spoil} puts a NaN or Inf into it) leaves every
     * parameter of the model bit-identical, the batch-norm running statistics included (DL4J, not the optimizer,
     * updates those from the gradient view after the updater has run), and the optimizer's state exactly as a step
     * skipped on the optimizer itself leaves it; later batches train exactly as on a twin that never saw the bad one.
     */
    private static <O extends Optimizer> void assertSkippedBatchChangesNothing(Supplier<Model> fresh,
            Supplier<Optimizer.Builder<?, ?, O>> config, java.util.function.Consumer<DataSet> spoil) {
        Model model = fresh.get();
        Model twin = fresh.get();
        try (Dl4jOptimizer<O> opt = attach(model, config.get().nonFinite(NonFinitePolicy.SKIP_STEP));
             Dl4jOptimizer<O> twinOpt = attach(twin, config.get().nonFinite(NonFinitePolicy.SKIP_STEP))) {
            List<String> statistics = new ArrayList<>(model.paramTable().keySet());
            statistics.removeAll(opt.parameterNames());
            assertEquals(2, statistics.size(), "the batch-norm running statistics stay DL4J's: " + statistics);
            for (int step = 0; step < 2; step++) { // momentum and running statistics away from their initial values
                fit(model, Nets.batch(700 + step, BATCH));
                fit(twin, Nets.batch(700 + step, BATCH));
            }
            assertArrayEquals(Nets.allParams(twin), Nets.allParams(model), "the twins train alike");
            float[] params = Nets.allParams(model);
            Map<String, float[]> stats = new LinkedHashMap<>();
            for (String name : statistics) {
                stats.put(name, Nets.param(model, name));
            }
            DataSet bad = Nets.batch(702, BATCH);
            spoil.accept(bad);

            fit(model, bad);

            assertEquals(1, opt.optimizer().skippedSteps());
            assertEquals(1, opt.skippedSteps());
            assertEquals(opt.optimizer().lastSkip(), opt.lastSkip());
            assertEquals(2, opt.optimizer().steps());
            assertTrue(opt.parameterNames().contains(opt.optimizer().lastSkip().tensor()), opt.optimizer().lastSkip().toString());
            for (String name : statistics) {
                assertArrayEquals(stats.get(name), Nets.param(model, name), name + ": running statistic untouched");
            }
            assertArrayEquals(params, Nets.allParams(model), "every parameter bit-identical");
            // the same skip made directly on the optimizer (a non-finite gradient, step() returns false): same state
            twinOpt.optimizer().tensors().get(0).grad().set(0, Float.NaN);
            assertFalse(twinOpt.optimizer().step());
            assertArrayEquals(state(twinOpt.optimizer()), state(opt.optimizer()), "optimizer state as a plain skip leaves it");
            INDArray probe = Nets.batch(799, BATCH).getFeatures();
            assertArrayEquals(output(twin, probe).ravel().toFloatVector(), output(model, probe).ravel().toFloatVector(), "inference unchanged");

            for (int step = 3; step < 6; step++) { // good batches train on, as if the bad one had never come
                fit(model, Nets.batch(700 + step, BATCH));
                fit(twin, Nets.batch(700 + step, BATCH));
                assertArrayEquals(Nets.allParams(twin), Nets.allParams(model), "after good batch " + step);
            }
            assertEquals(5, opt.optimizer().steps());
            assertFalse(java.util.Arrays.equals(params, Nets.allParams(model)), "training moved on");
            for (String name : statistics) {
                assertFalse(java.util.Arrays.equals(stats.get(name), Nets.param(model, name)), name + " still updated by DL4J");
            }
            for (float v : Nets.allParams(model)) {
                assertTrue(Float.isFinite(v));
            }
            for (float v : output(model, probe).ravel().toFloatVector()) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void skippedNanInputBatchLeavesBatchNormStatisticsBitIdentical() {
        assertSkippedBatchChangesNothing(() -> Nets.cnn(21, true, b -> { }), Dl4jOptimizerTest::sgdsai,
                bad -> bad.getFeatures().putScalar(3, 17, Float.NaN));
    }

    @Test
    void skippedNanLabelBatchLeavesBatchNormStatisticsBitIdentical() {
        // the labels spoil only the gradients: DL4J's running-statistics update from this batch is finite, and still
        // must not be applied when the step is skipped
        assertSkippedBatchChangesNothing(() -> Nets.cnn(22, true, b -> { }),
                () -> AdamW.builder().backend("scalar").lr(1e-3).weightDecay(0.1),
                bad -> bad.getLabels().putScalar(4, 1, Float.NaN));
    }

    @Test
    void computationGraphSkippedBatchLeavesBatchNormStatisticsBitIdentical() {
        assertSkippedBatchChangesNothing(() -> Nets.graphWithBatchNorm(23), Dl4jOptimizerTest::sgdsai,
                bad -> bad.getFeatures().putScalar(2, 5, Float.NaN));
        assertSkippedBatchChangesNothing(() -> Nets.graphWithBatchNorm(24),
                () -> AdamMini.builder().backend("scalar").lr(1e-3),
                bad -> bad.getLabels().putScalar(0, 0, Float.POSITIVE_INFINITY));
    }

    /**
     * A finite input large enough (1e30) to overflow a batch variance: every gradient of the optimizer's stays finite,
     * but DL4J's update of the running variance is infinite (and would turn NaN at the next batch). The adapter checks
     * the gradients of the parameters DL4J updates itself as well: under THROW {@code fit} throws naming that
     * parameter with nothing changed; under SKIP_STEP the iteration is skipped (counted by the adapter, not by the
     * optimizer, whose gradients were fine), every parameter stays bit-identical, and training goes on as in a twin
     * that never saw the batch.
     */
    private static void assertOverflowingBatchIsRefused(Supplier<Model> fresh, java.util.function.Consumer<DataSet> spoil) {
        Model model = fresh.get();
        try (Dl4jOptimizer<SgdSai> opt = attach(model, sgdsai())) {
            fit(model, Nets.batch(710, BATCH));
            float[] params = Nets.allParams(model);
            byte[] state = state(opt.optimizer());
            DataSet bad = Nets.batch(711, BATCH);
            spoil.accept(bad);
            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, () -> fit(model, bad));
            assertFalse(opt.parameterNames().contains(e.tensor()), "a parameter DL4J keeps: " + e.getMessage());
            assertTrue(model.paramTable().containsKey(e.tensor()), e.getMessage());
            assertArrayEquals(params, Nets.allParams(model), "nothing changed");
            assertArrayEquals(state, state(opt.optimizer()), "optimizer state untouched");
            assertEquals(0, opt.skippedSteps());
        }
        Model skipping = fresh.get();
        Model twin = fresh.get();
        try (Dl4jOptimizer<SgdSai> opt = attach(skipping, sgdsai().nonFinite(NonFinitePolicy.SKIP_STEP));
             Dl4jOptimizer<SgdSai> twinOpt = attach(twin, sgdsai().nonFinite(NonFinitePolicy.SKIP_STEP))) {
            fit(skipping, Nets.batch(710, BATCH));
            fit(twin, Nets.batch(710, BATCH));
            float[] params = Nets.allParams(skipping);
            byte[] state = state(opt.optimizer());
            DataSet bad = Nets.batch(711, BATCH);
            spoil.accept(bad);
            fit(skipping, bad);
            assertEquals(1, opt.skippedSteps());
            assertEquals(0, opt.optimizer().skippedSteps(), "the optimizer's own gradients were finite");
            assertFalse(opt.parameterNames().contains(opt.lastSkip().tensor()), opt.lastSkip().toString());
            assertTrue(Float.isInfinite(opt.lastSkip().value()) || Float.isNaN(opt.lastSkip().value()));
            assertEquals(1, opt.lastSkip().step());
            assertArrayEquals(params, Nets.allParams(skipping), "every parameter bit-identical");
            assertArrayEquals(state, state(opt.optimizer()), "optimizer state untouched");
            for (int step = 2; step < 5; step++) {
                fit(skipping, Nets.batch(710 + step, BATCH));
                fit(twin, Nets.batch(710 + step, BATCH));
                assertArrayEquals(Nets.allParams(twin), Nets.allParams(skipping), "after good batch " + step);
            }
            for (float v : Nets.allParams(skipping)) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void overflowingBatchIsRefusedThoughTheOptimizersGradientsAreFinite() {
        assertOverflowingBatchIsRefused(() -> Nets.cnn(25, true, b -> { }), bad -> bad.getFeatures().putScalar(3, 17, 1e30f));
        assertOverflowingBatchIsRefused(() -> Nets.graphWithBatchNorm(26), bad -> bad.getFeatures().putScalar(3, 17, 1e30f));
    }

    @Test
    void batchNormStatisticsStayWithDl4j() {
        MultiLayerNetwork net = Nets.cnn(15, true, b -> { });
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai())) {
            assertEquals(List.of("0_b", "0_W", "1_gamma", "1_beta", "3_W", "3_b", "4_W", "4_b"), opt.parameterNames());
            assertSame(opt.optimizer().tensor("1_gamma").group(), opt.optimizer().tensor("1_beta").group());
            assertEquals(0, opt.optimizer().tensor("1_gamma").group().weightDecay());
            List<String> dl4jOwn = new ArrayList<>(net.paramTable().keySet());
            dl4jOwn.removeAll(opt.parameterNames());
            assertTrue(dl4jOwn.equals(List.of("1_mean", "1_var")) || dl4jOwn.equals(List.of("1_mean", "1_log10stdev")),
                    "running statistics left to DL4J: " + dl4jOwn);
            float[] mean = Nets.param(net, "1_mean");
            float[] spread = Nets.param(net, dl4jOwn.get(1));
            net.fit(Nets.batch(500, BATCH));
            assertFalse(java.util.Arrays.equals(mean, Nets.param(net, "1_mean")), "DL4J still updates running means");
            assertFalse(java.util.Arrays.equals(spread, Nets.param(net, dl4jOwn.get(1))), "and running spreads");
            for (float v : Nets.allParams(net)) {
                assertTrue(Float.isFinite(v));
            }
        }
    }

    @Test
    void unsupportedDl4jFeaturesAreRefusedWithNothingChanged() {
        MultiLayerNetwork clipped = Nets.cnn(16, false, b -> b.gradientNormalization(GradientNormalization.ClipL2PerLayer)
                .gradientNormalizationThreshold(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dl4jOptimizer.attach(clipped, sgdsai()));
        assertTrue(e.getMessage().contains("layer '0'") && e.getMessage().contains("clipGradNorm"), e.getMessage());
        assertNull(clipped.getUpdater(false), "updater not replaced");

        MultiLayerNetwork decayed = Nets.cnn(17, false, b -> b.weightDecay(1e-3));
        e = assertThrows(IllegalArgumentException.class, () -> Dl4jOptimizer.attach(decayed, sgdsai()));
        assertTrue(e.getMessage().contains("parameter '0_W'") && e.getMessage().contains("weightDecay"), e.getMessage());
        assertNull(decayed.getUpdater(false));

        MultiLayerNetwork notInit = new MultiLayerNetwork(Nets.cnn(18).getLayerWiseConfigurations());
        e = assertThrows(IllegalArgumentException.class, () -> Dl4jOptimizer.attach(notInit, sgdsai()));
        assertTrue(e.getMessage().contains("init()"), e.getMessage());

        assertThrows(NullPointerException.class, () -> Dl4jOptimizer.attach((MultiLayerNetwork) null, sgdsai()));
        MultiLayerNetwork net = Nets.cnn(19);
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Dl4jOptimizer.attach(net, SgdSai.builder().lr(-1)));
        assertTrue(bad.getMessage().contains("lr"), bad.getMessage());
    }

    @Test
    void closeGivesTheNetworkBackItsOwnUpdater() {
        MultiLayerNetwork net = Nets.cnn(20);
        Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, sgdsai());
        net.fit(Nets.batch(600, BATCH));
        opt.close();
        float[] before = Nets.allParams(net);
        net.fit(Nets.batch(601, BATCH)); // DL4J's own Sgd(0.1) again
        assertNotEquals(before[0], Nets.allParams(net)[0]);
        assertEquals(1, opt.optimizer().steps());
        assertThrows(IllegalStateException.class, () -> opt.save(new File(tmp, "x.zip")));
    }
}
