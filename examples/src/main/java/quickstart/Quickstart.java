// SPDX-License-Identifier: Apache-2.0
package quickstart;

import io.github.sgdsai.SgdSai;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/** Fits y = x·W + b (8 inputs, 4 outputs) to 256 noisy samples with SGD-SaI. */
public class Quickstart {
    static final int N = 256, IN = 8, OUT = 4;                          // samples, inputs, outputs

    public static void main(String[] args) throws IOException {
        Random rnd = new Random(42);                                    // data: y = x·W* + b* + noise
        float[] x = new float[N * IN], y = new float[N * OUT], trueW = new float[IN * OUT];
        float[] trueB = {0.5f, -1f, 2f, 0.25f};
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < trueW.length; i++) trueW[i] = (float) rnd.nextGaussian();
        for (int s = 0; s < N; s++) {
            for (int o = 0; o < OUT; o++) {
                float t = trueB[o] + 0.1f * (float) rnd.nextGaussian();
                for (int i = 0; i < IN; i++) t += x[s * IN + i] * trueW[i * OUT + o];
                y[s * OUT + o] = t;
            }
        }
        float[] w = new float[IN * OUT], dw = new float[IN * OUT];         // parameters and their gradients
        float[] b = new float[OUT], db = new float[OUT];
        try (SgdSai opt = SgdSai.builder().lr(0.05).momentum(0.9).weightDecay(0)
                .add("w", w, dw).add("b", b, db).build()) {             // picks the fastest backend present
            for (int step = 1; step <= 300; step++) {
                double loss = lossAndGradients(x, y, w, b, dw, db);       // fills dw and db
                opt.step();                                                 // updates w and b in place
                if (step == 1 || step % 100 == 0) System.out.printf("step %d  loss %.5f%n", step, loss);
            }
            System.out.printf("g-SNR: w %.2f, b %.2f (fixed at the first step)%n",
                    opt.tensor("w").gsnr(), opt.tensor("b").gsnr());
            Path file = Files.createTempFile("quickstart", ".ckpt");
            try (OutputStream out = Files.newOutputStream(file)) {
                opt.save(out);                                              // state, step counts, hyperparameters
            }
            System.out.println("checkpoint: " + Files.size(file) + " bytes");
            Files.delete(file);
        }
    }

    /** Loss = mean over samples of ½‖x·W + b − y‖²; writes its gradients into dw and db. */
    static double lossAndGradients(float[] x, float[] y, float[] w, float[] b, float[] dw, float[] db) {
        Arrays.fill(dw, 0f);
        Arrays.fill(db, 0f);
        double loss = 0;
        for (int s = 0; s < N; s++) {
            for (int o = 0; o < OUT; o++) {
                float pred = b[o];
                for (int i = 0; i < IN; i++) pred += x[s * IN + i] * w[i * OUT + o];
                float err = (pred - y[s * OUT + o]) / N;
                loss += 0.5 * err * err * N;
                db[o] += err;
                for (int i = 0; i < IN; i++) dw[i * OUT + o] += x[s * IN + i] * err;
            }
        }
        return loss;
    }
}
