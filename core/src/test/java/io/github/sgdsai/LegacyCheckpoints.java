// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * The models behind the committed version-2 checkpoints in {@code core/src/test/resources/fixtures/v2-*.bin}, which
 * {@link #main} wrote with the library at commit 99b43a5 (the last writer of format 2): each model takes
 * {@link #STEPS} steps on the gradients of {@link #fillGradients} and is saved. A test builds the same model, takes
 * the same steps with today's library and checks that the old file restores exactly that state.
 */
final class LegacyCheckpoints {
    static final int STEPS = 5;

    /** A model: its optimizer and its parameter and gradient arrays, in the order they were added. */
    record Model(Optimizer opt, float[][] params, float[][] grads) implements AutoCloseable {
        @Override
        public void close() {
            opt.close();
        }
    }

    private LegacyCheckpoints() {
    }

    private static float[][] arrays(int... lengths) {
        float[][] a = new float[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            a[i] = new float[lengths[i]];
        }
        return a;
    }

    private static void init(float[][] params) {
        Random r = new Random(3);
        for (float[] p : params) {
            for (int i = 0; i < p.length; i++) {
                p[i] = (float) r.nextGaussian();
            }
        }
    }

    /** SGD-SaI with two groups (one max-normalized, momentum 0, maximizing) and three tensors. */
    static Model sgdSai() {
        float[][] p = arrays(40, 9, 5), g = arrays(40, 9, 5);
        init(p);
        Optimizer opt = SgdSai.builder().lr(0.05).backend("scalar").add("w", p[0], g[0]).add("v", p[1], g[1])
                .group(b -> b.lr(0.01).momentum(0).maximize(true).scaling(Scaling.GSNR_MAX_NORMALIZED).add("b", p[2], g[2]))
                .build();
        return new Model(opt, p, g);
    }

    /** AdamW with amsgrad in its second group. */
    static Model adamW() {
        float[][] p = arrays(30, 6, 4), g = arrays(30, 6, 4);
        init(p);
        Optimizer opt = AdamW.builder().lr(1e-2).backend("scalar").add("w", p[0], g[0]).add("v", p[1], g[1])
                .group(b -> b.amsgrad(true).weightDecay(0).add("b", p[2], g[2])).build();
        return new Model(opt, p, g);
    }

    /** Adam-mini with explicit partitions. */
    static Model adamMini() {
        float[][] p = arrays(24, 8, 6), g = arrays(24, 8, 6);
        init(p);
        Optimizer opt = AdamMini.builder().lr(1e-2).backend("scalar").add("w", p[0], g[0]).add("v", p[1], g[1])
                .add("b", p[2], g[2]).partition("w", AdamMini.Partition.perRow(6)).partition("v", AdamMini.Partition.whole())
                .partition("b", AdamMini.Partition.perElement()).build();
        return new Model(opt, p, g);
    }

    /** The gradients of step k. */
    static void fillGradients(Model m, int k) {
        Random r = new Random(100 + k);
        for (float[] g : m.grads) {
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) r.nextGaussian();
            }
        }
    }

    /** Takes steps {@code from} (inclusive) to {@code to} (exclusive). */
    static void run(Model m, int from, int to) {
        for (int k = from; k < to; k++) {
            fillGradients(m, k);
            m.opt.step();
        }
    }

    /** Writes the three fixtures into {@code args[0]}. */
    public static void main(String[] args) throws IOException {
        String[] names = {"v2-sgdsai.bin", "v2-adamw.bin", "v2-adammini.bin"};
        Model[] models = {sgdSai(), adamW(), adamMini()};
        for (int i = 0; i < names.length; i++) {
            try (Model m = models[i]; OutputStream out = Files.newOutputStream(Path.of(args[0], names[i]))) {
                run(m, 0, STEPS);
                m.opt.save(out);
            }
        }
    }
}
