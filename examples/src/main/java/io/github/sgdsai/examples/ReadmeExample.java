// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import io.github.sgdsai.SgdSai;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** The README's API example, kept compiling and running (the checkpoint goes to a temporary file). */
public final class ReadmeExample {
    private ReadmeExample() {
    }

    /** Runs the README example with random gradients; returns the optimizer's final step count. */
    public static long run() throws IOException {
        Random rnd = new Random(1);
        float[] w = new float[64 * 10], dw = new float[64 * 10];    // parameters and their gradients
        FloatBuffer b = ByteBuffer.allocateDirect(40).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        FloatBuffer db = FloatBuffer.allocate(10);                  // any mix of arrays and buffers
        Path ckpt = Files.createTempFile("opt", ".ckpt");
        try (SgdSai opt = SgdSai.builder()
                .lr(1e-2).momentum(0.9).weightDecay(1e-2)           // defaults of every group (eps 1e-8)
                .add("w", w, dw)                                    // group 0
                .group(g -> g.weightDecay(0).add("b", b, db))       // group 1: no decay on biases
                .build()) {                                         // picks the fastest backend present
            for (int step = 0; step < 100; step++) {
                for (int i = 0; i < dw.length; i++) {                // stand-in for backprop
                    dw[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < 10; i++) {
                    db.put(i, (float) rnd.nextGaussian());
                }
                opt.step();                                         // throws, touching nothing, on NaN/Inf gradients
                opt.group(0).setLr(1e-2 * (1 - step / 100.0));      // schedules change lr between steps
            }
            System.out.println(opt.tensor("w").gsnr() + " " + opt.stateBytes());
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
