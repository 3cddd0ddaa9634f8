// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import io.github.sgdsai.NameRule;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.schedule.Schedules;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** The API tour of docs/optimizers.md, kept compiling and running (the checkpoint goes to a temporary file). */
public final class ReadmeExample {
    private ReadmeExample() {
    }

    /** Runs the tour with random stand-in gradients; returns the optimizer's final step count. */
    public static long run() throws IOException {
        Random rnd = new Random(1);
        float[] w = new float[64 * 10], dw = new float[64 * 10];    // parameters and their gradients
        FloatBuffer b = ByteBuffer.allocateDirect(40).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        FloatBuffer db = FloatBuffer.allocate(10);                  // any mix of arrays and buffers
        Path ckpt = Files.createTempFile("opt", ".ckpt");
        try (SgdSai opt = SgdSai.builder()                          // or AdamW.builder(), AdamMini.builder()
                .lr(Schedules.warmupCosine(1e-2, 5, 100))           // linear warm-up 5 steps, cosine to 0 at 100
                .momentum(0.9).weightDecay(1e-2).clipGradNorm(1.0)  // defaults of every group; global-norm clipping
                .add("fc.weight", w, dw).add("fc.bias", b, db)
                .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)) // group 1: no decay on biases and norms
                .build()) {                                         // picks the fastest backend present
            for (int step = 0; step < 100; step++) {
                for (int i = 0; i < dw.length; i++) {                // stand-in for backprop
                    dw[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < 10; i++) {
                    db.put(i, (float) rnd.nextGaussian());
                }
                opt.step();                                         // throws, touching nothing, on NaN/Inf gradients
            }
            System.out.println(opt.group(0).lr() + " " + opt.tensor("fc.weight").gsnr() + " " + opt.stateBytes());
            try (OutputStream out = Files.newOutputStream(ckpt)) {
                opt.save(out);                                      // versioned, checksummed checkpoint
            }
            return opt.steps();
        } finally {
            Files.deleteIfExists(ckpt);
        }
    }

    /** Entry point. */
    public static void main(String[] args) throws IOException {
        run();
    }
}
