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
 * Adam-mini items hold whole blocks (blocks of at most a chunk; each block's sum of squares, v and update run
 * while the block is in cache), or, for larger blocks, are chunks of one block: a read-only pre-pass then writes
 * their 4096-element partial sums, which are added in order per block before the update. Sums of squares (for
 * clipping) are kept per 4096-element block and added in block order, g-SNR partial sums per chunk merged in chunk
 * order, so every result is bit-identical for 1, 2 or N threads and for any number of read streams. After the
 * first step of a given shape nothing is allocated.
 *
 * <p>Created by {@link VectorBackendProvider} only; loading this class loads the Vector API.
 */
public final class VectorBackend implements Backend {

    /** Elements per work item (and per g-SNR partial sum). */
    public static final int CHUNK = 1 << 16;
    /**
     * Independent read streams each thread keeps in flight in the read-only passes (the non-finite check, sums of
     * squares for clipping, g-SNR moments). One sequential stream leaves a core's read bandwidth on the table: the
     * hardware prefetcher runs only so far ahead in one stream. 2, from {@code ReadBandwidthBenchmark} on the
     * reference machine (AMD EPYC Zen 5, 2 cores, see {@code jmh/results/READ-BANDWIDTH.md}): with 2 the read
     * baseline, the check and the sums of squares beat 1 stream clearly (2 threads: the check went from 6.6 to
     * 4.7 ms per 2^26 floats), and 4 gained nothing over 2; sums of squares cannot use 4 anyway (16 four-lane
     * accumulators make C2 box vectors). Results never depend on it.
     */
    public static final int READ_STREAMS = 2;
    /** Below this many elements a batch runs on the calling thread: waking workers would cost more. */
    private static final long PARALLEL_MIN = 4L * CHUNK;
    private static final int BLOCK = StepBatch.SUM_BLOCK;

    private enum Mode { UPDATE, PREPASS, CHECK, SUMSQ, SUM, CENTERED }

    private final WorkerPool pool;
    /**
     * One job per mode, made once. Separate methods behind a megamorphic call, so C2 compiles each on its own: one
     * method for every mode made C2 inline the moments' big kernels (run at a tensor's first step) next to the update
     * kernels, ran out of inlining budget, and left update kernels boxing vectors.
     */
    private final WorkerPool.Job[] jobs = new WorkerPool.Job[Mode.values().length];
    private final int streams;
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
    // Adam-mini blocks larger than CHUNK: the items of their sum-of-squares pre-pass.
    private int preItems;
    private int[] pre = new int[16];
    // Per-4096-block sums of squares (check + clipping norm, Adam-mini pre-pass); tensor t's start at blockBase[t].
    private double[] blockSums = new double[64];
    private int[] blockBase = new int[16];
    // g-SNR: one compensated partial (three for the centered pass) per chunk, merged in chunk order.
    private int chunks;
    private double[] partials = new double[3 * 16];
    private double[][] scratch = newScratch(16, 0, null);

    /**
     * A backend using {@code threads} threads (the caller's included) and {@link #READ_STREAMS} read streams.
     *
     * @param threads threads a step runs on, the caller's included
     */
    public VectorBackend(int threads) {
        this(threads, READ_STREAMS);
    }

    /**
     * A backend using {@code threads} threads and {@code readStreams} (1, 2 or 4; the sums use at most 2) read
     * streams per thread in the sums of squares and g-SNR moments; results are the same for every value. 1 is the
     * previous release's single-stream moments, kept as a baseline for benchmarks.
     *
     * @param threads threads a step runs on, the caller's included
     * @param readStreams read streams per thread in the read-only passes: 1, 2 or 4
     */
    public VectorBackend(int threads, int readStreams) {
        if (readStreams != 1 && readStreams != 2 && readStreams != 4) {
            throw new IllegalArgumentException("readStreams must be 1, 2 or 4, got " + readStreams);
        }
        streams = readStreams;
        pool = new WorkerPool(threads, "sgdsai-vector");
        jobs[Mode.UPDATE.ordinal()] = this::runUpdate;
        jobs[Mode.PREPASS.ordinal()] = this::runPrepass;
        jobs[Mode.CHECK.ordinal()] = this::runCheck;
        jobs[Mode.SUMSQ.ordinal()] = this::runSumSquares;
        jobs[Mode.SUM.ordinal()] = this::runSum;
        jobs[Mode.CENTERED.ordinal()] = this::centered;
    }

    /**
     * Width of the preferred float vector on this CPU, in bits.
     *
     * @return the width of the preferred float vector, in bits
     */
    public static int preferredBits() {
        return VectorKernels.F.vectorBitSize();
    }

