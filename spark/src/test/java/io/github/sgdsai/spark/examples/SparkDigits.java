// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark.examples;

import io.github.sgdsai.NameRule;
import io.github.sgdsai.examples.Digits;
import io.github.sgdsai.schedule.Schedules;
import io.github.sgdsai.spark.Gradient;
import io.github.sgdsai.spark.Parameters;
import io.github.sgdsai.spark.SparkTrainer;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * The digits MLP of the examples module ({@code io.github.sgdsai.examples.Digits}: 64 → 64 ReLU → 10 softmax, batch
 * 32, SGD-SaI lr 0.01, no decay on biases) trained data-parallel on Spark with the optimizer state sharded. Each
 * micro-batch is one example, so the trainer adds per-example gradients in batch order: exactly the sums the
 * single-machine example accumulates, and the printed losses, accuracies and g-SNRs are the same, digit for digit
 * (the parameters are the same bit for bit).
 *
 * <p>Usage: {@code SparkDigits [epochs] [lr] [seed] [master] [partitions] [shards]}; defaults 30, 0.01, 42,
 * {@code local[*]}, 4, 2. Under {@code spark-submit} the master argument may be {@code -} (take the submit's).
 */
public final class SparkDigits {
    static final int IN = 64;
    static final int HIDDEN = 64;
    static final int CLASSES = 10;
    static final int BATCH = 32;

    /** A digit: 64 pixels in [0, 1] and its label. */
    public record Example(float[] x, int y) implements Serializable {
    }

    private SparkDigits() {
    }

    /**
     * Entry point; see the class documentation for the arguments.
     *
     * @param args epochs, lr, seed, master, partitions, shards
     */
    public static void main(String[] args) {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        double lr = args.length > 1 ? Double.parseDouble(args[1]) : 0.01;
        long seed = args.length > 2 ? Long.parseLong(args[2]) : 42;
        String master = args.length > 3 ? args[3] : "local[*]";
        int partitions = args.length > 4 ? Integer.parseInt(args[4]) : 4;
        int shards = args.length > 5 ? Integer.parseInt(args[5]) : 2;
        SparkConf conf = new SparkConf().setAppName("sgdsai-digits");
        if (!master.equals("-")) {
            conf.setMaster(master).set("spark.ui.enabled", "false");
        }
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel("WARN");
            long t0 = System.nanoTime();
            double acc = train(sc, epochs, lr, seed, partitions, shards, System.out);
            System.out.printf("done in %.1f s: held-out accuracy %.2f%%%n", (System.nanoTime() - t0) / 1e9, 100 * acc);
        }
    }

    /**
     * Trains and prints, per epoch, the lines the single-machine example prints.
     *
     * @return the final held-out accuracy
     */
    static double train(JavaSparkContext sc, int epochs, double lr, long seed, int partitions, int shards,
                        PrintStream out) {
        List<Example> all = load();
        int[] order = shuffled(all.size(), new Random(seed));
        int nTest = all.size() / 5;
        int nTrain = all.size() - nTest;
        List<Example> train = new ArrayList<>();
        List<Example> test = new ArrayList<>();
        for (int k = 0; k < order.length; k++) {
            (k < nTrain ? train : test).add(all.get(order[k]));
        }
        long steps = (long) epochs * ((train.size() + BATCH - 1) / BATCH);
        Random r = new Random(seed);
        float[] w1 = he(IN * HIDDEN, IN, r);
        float[] w2 = he(HIDDEN * CLASSES, HIDDEN, r);
        SparkTrainer.Builder b = SparkTrainer.builder()
                .tensor("fc1.weight", w1).tensor("fc1.bias", new float[HIDDEN])
                .tensor("fc2.weight", w2).tensor("fc2.bias", new float[CLASSES])
                .optimizer(o -> o.lr(Schedules.warmupCosine(lr, steps / 20, steps))   // as the single-machine example
                        .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)))
                .batchSize(BATCH).microBatchSize(1).seed(seed + 1).shards(shards);
        try (SparkTrainer<Example> t = b.build(sc.parallelize(train, partitions), SparkDigits::gradient)) {
            out.printf("SGD-SaI on Spark (%s, %d partitions, %d shards, backend %s) on %d training / %d held-out digits,"
                    + " lr %g, batch %d%n", sc.master(), partitions, t.shards(), t.backendName(), train.size(),
                    test.size(), lr, BATCH);
            double accuracy = 0;
            for (int epoch = 1; epoch <= epochs; epoch++) {
                double sum = 0;
                int batches = 0;
                for (int s = 0; s < t.plan().stepsPerEpoch(); s++) {
                    t.step();
                    sum += t.lastLoss() / t.plan().batchRows(s); // the batch's mean loss, as the example computes it
                    batches++;
                }
                accuracy = accuracy(t.parameters("fc1.weight"), t.parameters("fc1.bias"), t.parameters("fc2.weight"),
                        t.parameters("fc2.bias"), test);
                out.printf("epoch %2d  loss %.4f  held-out accuracy %.2f%%%n", epoch, sum / batches, 100 * accuracy);
                if (epoch == 1) {
                    for (String name : new String[] {"fc1.weight", "fc2.weight", "fc1.bias", "fc2.bias"}) {
                        out.printf("          g-SNR %-10s (%4d params) = %9.3f  scale %9.3f%n", name,
                                t.parameters(name).length, t.gsnr(name), (float) t.gsnr(name));
                    }
                }
            }
            return accuracy;
        }
    }

    /** One example's loss (unscaled) and gradient (scaled by 1 / batch, as the example does). */
    static Gradient gradient(Parameters p, List<Example> rows, int batchSize) {
        float[] w1 = p.get("fc1.weight");
        float[] b1 = p.get("fc1.bias");
        float[] w2 = p.get("fc2.weight");
        float[] b2 = p.get("fc2.bias");
        float[] gw1 = new float[w1.length];
        float[] gb1 = new float[b1.length];
        float[] gw2 = new float[w2.length];
        float[] gb2 = new float[b2.length];
        float[] h = new float[HIDDEN];
        float[] prob = new float[CLASSES];
        float[] dh = new float[HIDDEN];
        float inv = 1f / batchSize;
        double loss = 0;
        for (Example e : rows) {
            Digits.forward(w1, b1, w2, b2, e.x(), h, prob);
            loss -= Math.log(Math.max(prob[e.y()], 1e-30f));
            Digits.backward(w2, e.x(), e.y(), inv, h, prob, dh, gw1, gb1, gw2, gb2);
        }
        return new Gradient(loss, new float[][] {gw1, gb1, gw2, gb2});
    }

    static double accuracy(float[] w1, float[] b1, float[] w2, float[] b2, List<Example> test) {
        float[] h = new float[HIDDEN];
        float[] p = new float[CLASSES];
        int right = 0;
        for (Example e : test) {
            Digits.forward(w1, b1, w2, b2, e.x(), h, p);
            int best = 0;
            for (int k = 1; k < CLASSES; k++) {
                if (p[k] > p[best]) {
                    best = k;
                }
            }
            right += best == e.y() ? 1 : 0;
        }
        return (double) right / test.size();
    }

    private static float[] he(int n, int fanIn, Random r) {
        float[] w = new float[n];
        double s = Math.sqrt(2.0 / fanIn);
        for (int i = 0; i < n; i++) {
            w[i] = (float) (r.nextGaussian() * s);
        }
        return w;
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

    /** The UCI optical digits shipped in the examples jar (CC BY 4.0, see its DIGITS-NOTICE.txt). */
    static List<Example> load() {
        List<Example> out = new ArrayList<>();
        try (InputStream raw = Objects.requireNonNull(SparkDigits.class.getClassLoader()
                        .getResourceAsStream("io/github/sgdsai/examples/digits.csv.gz"),
                "digits.csv.gz missing: put sgdsai-examples on the class path");
             BufferedReader in = new BufferedReader(new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.split(",");
                float[] x = new float[IN];
                for (int i = 0; i < IN; i++) {
                    x[i] = Float.parseFloat(f[i]) / 16f;
                }
                out.add(new Example(x, Integer.parseInt(f[IN].trim())));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }
}
