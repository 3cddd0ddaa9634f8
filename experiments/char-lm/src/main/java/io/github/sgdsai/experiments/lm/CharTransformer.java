// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.nn.transformer.IdEmbedding;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/**
 * A small causal transformer language model from DJL blocks (GPT-2's layout, pre-norm): token embedding
 * ({@link IdEmbedding}) plus a learned position embedding, {@code layers} {@link CausalLayer}s, a final
 * {@link LayerNorm} and an untied linear head. Input: token ids {@code (B, T)} (int32); output: logits
 * {@code (B, T, vocab)}.
 */
public final class CharTransformer extends AbstractBlock {

    private final int context;
    private final int dim;
    private final IdEmbedding tokens;
    private final Parameter positions;
    private final List<CausalLayer> layers = new ArrayList<>();
    private final LayerNorm finalNorm;
    private final Linear head;

    /**
     * A model.
     *
     * @param vocab   vocabulary size
     * @param context the longest sequence, T
     * @param dim     model width d
     * @param heads   attention heads (dividing d)
     * @param depth   number of transformer layers
     */
    public CharTransformer(int vocab, int context, int dim, int heads, int depth) {
        this.context = context;
        this.dim = dim;
        tokens = addChildBlock("tokenEmbedding", new IdEmbedding.Builder().setDictionarySize(vocab)
                .setEmbeddingSize(dim).build());
        positions = addParameter(Parameter.builder().setName("positionEmbedding").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(context, dim)).build());
        for (int i = 0; i < depth; i++) {
            layers.add(addChildBlock("layer" + i, new CausalLayer(dim, heads)));
        }
        finalNorm = addChildBlock("finalNorm", LayerNorm.builder().axis(2).build());
        head = addChildBlock("head", Linear.builder().setUnits(vocab).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                                     PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        int t = (int) ids.getShape().get(1);
        NDArray x = tokens.forward(ps, new NDList(ids), training).singletonOrThrow();
        NDArray pos = ps.getValue(positions, ids.getDevice(), training);
        x = x.add(pos.get("0:" + t));
        NDArray mask = CausalLayer.causalMask(ids.getManager(), t);
        NDList h = new NDList(x, mask);
        for (CausalLayer layer : layers) {
            h = layer.forward(ps, h, training);
        }
        NDArray y = finalNorm.forward(ps, new NDList(h.get(0)), training).singletonOrThrow();
        return head.forward(ps, new NDList(y), training);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return head.getOutputShapes(new Shape[] {new Shape(in.get(0), in.get(1), dim)});
    }

    @Override
    public void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape ids = inputShapes[0];
        Shape x = new Shape(ids.get(0), ids.get(1), dim);
        Shape mask = new Shape(1, 1, ids.get(1), ids.get(1));
        tokens.initialize(manager, dataType, ids);
        for (CausalLayer layer : layers) {
            layer.initialize(manager, dataType, x, mask);
        }
        finalNorm.initialize(manager, dataType, x);
        head.initialize(manager, dataType, x);
    }

    /**
     * The longest sequence the model takes.
     *
     * @return T
     */
    public int context() {
        return context;
    }
}