    @Override
    public String name() {
        return VectorBackendProvider.NAME;
    }

    /**
     * Threads this backend runs a step on, the caller's included.
     *
     * @return the number of threads a step runs on, the caller's included
     */
    public int threads() {
        return pool.threads();
    }

    /**
     * Read streams per thread in the read-only passes.
     *
     * @return the number of read streams per thread in the read-only passes
     */
    public int readStreams() {
        return streams;
    }

    /** Every feature: each has vector kernels, tested bit for bit against the reference. */
    @Override
    public boolean supports(Feature feature) {
        return true;
    }

    @Override
    public int firstNonFiniteTensor(StepBatch b) {
        plan(b, false);
        runItems(Mode.CHECK, items, b.elements());
        int bad = Integer.MAX_VALUE;
        for (int k = 0; k < items; k++) {
            bad = Math.min(bad, firstBad[k]);
        }
        return bad == Integer.MAX_VALUE ? -1 : bad;
    }

    /**
     * One read of every gradient: the 4096-block sums of squares of every chunk, in parallel, then each entry's
     * blocks added in order, so {@code sumSquares[t]} is {@link ScalarBackend#sumSquares}{@code (g, 1, 0, n)} bit for
     * bit for any thread count. A NaN or infinity makes its sum non-finite (squares of finite floats cannot
     * overflow a double sum), which is the check.
     */
    @Override
    public int firstNonFiniteTensor(StepBatch b, double[] sumSquares) {
        if (sumSquares == null) {
            return firstNonFiniteTensor(b);
        }
        plan(b, false);
        runItems(Mode.SUMSQ, items, b.elements());
        int bad = -1;
        for (int t = 0; t < b.size(); t++) {
            int n = b.grad(t).length();
            double total = 0;
            for (int k = blockBase[t], e = k + (n + BLOCK - 1) / BLOCK; k < e; k++) {
                total += blockSums[k];
            }
            sumSquares[t] = total;
            if (bad < 0 && !Double.isFinite(total)) {
                bad = t;
            }
        }
        return bad;
    }

    @Override
    public void update(StepBatch b) {
        plan(b, true);
        if (preItems > 0) { // Adam-mini blocks larger than a chunk: sums first, then v, then the update
            runItems(Mode.PREPASS, preItems, b.elements());
            for (int t = 0; t < b.size(); t++) {
                if (largeBlocks(b, t)) {
                    updateLargeBlockSeconds(b, t);
                }
            }
        }
        runItems(Mode.UPDATE, items, b.elements());
    }

    /** Whether entry t is Adam-mini with blocks larger than a chunk (sums in a pre-pass, update in chunks). */
    private static boolean largeBlocks(StepBatch b, int t) {
        return b.kind(t) == StepBatch.Kind.ADAM_MINI && b.blockSize(t) > CHUNK;
    }

    /** v of every block of large-block entry t, from the pre-pass's 4096-block sums added in order. */
    private void updateLargeBlockSeconds(StepBatch b, int t) {
        int bs = b.blockSize(t);
        int per = (bs + BLOCK - 1) / BLOCK;
        FloatSpan v = b.second(t);
        int blocks = b.param(t).length() / bs;
        for (int blk = 0; blk < blocks; blk++) {
            double total = 0;
            for (int k = blockBase[t] + blk * per, e = k + per; k < e; k++) {
                total += blockSums[k];
            }
            float q = (float) (total / bs);
            v.set(blk, Math.fma(b.b2c(t), q, v.get(blk) * b.beta2(t)));
        }
    }

    @Override
    public void moments(FloatSpan g, double[] out) {
        int n = g.length();
        items = 0;
        chunks = (n + CHUNK - 1) / CHUNK;
        ensureChunks(chunks);
        int step = streams >= 2 ? 2 * CHUNK : CHUNK; // two chunks read at once: the same per-chunk partials
        for (int f = 0; f < n; f += step) {
            addItem(0, 1, f, Math.min(n, f + step));
        }
        grad = g;
        runItems(Mode.SUM, items, n);
        mean = mergeInOrder(0, 1) / n;
        runItems(Mode.CENTERED, items, n);
        grad = null;
        out[0] = mergeInOrder(0, 3);
        out[1] = ScalarBackend.correctedM2(mergeInOrder(1, 3), mergeInOrder(2, 3), n);
    }

