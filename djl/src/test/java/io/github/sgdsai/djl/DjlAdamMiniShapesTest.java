// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.djl;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import io.github.sgdsai.AdamMini;
import io.github.sgdsai.Optimizer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The adapter adds every DJL parameter with its shape, so that {@code AdamMini.official(dim, heads)} cuts a DJL block
 * as the official rules cut it. The official partition below was derived by hand: DJL names a {@code Linear}'s
 * parameters {@code NNLinear_weight} (shape {@code (out, in)}, row-major, matched by the MLP name {@code linear}: one
 * block per output unit) and {@code NNLinear_bias} (bias: per element); its norms' {@code gamma}/{@code beta} match
 * no rule (one block each) and are not decayed where the layer's name contains {@code norm}.
 */
class DjlAdamMiniShapesTest {

    /** Name, expected elements per block, whether the official rule decays it. */
    record Row(String name, int block, boolean decays) {
    }

    @Test
    void aBlockIsCutAsTheOfficialRulesCutIt() {
        SequentialBlock block = new SequentialBlock()
                .add(Linear.builder().setUnits(16).build())
                .add(Activation.reluBlock())
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(12).build())
                .add(BatchNorm.builder().build())
                .add(Linear.builder().setUnits(3).build());
        DjlOptimizer opt = DjlOptimizer.of(block, AdamMini.builder().lr(1e-3).weightDecay(0.1).official(16, 2));
        try (Model model = Model.newInstance("mlp", Device.cpu())) {
            model.setBlock(block);
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(opt).optDevices(new Device[] {Device.cpu()}))) {
                trainer.initialize(new Shape(4, 6));
                try (NDManager sub = trainer.getManager().newSubManager();
                     GradientCollector gc = trainer.newGradientCollector()) {
                    NDArray x = sub.randomNormal(new Shape(4, 6));
                    NDArray y = sub.create(new float[] {0, 1, 2, 1});
                    gc.backward(trainer.getLoss().evaluate(new NDList(y), trainer.forward(new NDList(x))));
                }
                trainer.step();
                Optimizer engine = opt.engine();
                List<Row> table = List.of(
                        new Row("01Linear_weight", 6, true),      // (16, 6): 16 rows of 6
                        new Row("01Linear_bias", 1, false),
                        new Row("03LayerNorm_gamma", 16, false),  // no rule: one block; "norm": no decay
                        new Row("03LayerNorm_beta", 16, false),
                        new Row("04Linear_weight", 16, true),     // (12, 16): rows of 16
                        new Row("04Linear_bias", 1, false),
                        new Row("05BatchNorm_gamma", 12, false),
                        new Row("05BatchNorm_beta", 12, false),
                        new Row("06Linear_weight", 12, true),     // (3, 12): rows of 12
                        new Row("06Linear_bias", 1, false));
                assertEquals(table.size(), engine.tensors().size(), engine.tensors().toString());
                for (Row r : table) {
                    Optimizer.Tensor t = engine.tensor(r.name());
                    assertEquals(r.block(), t.blockSize(), r.name() + ": elements per block");
                    assertEquals(r.decays() ? 0.1 : 0.0, t.group().weightDecay(), r.name() + ": weight decay");
                }
            }
        } finally {
            opt.close();
        }
    }
}
