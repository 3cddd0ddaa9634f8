// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.api.Updater;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.Serial;

/**
 * The updater a {@link org.deeplearning4j.nn.multilayer.MultiLayerNetwork} calls once per iteration, before its
 * solver subtracts the gradient view from the parameters; it hands the iteration to its {@link Dl4jOptimizer}.
 * It holds no DL4J updater state (its state lives in the optimizer and is saved by {@link Dl4jOptimizer#save}).
 */
final class MultiLayerUpdater implements Updater {
    @Serial
    private static final long serialVersionUID = 1L;

    final transient Dl4jOptimizer<?> owner;
    private final transient INDArray gradientView;

    MultiLayerUpdater(Dl4jOptimizer<?> owner, INDArray gradientView) {
        this.owner = owner;
        this.gradientView = gradientView;
    }

    @Override
    public void setStateViewArray(Trainable layer, INDArray viewArray, boolean initialize) {
        if (viewArray != null && viewArray.length() > 0) {
            throw new IllegalStateException("viewArray: the sgdsai updater keeps no DL4J updater state; restore the "
                    + "optimizer with Dl4jOptimizer.load instead");
        }
    }

    @Override
    public INDArray getStateViewArray() {
        return null;
    }

    @Override
    public void update(Trainable layer, Gradient gradient, int iteration, int epoch, int batchSize,
                       LayerWorkspaceMgr workspaceMgr) {
        if (!Dl4jOptimizer.sameMemory(gradient.gradient(), gradientView)) {
            throw new UnsupportedOperationException("gradient: not the network's own gradient view; sgdsai updates "
                    + "in place and does not apply external gradients");
        }
        owner.update(iteration, epoch, batchSize);
    }
}
