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
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;

import io.github.sgdsai.SgdSai;

import java.util.Arrays;
import java.util.Random;

/**
 * What saving the running statistics after each applied step costs: a BatchNorm-heavy MLP ({@code layers} blocks of
 * Linear(width), BatchNorm, ReLU), timing {@code opt.step()} (which saves them) and the save alone, medians over
 * {@code steps} steps. Run with the test class path (see djl/README.md):
 * {@code java -cp ... io.github.sgdsai.djl.RunningStatisticsCost [layers width batch steps]}.
 */
public final class RunningStatisticsCost {
    private RunningStatisticsCost() {
    }

    public static void main(String[] args) {
        int layers = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        int width = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 32;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        SequentialBlock block = new SequentialBlock();
        for (int l = 0; l < layers; l++) {
            block.add(Linear.builder().setUnits(width).build()).add(BatchNorm.builder().build()).add(Activation.reluBlock());
        }
        block.add(Linear.builder().setUnits(4).build());
        try (Model model = Model.newInstance("cost", Device.cpu())) {
            model.setBlock(block);
            DjlOptimizer opt = DjlOptimizer.of(block, SgdSai.builder().lr(1e-3).momentum(0.9).threads(1));
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(opt).optDevices(new Device[] {Device.cpu()}))) {
                trainer.initialize(new Shape(batch, width));
                Random r = new Random(1);
                long[] step = new long[steps];
                long[] save = new long[steps];
                for (int k = 0; k < steps; k++) {
                    float[] x = new float[batch * width];
                    float[] y = new float[batch];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian();
                    }
                    for (int i = 0; i < y.length; i++) {
                        y[i] = r.nextInt(4);
                    }
                    try (NDManager sub = trainer.getManager().newSubManager();
                         GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray xs = sub.create(x, new Shape(batch, width));
                        NDList pred = trainer.forward(new NDList(xs));
                        gc.backward(trainer.getLoss().evaluate(new NDList(sub.create(y, new Shape(batch))), pred));
                    }
                    long t0 = System.nanoTime();
                    opt.step();
                    long t1 = System.nanoTime();
                    opt.saveStatistics();
                    long t2 = System.nanoTime();
                    step[k] = t1 - t0;
                    save[k] = t2 - t1;
                }
                long params = opt.engine().tensors().stream().mapToLong(t -> t.length()).sum();
                long stats = 0;
                for (String name : opt.runningStatistics()) {
                    stats += block.getParameters().get(name).getArray().size();
                }
                Arrays.sort(step);
                Arrays.sort(save);
                System.out.printf("%d trainable parameters, %d running statistics (%d floats, %d bytes)%n",
                        params, opt.runningStatistics().size(), stats, 4 * stats);
                System.out.printf("opt.step() on backend %s median %.1f us (includes one save); save alone median %.1f us"
                        + " (%.2f %% of the step); %d steps%n", opt.engine().backendName(), step[steps / 2] / 1e3, save[steps / 2] / 1e3, 100.0 * save[steps / 2] / step[steps / 2], steps);
            }
            opt.close();
        }
    }
}
