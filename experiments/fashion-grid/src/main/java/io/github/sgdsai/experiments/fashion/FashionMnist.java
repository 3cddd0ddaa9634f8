// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST (Zalando Research, MIT licence) in its IDX format: the subset shipped in this module (10,000
 * training and 2,000 test images, see {@code FASHION-MNIST-NOTICE.txt}) or the full files from a directory (Debian's
 * {@code dataset-fashion-mnist} installs them in {@code /usr/share/datasets/fashion-mnist}).
 *
 * @param images pixels scaled to [0, 1], 784 per image, row-major
 * @param labels class of each image, 0 to 9
 * @param count  number of images
 */
public record FashionMnist(float[] images, int[] labels, int count) {

    /** Pixels per image (28 x 28). */
    public static final int PIXELS = 28 * 28;
    /** Number of classes. */
    public static final int CLASSES = 10;

    private static final String RESOURCES = "/io/github/sgdsai/experiments/fashion/";

    /**
     * Reads the first {@code limit} images of a split.
     *
     * @param dir   directory with the four {@code *-ubyte.gz} files, or null for the subset shipped in the module
     * @param train the training split if true, else the test split
     * @param limit how many images at most
     * @return the images
     * @throws IOException if the files cannot be read or are not IDX files of the expected shape
     */
    public static FashionMnist load(Path dir, boolean train, int limit) throws IOException {
        if (limit < 1) {
            throw new IllegalArgumentException("limit: must be at least 1, got " + limit);
        }
        String prefix = train ? "train" : "t10k";
        try (DataInputStream img = open(dir, prefix + "-images-idx3-ubyte.gz");
             DataInputStream lab = open(dir, prefix + "-labels-idx1-ubyte.gz")) {
            if (img.readInt() != 0x803 || lab.readInt() != 0x801) {
                throw new IOException(prefix + ": not Fashion-MNIST IDX files (bad magic numbers)");
            }
            int n = img.readInt();
            int rows = img.readInt();
            int cols = img.readInt();
            if (rows * cols != PIXELS || lab.readInt() != n) {
                throw new IOException(prefix + ": expected 28x28 images with one label each");
            }
            int count = Math.min(n, limit);
            byte[] raw = img.readNBytes(count * PIXELS);
            byte[] rawLabels = lab.readNBytes(count);
            if (raw.length != count * PIXELS || rawLabels.length != count) {
                throw new IOException(prefix + ": truncated file");
            }
            float[] x = new float[raw.length];
            for (int i = 0; i < raw.length; i++) {
                x[i] = (raw[i] & 0xff) / 255f;
            }
            int[] y = new int[count];
            for (int i = 0; i < count; i++) {
                y[i] = rawLabels[i];
            }
            return new FashionMnist(x, y, count);
        }
    }

    private static DataInputStream open(Path dir, String name) throws IOException {
        InputStream in;
        if (dir == null) {
            in = FashionMnist.class.getResourceAsStream(RESOURCES + name);
            if (in == null) {
                throw new IOException("resource " + RESOURCES + name + " is missing from the class path");
            }
        } else {
            in = Files.newInputStream(dir.resolve(name));
        }
        return new DataInputStream(new GZIPInputStream(in, 1 << 16));
    }

    /**
     * The minibatches of one epoch, in an order fixed by {@code seed} (the same for every optimizer); the last,
     * smaller batch is dropped so every step sees {@code batch} examples.
     *
     * @param batch minibatch size
     * @param seed  shuffling seed
     * @return the minibatches (features [batch, 784], one-hot labels [batch, 10])
     */
    public List<DataSet> epoch(int batch, long seed) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        Random r = new Random(seed);
        for (int i = count - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        List<DataSet> out = new ArrayList<>();
        for (int start = 0; start + batch <= count; start += batch) {
            out.add(slice(order, start, batch));
        }
        return out;
    }

    /**
     * All images in order, in minibatches of at most {@code batch}, for evaluation.
     *
     * @param batch minibatch size
     * @return the minibatches
     */
    public List<DataSet> inOrder(int batch) {
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        List<DataSet> out = new ArrayList<>();
        for (int start = 0; start < count; start += batch) {
            out.add(slice(order, start, Math.min(batch, count - start)));
        }
        return out;
    }

    private DataSet slice(int[] order, int start, int n) {
        float[] x = new float[n * PIXELS];
        float[] y = new float[n * CLASSES];
        for (int i = 0; i < n; i++) {
            int k = order[start + i];
            System.arraycopy(images, k * PIXELS, x, i * PIXELS, PIXELS);
            y[i * CLASSES + labels[k]] = 1f;
        }
        return new DataSet(Nd4j.create(x, new long[] {n, PIXELS}), Nd4j.create(y, new long[] {n, CLASSES}));
    }
}
