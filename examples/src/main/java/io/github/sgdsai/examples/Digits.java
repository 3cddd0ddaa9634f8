// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import io.github.sgdsai.NameRule;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.schedule.Schedules;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * Trains a one-hidden-layer MLP (64 → 64 ReLU → 10 softmax, hand-written backprop) on the UCI optical
 * digits (1,797 8×8 images shipped in this module) with SGD-SaI, printing the training loss and held-out
 * accuracy per epoch and each layer's g-SNR.
 *
 * <p>Usage: {@code Digits [epochs] [lr] [seed]}; defaults 30, 0.01, 42. Deterministic for a given seed.
 */
public final class Digits {
    static final int IN = 64;
    static final int HIDDEN = 64;
    static final int CLASSES = 10;
    static final int BATCH = 32;

    /** Images scaled to [0, 1] and labels, split into training and held-out sets. */
    record Data(float[][] trainX, int[] trainY, float[][] testX, int[] testY) {
    }

    /** The result of a training run. */
    record Result(double finalLoss, double testAccuracy) {
    }

    private Digits() {
    }

    /** Entry point; see the class documentation for the arguments. */
    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        double lr = args.length > 1 ? Double.parseDouble(args[1]) : 0.01;
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 42;
        long t0 = System.nanoTime();
        Result r = train(load(seed), epochs, lr, seed, true);
        System.out.printf("done in %.1f s: held-out accuracy %.2f%%%n", (System.nanoTime() - t0) / 1e9,
                100 * r.testAccuracy());
    }

    /** Loads the shipped data set and splits it 80/20 after a shuffle with {@code seed}. */
    static Data load(long seed) {
        List<float[]> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        try (InputStream raw = Objects.requireNonNull(Digits.class.getResourceAsStream("digits.csv.gz"),
                "digits.csv.gz missing from the examples module");
             BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.split(",");
                float[] x = new float[IN];
                for (int i = 0; i < IN; i++) {
                    x[i] = Float.parseFloat(f[i]) / 16f;
                }
                xs.add(x);
                ys.add(Integer.parseInt(f[IN].trim()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int[] order = shuffled(xs.size(), new Random(seed));
        int nTest = xs.size() / 5;
        int nTrain = xs.size() - nTest;
        Data d = new Data(new float[nTrain][], new int[nTrain], new float[nTest][], new int[nTest]);
        for (int k = 0; k < order.length; k++) {
            int i = order[k];
            if (k < nTrain) {
                d.trainX()[k] = xs.get(i);
                d.trainY()[k] = ys.get(i);
            } else {
                d.testX()[k - nTrain] = xs.get(i);
                d.testY()[k - nTrain] = ys.get(i);
            }
        }
        return d;
    }

    private static int[] shuffled(int n, Random r) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** Trains the MLP and returns the last epoch's mean training loss and the held-out accuracy. */
    static Result train(Data data, int epochs, double lr, long seed, boolean verbose) {
        Mlp net = new Mlp(new Random(seed));
        double loss = Double.NaN;
        long steps = (long) epochs * ((data.trainY().length + BATCH - 1) / BATCH);
        try (SgdSai opt = SgdSai.builder()
                .lr(Schedules.warmupCosine(lr, steps / 20, steps))          // 5 % linear warm-up, then cosine to 0
                .add("fc1.weight", net.w1, net.gw1).add("fc1.bias", net.b1, net.gb1)
                .add("fc2.weight", net.w2, net.gw2).add("fc2.bias", net.b2, net.gb2)
                .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))   // no decay on biases
                .build()) {
            if (verbose) {
                System.out.printf("SGD-SaI (backend %s) on %d training / %d held-out digits, lr %g, batch %d%n",
                        opt.backendName(), data.trainY().length, data.testY().length, lr, BATCH);
            }
            Random r = new Random(seed + 1);
            for (int epoch = 1; epoch <= epochs; epoch++) {
                int[] order = shuffled(data.trainY().length, r);
                double sum = 0;
                int batches = 0;
                for (int start = 0; start < order.length; start += BATCH) {
                    int end = Math.min(order.length, start + BATCH);
                    sum += net.gradients(data.trainX(), data.trainY(), order, start, end);
                    opt.step();
                    batches++;
                }
                loss = sum / batches;
                if (verbose) {
                    System.out.printf("epoch %2d  loss %.4f  held-out accuracy %.2f%%%n", epoch, loss,
                            100 * net.accuracy(data.testX(), data.testY()));
                    if (epoch == 1) {
                        for (SgdSai.Tensor t : opt.tensors()) {
                            System.out.printf("          g-SNR %-10s (%4d params) = %9.3f  scale %9.3f%n", t.name(),
                                    t.length(), t.gsnr(), t.scale());
                        }
                    }
                }
            }
        }
        return new Result(loss, net.accuracy(data.testX(), data.testY()));
    }

    /**
     * The MLP's forward pass: {@code h = relu(x·W1 + b1)}, {@code p = softmax(h·W2 + b2)}, W stored row-major
     * [in][out], in float. Public so that the Spark version of this example runs the same arithmetic.
     */
    public static void forward(float[] w1, float[] b1, float[] w2, float[] b2, float[] x, float[] h, float[] p) {
        for (int j = 0; j < HIDDEN; j++) {
            float a = b1[j];
            for (int i = 0; i < IN; i++) {
                a += x[i] * w1[i * HIDDEN + j];
            }
            h[j] = Math.max(0f, a);
        }
        float max = Float.NEGATIVE_INFINITY;
        for (int k = 0; k < CLASSES; k++) {
            float a = b2[k];
            for (int j = 0; j < HIDDEN; j++) {
                a += h[j] * w2[j * CLASSES + k];
            }
            p[k] = a;
            max = Math.max(max, a);
        }
        float z = 0;
        for (int k = 0; k < CLASSES; k++) {
            p[k] = (float) Math.exp(p[k] - max);
            z += p[k];
        }
        for (int k = 0; k < CLASSES; k++) {
            p[k] /= z;
        }
    }

    /**
     * Adds one example's cross-entropy gradient, scaled by {@code inv}, to {@code gw1, gb1, gw2, gb2}, after
     * {@link #forward} left its activations in {@code h} and {@code p} ({@code dh} is scratch of {@code HIDDEN}
     * floats). Public so that the Spark version of this example runs the same arithmetic.
     */
    public static void backward(float[] w2, float[] x, int y, float inv, float[] h, float[] p, float[] dh,
                                float[] gw1, float[] gb1, float[] gw2, float[] gb2) {
        java.util.Arrays.fill(dh, 0f);
        for (int k = 0; k < CLASSES; k++) {
            float d = (p[k] - (k == y ? 1f : 0f)) * inv; // dL/dlogit
            gb2[k] += d;
            for (int j = 0; j < HIDDEN; j++) {
                gw2[j * CLASSES + k] += h[j] * d;
                dh[j] += w2[j * CLASSES + k] * d;
            }
        }
        for (int j = 0; j < HIDDEN; j++) {
            if (h[j] <= 0f) {
                continue; // relu'
            }
            gb1[j] += dh[j];
            for (int i = 0; i < IN; i++) {
                gw1[i * HIDDEN + j] += x[i] * dh[j];
            }
        }
    }

    /** The network, its gradients, and hand-written forward and backward passes. */
    static final class Mlp {
        final float[] w1 = new float[IN * HIDDEN];
        final float[] b1 = new float[HIDDEN];
        final float[] w2 = new float[HIDDEN * CLASSES];
        final float[] b2 = new float[CLASSES];
        final float[] gw1 = new float[w1.length];
        final float[] gb1 = new float[b1.length];
        final float[] gw2 = new float[w2.length];
        final float[] gb2 = new float[b2.length];
        private final float[] h = new float[HIDDEN];
        private final float[] p = new float[CLASSES];
        private final float[] dh = new float[HIDDEN];

        Mlp(Random r) {
            he(w1, IN, r);
            he(w2, HIDDEN, r);
        }

        private static void he(float[] w, int fanIn, Random r) {
            double s = Math.sqrt(2.0 / fanIn);
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) (r.nextGaussian() * s);
            }
        }

        private void forward(float[] x) {
            Digits.forward(w1, b1, w2, b2, x, h, p);
        }

        /** Fills the gradients of the mean cross-entropy over {@code order[start, end)}; returns that loss. */
        double gradients(float[][] xs, int[] ys, int[] order, int start, int end) {
            java.util.Arrays.fill(gw1, 0f);
            java.util.Arrays.fill(gb1, 0f);
            java.util.Arrays.fill(gw2, 0f);
            java.util.Arrays.fill(gb2, 0f);
            float inv = 1f / (end - start);
            double loss = 0;
            for (int s = start; s < end; s++) {
                float[] x = xs[order[s]];
                int y = ys[order[s]];
                forward(x);
                loss -= Math.log(Math.max(p[y], 1e-30f));
                backward(w2, x, y, inv, h, p, dh, gw1, gb1, gw2, gb2);
            }
            return loss / (end - start);
        }

        double accuracy(float[][] xs, int[] ys) {
            int right = 0;
            for (int s = 0; s < xs.length; s++) {
                forward(xs[s]);
                int best = 0;
                for (int k = 1; k < CLASSES; k++) {
                    if (p[k] > p[best]) {
                        best = k;
                    }
                }
                right += best == ys[s] ? 1 : 0;
            }
            return (double) right / xs.length;
        }
    }
}
