// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;

import java.util.Arrays;

/**
 * The {@code "vector"} backend: {@link VectorKernels} over work items spread across an owned {@link WorkerPool}.
 *
 * <p>Work is cut the same way whatever the thread count: a tensor of at least {@link #CHUNK} elements becomes
 * one item per chunk of {@link #CHUNK} elements; runs of smaller tensors are packed into items of about
 * {@link #CHUNK} elements, so thousands of tiny tensors cost one task each per chunk, not one per tensor.
 * Updates are element-wise, and g-SNR partial sums are kept per chunk and merged in chunk order, so every
 * result is bit-identical for 1, 2 or N threads. After the first step of a given shape nothing is allocated.
 *
 * <p>Created by {@link VectorBackendProvider} only; loading this class loads the Vector API.
 */
public final class VectorBackend implements Backend, WorkerPool.Job {

    /** Elements per work item (and per g-SNR partial sum). */
    public static final int CHUNK = 1 << 16;
    /** Below this many elements a batch runs on the calling thread: waking workers would cost more. */
    private static final long PARALLEL_MIN = 4L * CHUNK;

    private enum Mode { UPDATE, CHECK, SUM, CENTERED }

    private final WorkerPool pool;
    private Mode mode;
    private StepBatch batch;
    private FloatSpan grad;
    private double mean;
    // Item k covers tensors [tensorFrom[k], tensorTo[k]) whole, or elements [from[k], to[k]) of tensorFrom[k].
    private int items;
    private int[] tensorFrom = new int[16];
    private int[] tensorTo = new int[16];
    private int[] from = new int[16];
    private int[] to = new int[16];
    private int[] firstBad = new int[16];
    private double[] partials = new double[3 * 16];
    private double[][] scratch = newScratch(16, 0, null);

    /** A backend using {@code threads} threads (the caller's included). */
    public VectorBackend(int threads) {
        pool = new WorkerPool(threads, "sgdsai-vector");
    }

    /** Width of the preferred float vector on this CPU, in bits. */
    public static int preferredBits() {
        return VectorKernels.F.vectorBitSize();
    }

    @Override
    public String name() {
        return VectorBackendProvider.NAME;
    }

    /** Threads this backend runs a step on, the caller's included. */
    public int threads() {
        return pool.threads();
    }

    @Override
    public int firstNonFiniteTensor(StepBatch b) {
        plan(b);
        runItems(Mode.CHECK, b.elements());
        int bad = Integer.MAX_VALUE;
        for (int k = 0; k < items; k++) {
            bad = Math.min(bad, firstBad[k]);
        }
        return bad == Integer.MAX_VALUE ? -1 : bad;
    }

    /** Interim: every feature, the ones without vector kernels yet run on the scalar reference kernels. */
    @Override
    public boolean supports(Feature feature) {
        return true;
    }

    @Override
    public void update(StepBatch b) {
        plan(b);
        runItems(Mode.UPDATE, b.elements());
    }

    @Override
    public void moments(FloatSpan g, double[] out) {
        int n = g.length();
        items = 0;
        for (int f = 0; f < n; f += CHUNK) {
            addItem(0, 1, f, Math.min(n, f + CHUNK));
        }
        grad = g;
        runItems(Mode.SUM, n);
        mean = mergeInOrder(0, 1) / n;
        runItems(Mode.CENTERED, n);
        grad = null;
        out[0] = mergeInOrder(0, 3);
        out[1] = ScalarBackend.correctedM2(mergeInOrder(1, 3), mergeInOrder(2, 3), n);
    }

    /** Compensated sum of partials[first], partials[first + stride], … over the items, in chunk order. */
    private double mergeInOrder(int first, int stride) {
        return ScalarBackend.mergeInOrder(partials, first, stride, items);
    }

    /** {@link #CHUNK}: {@link #moments} merges per-chunk partials in chunk order. */
    @Override
    public int momentsChunk() {
        return CHUNK;
    }

    @Override
    public double chunkSum(FloatSpan g, int from, int to) {
        return VectorKernels.sum(g, from, to);
    }

    @Override
    public void chunkCenteredSums(FloatSpan g, double mean, int from, int to, double[] acc) {
        Arrays.fill(acc, 0, 3, 0.0);
        VectorKernels.centeredSums(g, mean, from, to, acc);
    }

    private void runItems(Mode m, long elements) {
        mode = m;
        if (elements < PARALLEL_MIN) {
            for (int k = 0; k < items; k++) {
                run(k);
            }
        } else {
            pool.run(this, items);
        }
    }

