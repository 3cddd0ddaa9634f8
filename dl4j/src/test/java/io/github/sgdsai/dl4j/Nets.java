// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.nio.FloatBuffer;
import java.util.Random;
import java.util.function.Consumer;

/** Small DL4J networks and data for the tests. */
final class Nets {
    static final int SIDE = 8;
    static final int CLASSES = 3;

    private Nets() {
    }

    /** A small CNN (conv, max-pool, dense, softmax) on 8x8 single-channel images; optionally with batch norm. */
    static MultiLayerNetwork cnn(long seed, boolean batchNorm, Consumer<NeuralNetConfiguration.Builder> extra) {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER);
        extra.accept(b);
        NeuralNetConfiguration.ListBuilder list = b.list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build());
        if (batchNorm) {
            list.layer(new BatchNormalization.Builder().build());
        }
        list.layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(SIDE, SIDE, 1));
        MultiLayerConfiguration conf = list.build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static MultiLayerNetwork cnn(long seed) {
        return cnn(seed, false, b -> { });
    }

    /** A two-layer graph (dense "hidden", softmax "out") on flat 64-element inputs. */
    static ComputationGraph graph(long seed, IUpdater updater) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(updater).weightInit(WeightInit.XAVIER).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(SIDE * SIDE).nOut(12).activation(Activation.TANH).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(12).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build(), "hidden")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    /**
     * A graph with batch normalization on a dense layer (dense "hidden", batch norm "bn", softmax "out") on flat
     * 64-element inputs: DL4J's rank-2 batch-norm path, where the convolutional {@link #cnn} takes the rank-4 one.
     */
    static ComputationGraph graphWithBatchNorm(long seed) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(new Sgd(0.1)).weightInit(WeightInit.XAVIER).graphBuilder()
                .addInputs("in")
                .addLayer("hidden", new DenseLayer.Builder().nIn(SIDE * SIDE).nOut(12).activation(Activation.IDENTITY).build(), "in")
                .addLayer("bn", new BatchNormalization.Builder().nOut(12).build(), "hidden")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(12).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build(), "bn")
                .setOutputs("out").build();
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    /** A minibatch of random images (flat, 64 floats each) with one-hot labels; the same for the same seed. */
    static DataSet batch(long seed, int n) {
        Random r = new Random(seed);
        float[] x = new float[n * SIDE * SIDE];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        float[] y = new float[n * CLASSES];
        for (int i = 0; i < n; i++) {
            y[i * CLASSES + r.nextInt(CLASSES)] = 1f;
        }
        return new DataSet(Nd4j.create(x, new long[] {n, SIDE * SIDE}), Nd4j.create(y, new long[] {n, CLASSES}));
    }

    /** A copy of parameter {@code name}'s floats in flattened-memory order. */
    static float[] param(Model model, String name) {
        INDArray v = model.paramTable().get(name);
        return slice(model.params(), v.offset(), v.length());
    }

    /** A copy of {@code length} floats of a flattened array from {@code offset}, in memory order. */
    static float[] slice(INDArray flat, long offset, long length) {
        FloatBuffer b = flat.data().asNioFloat();
        float[] out = new float[(int) length];
        b.get((int) offset, out);
        return out;
    }

    /** A copy of every parameter of the model, in memory order. */
    static float[] allParams(Model model) {
        return slice(model.params(), 0, model.params().length());
    }
}