    /** Compensated sum of partials[first], partials[first + stride], … over the chunks, in chunk order. */
    private double mergeInOrder(int first, int stride) {
        return ScalarBackend.mergeInOrder(partials, first, stride, chunks);
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

    private void runItems(Mode m, int count, long elements) {
        WorkerPool.Job job = jobs[m.ordinal()];
        if (elements < PARALLEL_MIN) {
            for (int k = 0; k < count; k++) {
                job.run(k);
            }
        } else {
            pool.run(job, count);
        }
    }

    /** Item k of an update. */
    private void runUpdate(int k) {
        if (from[k] < 0) {
            for (int t = tensorFrom[k]; t < tensorTo[k]; t++) {
                update(t, 0, batch.param(t).length());
            }
        } else {
            update(tensorFrom[k], from[k], to[k]);
        }
    }

    /** Item k of the plain check. */
    private void runCheck(int k) {
        firstBad[k] = Integer.MAX_VALUE;
        for (int t = tensorFrom[k]; t < tensorTo[k]; t++) {
            FloatSpan g = batch.grad(t);
            int f = from[k] < 0 ? 0 : from[k];
            int e = from[k] < 0 ? g.length() : to[k];
            if (streams >= 2 ? VectorKernels.hasNonFinite2(g, f, e) : VectorKernels.hasNonFinite(g, f, e)) {
                firstBad[k] = t;
                break;
            }
        }
    }

    /** Item k of the check with sums of squares: its 4096-block sums. */
    private void runSumSquares(int k) {
        if (from[k] < 0) {
            for (int t = tensorFrom[k]; t < tensorTo[k]; t++) {
                FloatSpan g = batch.grad(t);
                VectorKernels.blockSums(g, 1f, 0, g.length(), blockSums, blockBase[t], streams);
            }
        } else {
            int t = tensorFrom[k];
            VectorKernels.blockSums(batch.grad(t), 1f, from[k], to[k], blockSums, blockBase[t] + from[k] / BLOCK,
                    streams);
        }
    }

    /** Item k of the g-SNR sum: one compensated partial per chunk. */
    private void runSum(int k) {
        int c = from[k] / CHUNK;
        if (to[k] - from[k] == 2 * CHUNK && VectorKernels.streamable(grad)) {
            VectorKernels.sum2(grad, from[k], from[k] + CHUNK, CHUNK, partials, c, c + 1);
        } else {
            for (int f = from[k]; f < to[k]; f += CHUNK, c++) {
                partials[c] = VectorKernels.sum(grad, f, Math.min(to[k], f + CHUNK));
            }
        }
    }

    /** Sums of squares of item k, a chunk inside one block of a large-block Adam-mini entry. */
    private void runPrepass(int i) {
        int k = pre[i];
        int t = tensorFrom[k];
        int bs = batch.blockSize(t);
        int blk = from[k] / bs;
        int base = blockBase[t] + blk * ((bs + BLOCK - 1) / BLOCK) + (from[k] - blk * bs) / BLOCK;
        VectorKernels.blockSums(batch.grad(t), batch.gradScale(t), from[k], to[k], blockSums, base, streams);
    }

    /** The chunks of item k: Σg², Σd, Σd² into partials[3c ..], through each chunk's own scratch (no allocation). */
    private void centered(int k) {
        int c = from[k] / CHUNK;
        if (to[k] - from[k] == 2 * CHUNK && VectorKernels.streamable(grad)) {
            double[] a = scratch[c], b = scratch[c + 1];
            Arrays.fill(a, 0.0);
            Arrays.fill(b, 0.0);
            VectorKernels.centeredSums2(grad, mean, from[k], from[k] + CHUNK, CHUNK, a, b);
            System.arraycopy(a, 0, partials, 3 * c, 3);
            System.arraycopy(b, 0, partials, 3 * c + 3, 3);
            return;
        }
        for (int f = from[k]; f < to[k]; f += CHUNK, c++) {
            double[] acc = scratch[c];
            Arrays.fill(acc, 0.0);
            VectorKernels.centeredSums(grad, mean, f, Math.min(to[k], f + CHUNK), acc);
            System.arraycopy(acc, 0, partials, 3 * c, 3);
        }
    }

    private void update(int t, int f, int e) {
        if (f >= e) {
            return; // an empty tensor: nothing to read (its state buffers may be absent)
        }
        StepBatch b = batch;
        FloatSpan p = b.param(t);
        FloatSpan g = b.grad(t);
        float decay = b.decay(t);
        float gs = b.gradScale(t);
        boolean unit = Math.abs(gs) == 1f; // then the fast forms with the sign folded in are exactly equivalent
        switch (b.kind(t)) {
            case SGD -> {
                if (unit) {
                    VectorKernels.sgd(p, g, b.sign(t) * b.negStep(t), decay, f, e);
                } else {
                    VectorKernels.scaledSgd(p, g, gs, b.negStep(t), decay, f, e);
                }
            }
            case INIT -> {
                if (unit) {
                    VectorKernels.init(p, g, b.momentum(t), b.sign(t), b.sign(t) * b.negStep(t), decay, f, e);
                } else {
                    VectorKernels.scaledInit(p, g, b.momentum(t), gs, b.negStep(t), decay, f, e);
                }
            }
            case MOMENTUM -> {
                if (unit) {
                    VectorKernels.momentum(p, g, b.momentum(t), b.gradCoef(t), b.mu(t), b.negStep(t), decay, f, e);
                } else {
                    VectorKernels.scaledMomentum(p, g, b.momentum(t), gs, b.oneMinusMu(t), b.mu(t), b.negStep(t),
                            decay, f, e);
                }
            }
            case ADAMW -> VectorKernels.adamw(b, t, f, e);
            case ADAM_MINI -> {
                if (largeBlocks(b, t)) {
                    VectorKernels.adamMiniApply(b, t, f, e); // v already updated after the pre-pass
                } else {
                    VectorKernels.adamMiniBlocks(b, t, f, e);
                }
            }
        }
    }

    /**
     * Cuts {@code b} into items: big tensors into chunks, runs of small tensors packed together. For an update,
     * Adam-mini items hold whole blocks (blocks of at most a chunk), or are chunks of one block (larger blocks, which
     * also get a pre-pass item each); for a read-only pass every tensor gets its 4096-block slots in
     * {@link #blockSums}.
     */
    private void plan(StepBatch b, boolean forUpdate) {
        batch = b;
        items = 0;
        preItems = 0;
        int n = b.size();
        if (blockBase.length < n) {
            blockBase = new int[Math.max(n, 2 * blockBase.length)];
        }
        int slots = 0;
        int t = 0;
        while (t < n) {
            int len = b.param(t).length();
            if (len >= CHUNK) {
                if (forUpdate && b.kind(t) == StepBatch.Kind.ADAM_MINI) {
                    int bs = b.blockSize(t);
                    if (bs <= CHUNK) {
                        int per = CHUNK / bs * bs;
                        for (int f = 0; f < len; f += per) {
                            addItem(t, t + 1, f, Math.min(len, f + per));
                        }
                    } else {
                        blockBase[t] = slots;
                        slots += len / bs * ((bs + BLOCK - 1) / BLOCK);
                        for (int s = 0; s < len; s += bs) {
                            for (int f = s; f < s + bs; f += CHUNK) {
                                addPre(addItem(t, t + 1, f, Math.min(s + bs, f + CHUNK)));
                            }
                        }
                    }
                } else {
                    for (int f = 0; f < len; f += CHUNK) {
                        addItem(t, t + 1, f, Math.min(len, f + CHUNK));
                    }
                }
                if (!forUpdate) {
                    blockBase[t] = slots;
                    slots += (len + BLOCK - 1) / BLOCK;
                }
                t++;
            } else {
                int start = t;
                long packed = 0;
                while (t < n && packed < CHUNK && b.param(t).length() < CHUNK) {
                    int l = b.param(t).length();
                    if (!forUpdate) {
                        blockBase[t] = slots;
                        slots += (l + BLOCK - 1) / BLOCK;
                    }
                    packed += l;
                    t++;
                }
                addItem(start, t, -1, -1);
            }
        }
        if (blockSums.length < slots) {
            blockSums = new double[Math.max(slots, 2 * blockSums.length)];
        }
    }

    private int addItem(int tFrom, int tTo, int f, int e) {
        if (items == tensorFrom.length) {
            int cap = 2 * items;
            tensorFrom = Arrays.copyOf(tensorFrom, cap);
            tensorTo = Arrays.copyOf(tensorTo, cap);
            from = Arrays.copyOf(from, cap);
            to = Arrays.copyOf(to, cap);
            firstBad = Arrays.copyOf(firstBad, cap);
        }
        tensorFrom[items] = tFrom;
        tensorTo[items] = tTo;
        from[items] = f;
        to[items] = e;
        return items++;
    }

    private void addPre(int item) {
        if (preItems == pre.length) {
            pre = Arrays.copyOf(pre, 2 * preItems);
        }
        pre[preItems++] = item;
    }

    private void ensureChunks(int n) {
        if (scratch.length < n) {
            int cap = Math.max(n, 2 * scratch.length);
            partials = Arrays.copyOf(partials, 3 * cap);
            scratch = newScratch(cap, scratch.length, scratch);
        }
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