    /** Runs item {@code k} of the current mode (called by the pool's threads). */
    @Override
    public void run(int k) {
        switch (mode) {
            case UPDATE -> {
                if (from[k] < 0) {
                    for (int t = tensorFrom[k]; t < tensorTo[k]; t++) {
                        update(t, 0, batch.param(t).length());
                    }
                } else {
                    update(tensorFrom[k], from[k], to[k]);
                }
            }
            case CHECK -> {
                firstBad[k] = Integer.MAX_VALUE;
                for (int t = tensorFrom[k]; t < tensorTo[k]; t++) {
                    FloatSpan g = batch.grad(t);
                    if (VectorKernels.hasNonFinite(g, from[k] < 0 ? 0 : from[k], from[k] < 0 ? g.length() : to[k])) {
                        firstBad[k] = t;
                        break;
                    }
                }
            }
            case SUM -> partials[k] = VectorKernels.sum(grad, from[k], to[k]);
            case CENTERED -> centered(k);
        }
    }

    /** Chunk k's Σg², Σd, Σd² into partials[3k ..], through item k's own scratch (no allocation). */
    private void centered(int k) {
        double[] acc = scratch[k];
        Arrays.fill(acc, 0.0);
        VectorKernels.centeredSums(grad, mean, from[k], to[k], acc);
        System.arraycopy(acc, 0, partials, 3 * k, 3);
    }

    private void update(int t, int f, int e) {
        StepBatch b = batch;
        if (b.kind(t).compareTo(StepBatch.Kind.ADAMW) >= 0 || Math.abs(b.gradScale(t)) != 1f) {
            if (f == 0 || b.kind(t) != StepBatch.Kind.ADAM_MINI) { // interim: Adam-mini whole on the first chunk's thread
                ScalarBackend.update(b, t, f, b.kind(t) == StepBatch.Kind.ADAM_MINI ? b.param(t).length() : e);
            }
            return;
        }
        FloatSpan p = b.param(t);
        FloatSpan g = b.grad(t);
        float decay = b.decay(t);
        switch (b.kind(t)) {
            case SGD -> VectorKernels.sgd(p, g, b.sign(t) * b.negStep(t), decay, f, e);
            case INIT -> VectorKernels.init(p, g, b.momentum(t), b.sign(t), b.sign(t) * b.negStep(t), decay, f, e);
            case MOMENTUM -> VectorKernels.momentum(p, g, b.momentum(t), b.gradCoef(t), b.mu(t), b.negStep(t), decay, f, e);
        }
    }

    /** Cuts {@code b} into items: big tensors into chunks, runs of small tensors packed together. */
    private void plan(StepBatch b) {
        batch = b;
        items = 0;
        int n = b.size();
        int t = 0;
        while (t < n) {
            int len = b.param(t).length();
            if (len >= CHUNK) {
                for (int f = 0; f < len; f += CHUNK) {
                    addItem(t, t + 1, f, Math.min(len, f + CHUNK));
                }
                t++;
            } else {
                int start = t;
                long packed = 0;
                while (t < n && packed < CHUNK && b.param(t).length() < CHUNK) {
                    packed += b.param(t).length();
                    t++;
                }
                addItem(start, t, -1, -1);
            }
        }
    }

    private void addItem(int tFrom, int tTo, int f, int e) {
        if (items == tensorFrom.length) {
            int cap = 2 * items;
            tensorFrom = Arrays.copyOf(tensorFrom, cap);
            tensorTo = Arrays.copyOf(tensorTo, cap);
            from = Arrays.copyOf(from, cap);
            to = Arrays.copyOf(to, cap);
            firstBad = Arrays.copyOf(firstBad, cap);
            partials = Arrays.copyOf(partials, 3 * cap);
            scratch = newScratch(cap, items, scratch);
        }
        tensorFrom[items] = tFrom;
        tensorTo[items] = tTo;
        from[items] = f;
        to[items] = e;
        items++;
    }

    /** {@code old[0 .. kept)} followed by new 3-element arrays up to {@code cap}. */
    private static double[][] newScratch(int cap, int kept, double[][] old) {
        double[][] s = new double[cap][];
        for (int k = 0; k < cap; k++) {
            s[k] = k < kept ? old[k] : new double[3];
        }
        return s;
    }

    @Override
    public void close() {
        pool.close();
    }
}
