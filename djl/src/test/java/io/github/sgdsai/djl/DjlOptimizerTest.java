// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NameRule;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.schedule.Schedules;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The DJL adapter against sgdsai's optimizers stepped directly on the same gradients: the weights must agree bit for
 * bit, since the adapter runs the same engine on the same numbers (it only moves them).
 */
class DjlOptimizerTest {

    private static final int BATCH = 8;
    private static final int IN = 6;
    private static final int CLASSES = 4;

    /** An MLP with a LayerNorm: parameters 01Linear_weight/bias, 03LayerNorm_gamma/beta, 04Linear_weight/bias. */
    private static Block mlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(16).build())
                .add(Activation.reluBlock())
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /**
     * An MLP with a BatchNorm: trainable 01Linear_weight/bias, 02BatchNorm_gamma/beta, 04Linear_weight/bias; running
     * statistics 02BatchNorm_runningMean/runningVar, which DJL's training-mode forward pass updates.
     */
    private static Block bnMlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(16).build())
                .add(BatchNorm.builder().build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /** A training setup: model, trainer, adapter. */
    private record Setup(Model model, Trainer trainer, DjlOptimizer opt, Block block) implements AutoCloseable {
        static Setup of(Supplier<Optimizer.Builder<?, ?, ?>> builder, long seed) {
            return of(DjlOptimizerTest::mlp, builder, seed);
        }

        static Setup of(Supplier<Block> network, Supplier<Optimizer.Builder<?, ?, ?>> builder, long seed) {
            ai.djl.engine.Engine.getInstance().setRandomSeed((int) seed);
            Block block = network.get();
            Model model = Model.newInstance("mlp", Device.cpu());
            model.setBlock(block);
            DjlOptimizer opt = DjlOptimizer.of(block, builder.get());
            Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(opt).optDevices(new Device[] {Device.cpu()}));
            trainer.initialize(new Shape(BATCH, IN));
            return new Setup(model, trainer, opt, block);
        }

        /** Forward and backward on batch {@code k} of a fixed stream; leaves the gradients in the parameters. */
        void backward(int k) {
            backward(k, x -> { });
        }

        /** {@link #backward(int)} with the batch's inputs changed by {@code spoil} first. */
        void backward(int k, java.util.function.Consumer<float[]> spoil) {
            Random r = new Random(1000 + k);
            float[] x = new float[BATCH * IN];
            float[] y = new float[BATCH];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < y.length; i++) {
                y[i] = r.nextInt(CLASSES);
            }
            spoil.accept(x);
            try (NDManager sub = trainer.getManager().newSubManager();
                 GradientCollector gc = trainer.newGradientCollector()) {
                NDArray xs = sub.create(x, new Shape(BATCH, IN));
                NDArray ys = sub.create(y, new Shape(BATCH));
                NDList pred = trainer.forward(new NDList(xs));
                gc.backward(trainer.getLoss().evaluate(new NDList(ys), pred));
            }
        }

        List<Pair<String, Parameter>> params() {
            List<Pair<String, Parameter>> l = new ArrayList<>();
            for (Pair<String, Parameter> p : block.getParameters()) {
                if (p.getValue().requiresGradient()) {
                    l.add(p);
                }
            }
            return l;
        }

        float[][] weights() {
            return params().stream().map(p -> p.getValue().getArray().toFloatArray()).toArray(float[][]::new);
        }

        /** Every parameter of the block, running statistics included, in the block's order. */
        float[][] everything() {
            return block.getParameters().stream().map(p -> p.getValue().getArray().toFloatArray()).toArray(float[][]::new);
        }

        float[] parameter(String name) {
            return block.getParameters().get(name).getArray().toFloatArray();
        }

        float[][] grads() {
            return params().stream().map(p -> {
                try (NDArray g = p.getValue().getArray().getGradient()) {
                    return g.toFloatArray();
                }
            }).toArray(float[][]::new);
        }

        @Override
        public void close() {
            trainer.close();
            model.close();
            opt.close();
        }
    }

    private static Optimizer.Builder<?, ?, ?> builder(String kind) {
        return switch (kind) {
            case "sgdsai" -> SgdSai.builder().lr(Schedules.warmupCosine(0.05, 2, 12)).momentum(0.9).weightDecay(0.1)
                    .clipGradNorm(1.0).group(NameRule.biasesAndNorms(), g -> g.weightDecay(0));
            case "adamw" -> AdamW.builder().lr(Schedules.warmupCosine(0.01, 2, 12)).weightDecay(0.1).clipGradNorm(1.0)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0));
            case "adammini" -> AdamMini.builder().lr(0.01).clipGradNorm(1.0)
                    .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0));
            default -> throw new IllegalArgumentException(kind);
        };
    }

    /** The reference: the same builder over float arrays holding copies of the initial weights. */
    private static Optimizer reference(String kind, Setup s, float[][] w, float[][] g) {
        Optimizer.Builder<?, ?, ?> b = builder(kind);
        List<Pair<String, Parameter>> ps = s.params();
        for (int i = 0; i < ps.size(); i++) {
            b.add(ps.get(i).getKey(), w[i], g[i]);
        }
        return b.build();
    }

    private static void assertBitwise(float[][] expected, float[][] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length);
            for (int j = 0; j < expected[i].length; j++) {
                if (Float.floatToRawIntBits(expected[i][j]) != Float.floatToRawIntBits(actual[i][j])) {
                    throw new AssertionError(what + ": tensor " + i + " element " + j + ": expected " + expected[i][j]
                            + " got " + actual[i][j]);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgdsai", "adamw", "adammini"})
    void trajectoryEqualsTheOptimizerSteppedDirectly(String kind) {
        try (Setup s = Setup.of(() -> builder(kind), 7)) {
            float[][] w = s.weights();
            float first = w[0][0];
            float[][] g = new float[w.length][];
            for (int i = 0; i < w.length; i++) {
                g[i] = new float[w[i].length];
            }
            try (Optimizer ref = reference(kind, s, w, g)) {
                for (int step = 0; step < 12; step++) {
                    s.backward(step);
                    float[][] now = s.grads();
                    for (int i = 0; i < g.length; i++) {
                        System.arraycopy(now[i], 0, g[i], 0, g[i].length);
                    }
                    s.trainer().step();
                    ref.step();
                    assertBitwise(w, s.weights(), kind + " step " + step);
                }
                assertEquals(12, s.opt().engine().steps());
                assertEquals(ref.stateBytes(), s.opt().engine().stateBytes());
            }
            assertNotEquals(first, s.weights()[0][0], "the weights moved");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgdsai", "adamw"})
    void directStepEqualsTrainerStep(String kind) {
        try (Setup viaTrainer = Setup.of(() -> builder(kind), 13); Setup direct = Setup.of(() -> builder(kind), 13)) {
            for (int step = 0; step < 8; step++) {
                viaTrainer.backward(step);
                viaTrainer.trainer().step();
                direct.backward(step);
                assertTrue(direct.opt().step());
                assertBitwise(viaTrainer.weights(), direct.weights(), kind + " step " + step);
                for (float[] g : direct.grads()) {
                    for (float v : g) {
                        assertEquals(0f, v, "gradients zeroed after step()");
                    }
                }
            }
            assertEquals(8, direct.opt().engine().steps());
        }
    }

    @Test
    void everyParameterHasItsOwnGsnrAndItsDjlName() {
        try (Setup s = Setup.of(() -> builder("sgdsai").clipGradNorm(1e6), 3)) {
            s.backward(0);
            float[][] g = s.grads();
            s.trainer().step();
            List<Pair<String, Parameter>> ps = s.params();
            List<Optimizer.Tensor> ts = s.opt().engine().tensors();
            assertEquals(List.of("01Linear_weight", "01Linear_bias", "03LayerNorm_gamma", "03LayerNorm_beta",
                    "04Linear_weight", "04Linear_bias"), ps.stream().map(Pair::getKey).toList());
            double[] seen = new double[ps.size()];
            for (int i = 0; i < ps.size(); i++) {
                Optimizer.Tensor t = s.opt().engine().tensor(ps.get(i).getKey());
                assertEquals(SgdSai.gsnr(FloatSpan.of(g[i]), 1e-8), t.gsnr(), 0.0, t.name());
                seen[i] = t.gsnr();
                // biases and norms routed to the no-decay group by their DJL names
                boolean noDecay = ps.get(i).getKey().endsWith("bias") || ps.get(i).getKey().contains("LayerNorm");
                assertEquals(noDecay ? 0.0 : 0.1, t.group().weightDecay(), t.name());
            }
            assertEquals(ps.size(), ts.size());
            assertTrue(java.util.Arrays.stream(seen).distinct().count() > 3, "g-SNRs are per tensor");
        }
    }

    @Test
    void gradientsAreZeroedAfterTheStepAsDjlDoes() {
        try (Setup s = Setup.of(() -> builder("sgdsai"), 5)) {
            s.backward(0);
            s.trainer().step();
            for (float[] g : s.grads()) {
                for (float v : g) {
                    assertEquals(0f, v);
                }
            }
        }
    }

    @Test
    void nanGradientIsRejectedWithNothingChanged() throws IOException {
        try (Setup s = Setup.of(() -> builder("sgdsai"), 11); Setup clean = Setup.of(() -> builder("sgdsai"), 11)) {
            for (int step = 0; step < 2; step++) {
                s.backward(step);
                s.trainer().step();
                clean.backward(step);
                clean.trainer().step();
            }
            s.backward(2);
            Pair<String, Parameter> victim = s.params().get(4);
            try (NDArray g = victim.getValue().getArray().getGradient()) {
                FloatBuffer fb = g.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
                fb.put(3, Float.NaN);
            }
            float[][] weightsBefore = s.weights();
            float[][] gradsBefore = s.grads();
            ByteArrayOutputStream stateBefore = new ByteArrayOutputStream();
            s.opt().save(stateBefore);
            NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, () -> s.trainer().step());
            assertTrue(e.getMessage().contains(victim.getKey()), e.getMessage());
            assertBitwise(weightsBefore, s.weights(), "weights after a rejected step");
            assertBitwise(gradsBefore, s.grads(), "gradients after a rejected step");
            ByteArrayOutputStream stateAfter = new ByteArrayOutputStream();
            s.opt().save(stateAfter);
            assertArrayEquals(stateBefore.toByteArray(), stateAfter.toByteArray());
            assertEquals(2, s.opt().engine().steps());
            // zero the gradients as the documentation says, and training goes on as if the bad batch never came
            s.opt().zeroGradients();
            for (int step = 3; step < 6; step++) {
                s.backward(step);
                s.trainer().step();
                clean.backward(step);
                clean.trainer().step();
            }
            assertBitwise(clean.weights(), s.weights(), "after recovering");
        }
    }

    private static byte[] state(DjlOptimizer opt) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        opt.save(out);
        return out.toByteArray();
    }

    private static boolean hasNaN(float[] values) {
        for (float v : values) {
            if (Float.isNaN(v)) {
                return true;
            }
        }
        return false;
    }

    /**
     * A NaN in the input: DJL's training-mode forward pass writes NaN into BatchNorm's running mean and variance
     * (PyTorch's batch_norm updates them in place) before any optimizer runs; the gradients come out NaN and the step
     * is refused. The adapter then puts the running statistics back to what they were after the last applied step,
     * so every parameter of the block is bit-identical to before the batch, under THROW (through trainer.step(), after
     * which the gradients are zeroed by hand) and SKIP_STEP (through trainer.step() or opt.step()); training then goes
     * on exactly as in a twin that never saw the bad batch. With a good input and a NaN gradient the step is refused
     * as well, and the batch's (finite) change to the running statistics is undone with it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"throw", "skip-trainer", "skip-direct", "skip-nan-gradient"})
    void nanInputRefusedStepLeavesEveryParameterAndRunningStatisticAsItWas(String how) throws IOException {
        boolean skip = how.startsWith("skip");
        Supplier<Optimizer.Builder<?, ?, ?>> config =
                () -> builder("sgdsai").nonFinite(skip ? NonFinitePolicy.SKIP_STEP : NonFinitePolicy.THROW);
        try (Setup s = Setup.of(DjlOptimizerTest::bnMlp, config, 17); Setup twin = Setup.of(DjlOptimizerTest::bnMlp, config, 17)) {
            for (int step = 0; step < 2; step++) {
                s.backward(step);
                s.trainer().step();
                twin.backward(step);
                twin.trainer().step();
            }
            assertEquals(List.of("02BatchNorm_runningMean", "02BatchNorm_runningVar"), s.opt().runningStatistics());
            float[][] before = s.everything();
            assertBitwise(twin.everything(), before, "the twins train alike");
            byte[] stateBefore = state(s.opt());
            float[] meanBefore = s.parameter("02BatchNorm_runningMean");

            if (how.equals("skip-nan-gradient")) { // a good forward pass (it moves the statistics), a NaN gradient
                s.backward(2);
                assertFalse(java.util.Arrays.equals(meanBefore, s.parameter("02BatchNorm_runningMean")));
                try (NDArray g = s.params().get(0).getValue().getArray().getGradient()) {
                    g.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer().put(1, Float.NaN);
                }
            } else {
                s.backward(2, x -> x[5] = Float.NaN);
                assertTrue(hasNaN(s.parameter("02BatchNorm_runningMean")), "DJL's forward pass wrote NaN into the running mean");
                assertTrue(hasNaN(s.parameter("02BatchNorm_runningVar")), "and into the running variance");
            }
            if (!skip) {
                NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, () -> s.trainer().step());
                assertTrue(s.params().stream().anyMatch(p -> p.getKey().equals(e.tensor())), e.getMessage());
                assertArrayEquals(stateBefore, state(s.opt()), "optimizer state untouched");
                s.opt().zeroGradients();
            } else if (how.equals("skip-trainer")) {
                s.trainer().step();
            } else {
                assertFalse(s.opt().step());
            }
            assertBitwise(before, s.everything(), how + ": every parameter, running statistics included");
            assertEquals(2, s.opt().engine().steps());
            assertEquals(skip ? 1 : 0, s.opt().engine().skippedSteps());

            for (int step = 3; step < 6; step++) {
                s.backward(step);
                s.trainer().step();
                twin.backward(step);
                twin.trainer().step();
                assertBitwise(twin.everything(), s.everything(), how + ": after good batch " + step);
            }
            assertFalse(hasNaN(s.parameter("02BatchNorm_runningVar")));
            assertEquals(5, s.opt().engine().steps());
        }
    }

    /**
     * The running statistics are saved after each applied step, so a refused very first step cannot restore them:
     * the adapter first sees the model after that batch's forward pass. The trainable parameters are untouched even
     * then; the running statistics stay as DJL's forward pass left them (NaN here).
     */
    @Test
    void refusedFirstStepLeavesTrainableParametersButNotRunningStatistics() {
        try (Setup s = Setup.of(DjlOptimizerTest::bnMlp, () -> builder("adamw").nonFinite(NonFinitePolicy.SKIP_STEP), 19)) {
            float[][] weights = s.weights();
            float[] mean = s.parameter("02BatchNorm_runningMean");
            s.backward(0, x -> x[0] = Float.POSITIVE_INFINITY);
            s.trainer().step();
            assertEquals(1, s.opt().engine().skippedSteps());
            assertBitwise(weights, s.weights(), "trainable parameters after a refused first step");
            assertFalse(java.util.Arrays.equals(mean, s.parameter("02BatchNorm_runningMean")),
                    "the first forward pass's change to the running mean stays");
        }
    }

    /**
     * What the adapter does not catch (documented in the README): a finite input large enough (1e20) to overflow the
     * batch variance makes DJL's forward pass write infinity into the running variance while every gradient stays
     * finite, so the step is applied and the infinity stays. Checking the inputs before the forward pass is the remedy.
     */
    @Test
    void finiteInputOverflowingTheBatchVarianceIsNotCaught() {
        try (Setup s = Setup.of(DjlOptimizerTest::bnMlp, () -> builder("sgdsai").nonFinite(NonFinitePolicy.SKIP_STEP), 17)) {
            s.backward(0);
            s.trainer().step();
            s.backward(1, x -> x[5] = 1e20f);
            assertTrue(s.opt().step(), "the gradients are finite: the step is applied");
            boolean infinite = false;
            for (float v : s.parameter("02BatchNorm_runningVar")) {
                infinite |= v == Float.POSITIVE_INFINITY;
            }
            assertTrue(infinite, "the running variance holds infinity");
            for (float[] w : s.weights()) {
                for (float v : w) {
                    assertTrue(Float.isFinite(v));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sgdsai", "adamw"})
    void saveAndRestoreResumesExactly(String kind, @TempDir Path dir) throws Exception {
        byte[] optState;
        float[][] expected;
        try (Setup s = Setup.of(() -> builder(kind), 21)) {
            for (int step = 0; step < 4; step++) {
                s.backward(step);
                s.trainer().step();
            }
            s.model().save(dir, "mlp"); // parameters through DJL
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            s.opt().save(bytes); // optimizer state through sgdsai's checkpoint
            optState = bytes.toByteArray();
            for (int step = 4; step < 9; step++) {
                s.backward(step);
                s.trainer().step();
            }
            expected = s.weights();
        }
        ai.djl.engine.Engine.getInstance().setRandomSeed(999); // a different initialisation, overwritten by load
        Block block = mlp();
        try (Model model = Model.newInstance("mlp", Device.cpu())) {
            model.setBlock(block);
            block.initialize(model.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(BATCH, IN));
            model.load(dir, "mlp");
            DjlOptimizer opt = DjlOptimizer.of(block, builder(kind));
            opt.load(new ByteArrayInputStream(optState));
            Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(opt).optDevices(new Device[] {Device.cpu()}));
            try (Setup s = new Setup(model, trainer, opt, block)) {
                for (int step = 4; step < 9; step++) {
                    s.backward(step);
                    s.trainer().step();
                }
                assertBitwise(expected, s.weights(), "resumed");
                assertEquals(9, opt.engine().steps());
            }
        }
    }

    @Test
    void badUseIsReportedClearly() {
        assertThrows(NullPointerException.class, () -> DjlOptimizer.of(null, builder("sgdsai")));
        assertThrows(NullPointerException.class, () -> DjlOptimizer.of(mlp(), null));
        try (Setup s = Setup.of(() -> builder("sgdsai"), 2)) {
            assertThrows(IllegalStateException.class, () -> s.opt().save(new ByteArrayOutputStream()));
            s.backward(0);
            Parameter p = s.params().get(0).getValue();
            try (NDArray g = p.getArray().getGradient()) {
                // an id the block does not have
                IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                        () -> s.opt().update("no-such-id", p.getArray(), g));
                assertTrue(unknown.getMessage().contains("no-such-id"), unknown.getMessage());
                // the same parameter twice in one step (as with several devices): names the missing ones
                s.opt().update(p.getId(), p.getArray(), g);
                IllegalStateException twice = assertThrows(IllegalStateException.class,
                        () -> s.opt().update(p.getId(), p.getArray(), g));
                assertTrue(twice.getMessage().contains("01Linear_weight")
                        && twice.getMessage().contains("04Linear_bias"), twice.getMessage());
                // a gradient of the wrong size
                try (NDArray wrong = s.trainer().getManager().zeros(new Shape(3))) {
                    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                            () -> s.opt().update(p.getId(), p.getArray(), wrong));
                    assertTrue(size.getMessage().contains("01Linear_weight"), size.getMessage());
                }
            }
            assertEquals(0, s.opt().engine().steps());
            // after the errors a normal step works
            s.trainer().step();
            assertEquals(1, s.opt().engine().steps());
            assertFalse(s.opt().engine().tensors().isEmpty());
            assertTrue(s.opt().gradientBytesCopied() > 0);
            assertTrue(MemorySegment.ofBuffer(p.getArray().toByteBuffer(true)).address() != 0);
        }
    }
}
