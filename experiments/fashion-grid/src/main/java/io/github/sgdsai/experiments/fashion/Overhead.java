// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.dl4j.Dl4jOptimizer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Measures what the integration costs: (1) a whole DL4J training step ({@code net.fit(batch)}) of the grid's LeNet
 * with DL4J's own Nesterovs updater against the same step with SGD-SaI attached; (2) the optimizer's update over a
 * network of about 16M parameters (one 4096 x 4096 dense layer), through the attached updater (minibatch division,
 * step, gradient zeroing) and as {@link Optimizer#step()} alone on ND4J's memory, against {@link SgdSai} on plain
 * {@code float[]} of the same sizes and against DL4J's Nesterovs updater. Alternates the candidates in rounds and
 * reports medians, so a shared machine's drift hits all alike. Arguments: {@code rounds} (default 15).
 */
public final class Overhead {
    private Overhead() {
    }

    /**
     * Runs the measurements and prints a Markdown table.
     *
     * @param args optional number of rounds
     * @throws Exception if the data cannot be read
     */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        cnnStep(rounds);
        bigStep(rounds);
    }

    /** Median milliseconds per call of each candidate, measured in alternating rounds of {@code reps} calls. */
    private static double[] race(int rounds, int reps, List<Runnable> candidates) {
        double[][] ms = new double[candidates.size()][rounds];
        for (int w = 0; w < 2; w++) { // warm-up rounds
            for (Runnable c : candidates) {
                for (int i = 0; i < reps; i++) {
                    c.run();
                }
            }
        }
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < candidates.size(); k++) {
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    candidates.get(k).run();
                }
                ms[k][r] = (System.nanoTime() - t0) / 1e6 / reps;
            }
        }
        double[] med = new double[candidates.size()];
        for (int k = 0; k < med.length; k++) {
            Arrays.sort(ms[k]);
            med[k] = ms[k][rounds / 2];
        }
        return med;
    }

    private static void cnnStep(int rounds) throws Exception {
        FashionMnist train = FashionMnist.load(null, true, 50);
        DataSet batch = train.epoch(50, 1).get(0);
        MultiLayerNetwork nesterovs = LeNet.create(1, new Nesterovs(1e-2, 0.9), 0);
        MultiLayerNetwork sai = LeNet.create(1, new Nesterovs(1e-2, 0.9), 0);
        try (Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(sai, SgdSai.builder().lr(1e-4).momentum(0.9))) {
            double[] ms = race(rounds, 20, List.of(() -> nesterovs.fit(batch), () -> sai.fit(batch)));
            System.out.printf(Locale.ROOT, "%n| LeNet training step, batch 50 (%d params) | ms/step (median of %d rounds) |%n"
                    + "|---|---|%n| DL4J Nesterovs | %.3f |%n| SGD-SaI through Dl4jOptimizer (backend %s) | %.3f (%+.1f %%) |%n",
                    sai.numParams(), rounds, ms[0], opt.optimizer().backendName(), ms[1], 100 * (ms[1] / ms[0] - 1));
        }
    }

    private static MultiLayerNetwork big(Nesterovs updater) {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT)
                .updater(updater).list()
                .layer(new DenseLayer.Builder().nIn(4096).nOut(4096).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(4096).nOut(10)
                        .activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        net.initGradientsView();
        INDArray g = net.getFlattenedGradients();
        Random r = new Random(2);
        float[] values = new float[(int) g.length()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextGaussian();
        }
        g.assign(org.nd4j.linalg.factory.Nd4j.create(values, g.shape()));
        return net;
    }

    private static void bigStep(int rounds) {
        MultiLayerNetwork viaUpdater = big(new Nesterovs(1e-2, 0.9));
        MultiLayerNetwork viaStep = big(new Nesterovs(1e-2, 0.9));
        MultiLayerNetwork dl4j = big(new Nesterovs(1e-2, 0.9));
        long n = viaUpdater.numParams();
        Supplier<SgdSai.Builder> config = () -> SgdSai.builder().lr(1e-6).momentum(0.9).weightDecay(1e-4);
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        try (Dl4jOptimizer<SgdSai> a = Dl4jOptimizer.attach(viaUpdater, config.get());
             Dl4jOptimizer<SgdSai> b = Dl4jOptimizer.attach(viaStep, config.get())) {
            SgdSai.Builder plain = config.get();
            int[] sizes = viaUpdater.paramTable().values().stream().mapToInt(v -> (int) v.length()).toArray();
            String[] names = viaUpdater.paramTable().keySet().toArray(new String[0]);
            Random r = new Random(3);
            for (int i = 0; i < sizes.length; i++) {
                float[] g = new float[sizes[i]];
                for (int j = 0; j < g.length; j++) {
                    g[j] = (float) r.nextGaussian();
                }
                plain.add(names[i], new float[sizes[i]], g);
            }
            org.deeplearning4j.nn.api.Updater dl4jUpdater = dl4j.getUpdater(true);
            INDArray dl4jGrad = dl4j.getFlattenedGradients();
            try (SgdSai direct = plain.build()) {
                double[] ms = race(rounds, 5, List.of(
                        direct::step,
                        () -> b.optimizer().step(),
                        () -> viaUpdater.getUpdater().update(viaUpdater, new DefaultGradient(viaUpdater.getFlattenedGradients()),
                                0, 0, 32, ws),
                        () -> dl4jUpdater.update(dl4j, new DefaultGradient(dl4jGrad), 0, 0, 32, ws)));
                System.out.printf(Locale.ROOT, "%n| optimizer update, %d params (%d tensors), backend %s, %d threads | ms "
                                + "(median of %d rounds) | vs SgdSai on float[] |%n|---|---|---|%n"
                                + "| SgdSai.step() on float[] | %.2f | 1.00x |%n"
                                + "| SgdSai.step() on ND4J's memory (attached) | %.2f | %.2fx |%n"
                                + "| Dl4jOptimizer updater: divide by minibatch + step + zero gradient | %.2f | %.2fx |%n"
                                + "| DL4J Nesterovs updater (divide + update; no params.subi) | %.2f | %.2fx |%n",
                        n, sizes.length, a.optimizer().backendName(), Runtime.getRuntime().availableProcessors(), rounds,
                        ms[0], ms[1], ms[1] / ms[0], ms[2], ms[2] / ms[0], ms[3], ms[3] / ms[0]);
            }
        }
    }
}
