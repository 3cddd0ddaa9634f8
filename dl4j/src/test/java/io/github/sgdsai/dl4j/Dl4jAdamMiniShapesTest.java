// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.Optimizer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The adapter adds every DL4J parameter with its shape as laid out in ND4J's memory, so that
 * {@code AdamMini.official(dim, heads)} cuts DL4J networks as the official rules cut the same memory: the official
 * partition of each parameter below was derived by hand from the rules (bias, query/key, per-row names, else one
 * block; rows are the tensor's rows as laid out) and DL4J's layouts (dense weights column-major, so rows of
 * {@code nIn} per output unit; biases and batch-norm vectors {@code (1, n)}; convolution kernels row-major
 * {@code (out, in, kh, kw)}).
 */
class Dl4jAdamMiniShapesTest {

    /** Name, expected elements per block, whether the official rule decays it. */
    record Row(String name, int block, boolean decays) {
    }

    static void assertPartitions(Optimizer opt, List<Row> table) {
        assertEquals(table.size(), opt.tensors().size(), "every trainable parameter is a tensor");
        for (Row r : table) {
            Optimizer.Tensor t = opt.tensor(r.name());
            assertEquals(r.block(), t.blockSize(), r.name() + ": elements per block");
            assertEquals(r.decays() ? 0.1 : 0.0, t.group().weightDecay(), r.name() + ": weight decay");
        }
    }

    @Test
    void aNamedGraphIsCutAsTheOfficialRulesCutItsMemory() {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
                .updater(new Sgd()).weightInit(WeightInit.XAVIER).graphBuilder()
                .addInputs("tokens")
                .addLayer("embed", new EmbeddingLayer.Builder().nIn(20).nOut(12).hasBias(true).build(), "tokens")
                .addLayer("mlp", new DenseLayer.Builder().nIn(12).nOut(16).hasLayerNorm(true)
                        .activation(Activation.TANH).build(), "embed")
                .addLayer("bn", new BatchNormalization.Builder().nIn(16).nOut(16).build(), "mlp")
                .addLayer("output", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(16).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "bn")
                .setOutputs("output").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        // DL4J keeps dense and embedding weights column-major: element (r, c) of (nIn, nOut) at r + c·nIn
        INDArray w = graph.getParam("mlp_W");
        assertEquals('f', w.ordering());
        float[] memory = Nets.param(graph, "mlp_W");
        assertEquals(w.getFloat(5, 7), memory[5 + 7 * 12]);
        try (Dl4jOptimizer<AdamMini> opt = Dl4jOptimizer.attach(graph,
                AdamMini.builder().backend("scalar").lr(1e-3).weightDecay(0.1).official(12, 2))) {
            assertPartitions(opt.optimizer(), List.of(
                    new Row("embed_W", 20, true),    // "embed": (20, 12) laid out (12, 20): 12 rows of 20
                    new Row("embed_b", 12, true),    // "embed", not "bias": (1, 12) is one row
                    new Row("mlp_W", 12, true),      // "mlp": (12, 16) laid out (16, 12): a block per output unit
                    new Row("mlp_g", 16, true),      // layer-norm gain (1, 16): one row
                    new Row("mlp_b", 16, true),
                    new Row("bn_gamma", 16, true),   // no rule, and "bn" is neither "norm" nor "ln": decayed
                    new Row("bn_beta", 16, true),
                    new Row("output_W", 16, true),   // "output": (16, 3) laid out (3, 16)
                    new Row("output_b", 3, true)));
        }
    }

    @Test
    void aNumberedNetworkMatchesNoNameRule() {
        MultiLayerNetwork net = Nets.cnn(5, true, b -> { });
        try (Dl4jOptimizer<AdamMini> opt = Dl4jOptimizer.attach(net,
                AdamMini.builder().backend("scalar").lr(1e-3).weightDecay(0.1).official(16, 4))) {
            assertPartitions(opt.optimizer(), List.of(
                    new Row("0_W", 4 * 3 * 3, true), new Row("0_b", 4, true),     // conv (4, 1, 3, 3): one block
                    new Row("1_gamma", 4, true), new Row("1_beta", 4, true),
                    new Row("3_W", 36 * 16, true), new Row("3_b", 16, true),
                    new Row("4_W", 16 * 3, true), new Row("4_b", 3, true)));
        }
        // with a name rule to match, the conv kernel (4, 1, 3, 3) is cut per output channel
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT)
                .updater(new Sgd()).graphBuilder().addInputs("in")
                .addLayer("conv_mlp", new ConvolutionLayer.Builder(3, 3).nIn(2).nOut(4).build(), "in")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(1)
                        .activation(Activation.IDENTITY).build(), "conv_mlp")
                .setInputTypes(org.deeplearning4j.nn.conf.inputs.InputType.convolutional(5, 5, 2))
                .setOutputs("out").build();
        ComputationGraph graph = new ComputationGraph(conf);
        graph.init();
        try (Dl4jOptimizer<AdamMini> opt = Dl4jOptimizer.attach(graph,
                AdamMini.builder().backend("scalar").lr(1e-3).weightDecay(0.1).official(4, 1))) {
            assertEquals(2 * 3 * 3, opt.optimizer().tensor("conv_mlp_W").blockSize());
            assertEquals(4, opt.optimizer().tensor("conv_mlp_b").blockSize());
        }
    }
}
