// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.ScaledDotProductAttentionBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One pre-norm GPT block from DJL blocks: {@code x + attention(LN(x), causal mask)}, then {@code x + MLP(LN(x))} with
 * a 4·d GELU MLP. DJL's {@link ScaledDotProductAttentionBlock} takes a 4-dimensional mask as an additive offset on
 * the attention scores, so a {@code (1, 1, T, T)} tensor with −100000 above the diagonal makes it causal. Its query,
 * key, value and output projections are four separate {@code Linear} blocks (four weight tensors, four biases).
 * Input and output: {@code (B, T, d)}.
 */
final class CausalLayer extends AbstractBlock {

    private final ScaledDotProductAttentionBlock attention;
    private final LayerNorm norm1;
    private final LayerNorm norm2;
    private final SequentialBlock mlp;

    CausalLayer(int dim, int heads) {
        norm1 = addChildBlock("norm1", LayerNorm.builder().axis(2).build());
        attention = addChildBlock("attention",
                ScaledDotProductAttentionBlock.builder().setEmbeddingSize(dim).setHeadCount(heads)
                        .optAttentionProbsDropoutProb(0f).build());
        norm2 = addChildBlock("norm2", LayerNorm.builder().axis(2).build());
        mlp = addChildBlock("mlp", new SequentialBlock()
                .add(Linear.builder().setUnits(4L * dim).build())
                .add(Activation.geluBlock())
                .add(Linear.builder().setUnits(dim).build()));
    }

    /** The additive causal mask {@code (1, 1, t, t)}: 0 on and below the diagonal, −100000 above it. */
    static NDArray causalMask(NDManager manager, int t) {
        float[] m = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                m[i * t + j] = -100000f;
            }
        }
        return manager.create(m, new Shape(1, 1, t, t));
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray mask = inputs.get(1);
        NDArray h = norm1.forward(ps, new NDList(x), training).singletonOrThrow();
        NDArray a = attention.forward(ps, new NDList(h, mask), training).singletonOrThrow();
        x = x.add(a);
        h = norm2.forward(ps, new NDList(x), training).singletonOrThrow();
        NDArray f = mlp.forward(ps, new NDList(h), training).singletonOrThrow();
        return new NDList(x.add(f), mask);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }

    @Override
    public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape x = inputShapes[0];
        norm1.initialize(manager, dataType, x);
        attention.initialize(manager, dataType, x);
        norm2.initialize(manager, dataType, x);
        mlp.initialize(manager, dataType, x);
    }
}
