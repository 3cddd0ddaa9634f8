// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A LeNet-5-style CNN for 28 x 28 grey images: conv 5x5x6 (same padding), max-pool 2, conv 5x5x16, max-pool 2,
 * dense 120, dense 84, softmax 10; ReLU; 61,706 parameters in 10 DL4J tensors.
 */
public final class LeNet {
    private LeNet() {
    }

    /**
     * A new, initialized network.
     *
     * @param seed    initialization seed
     * @param updater DL4J's updater (ignored once an sgdsai optimizer is attached)
     * @param l2      DL4J's coupled L2 coefficient on weights (not biases), 0 for none
     * @return the network
     */
    public static MultiLayerNetwork create(long seed, IUpdater updater, double l2) {
        NeuralNetConfiguration.Builder b = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(updater).weightInit(WeightInit.RELU).activation(Activation.RELU);
        if (l2 > 0) {
            b.l2(l2);
        }
        MultiLayerConfiguration conf = b.list()
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(6).convolutionMode(ConvolutionMode.Same).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(5, 5).nOut(16).build())
                .layer(new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(120).build())
                .layer(new DenseLayer.Builder().nOut(84).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(FashionMnist.CLASSES)
                        .activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build())
                .setInputType(InputType.convolutionalFlat(28, 28, 1))
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
