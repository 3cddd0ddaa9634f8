// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.Serial;

/**
 * The updater a {@link ComputationGraph} calls once per iteration (DL4J accepts only this class's base there); it
 * hands the iteration to its {@link Dl4jOptimizer}. The base class's updater blocks are never run.
 */
final class GraphUpdater extends ComputationGraphUpdater {
    @Serial
    private static final long serialVersionUID = 1L;

    final transient Dl4jOptimizer<?> owner;

    GraphUpdater(ComputationGraph graph, Dl4jOptimizer<?> owner) {
        super(graph);
        this.owner = owner;
    }

    @Override
    public INDArray getStateViewArray() {
        return null; // DL4J's serializer then writes no (unused) updater state
    }

    @Override
    public void update(Trainable layer, Gradient gradient, int iteration, int epoch, int batchSize,
                       LayerWorkspaceMgr workspaceMgr) {
        update(gradient, iteration, epoch, batchSize, workspaceMgr);
    }

    @Override
    public synchronized void update(Gradient gradient, int iteration, int epoch, int batchSize,
                                    LayerWorkspaceMgr workspaceMgr) {
        if (!Dl4jOptimizer.sameMemory(gradient.gradient(), getFlattenedGradientsView())) {
            throw new UnsupportedOperationException("gradient: not the graph's own gradient view; sgdsai updates "
                    + "in place and does not apply external gradients");
        }
        owner.update(iteration, epoch, batchSize);
    }
}
