// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import io.github.sgdsai.AdamW;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import io.github.sgdsai.Backends;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Data-parallel SGD-SaI training on Apache Spark with the optimizer state sharded over the executors (ZeRO stage 1),
 * giving the same parameters, bit for bit, as {@link LocalTrainer} on one machine, whatever the number of executors,
 * data partitions or shards.
 *
 * <p>Example: a two-layer model over an RDD of examples, the optimizer state in 8 shards.
 * <pre>{@code
 * try (SparkTrainer<Example> trainer = SparkTrainer.builder()
 *         .tensor("W1", w1).tensor("b1", b1).tensor("W2", w2).tensor("b2", b2)  // initial values (copied)
 *         .optimizer(b -> b.lr(0.01).group(NameRule.glob("biases", "b*"), g -> g.weightDecay(0)))
 *         .batchSize(32).microBatchSize(1).seed(43).shards(8)
 *         .build(examplesRdd, (params, rows, batchSize) -> myGradient(params, rows, batchSize))) {
 *     trainer.epoch();
 *     float[] trainedW1 = trainer.parameters("W1");
 *     trainer.save("hdfs:///ckpt/run1");
 * }
 * }</pre>
 *
 * <h2>A step</h2>
 * <ol>
 *   <li><b>Gradient.</b> Every data partition computes the gradient of the micro-batches of the step it holds (the
 *       {@link BatchPlan} fixes which examples, in which order, make up each micro-batch; each epoch the examples are
 *       shuffled into place once), with the parameters of the last step (a Spark broadcast).</li>
 *   <li><b>Reduce-scatter.</b> Each micro-batch gradient is cut into the shards' slices and shuffled to the shards'
 *       owners, which add their micro-batches' slices in micro-batch order ({@code 0 + mb_0 + mb_1 + …}, in float),
 *       never in arrival order.</li>
 *   <li><b>Check.</b> Every shard reports its first NaN or infinity and, when clipping, the sums of squares of its
 *       4096-element blocks; the driver decides for all shards at once (all-or-nothing: a bad gradient anywhere leaves
 *       every shard as it was) and computes the global norm by adding the block sums in the engine's fixed order.
 *       At the first step each shard also reports per-chunk partial moments of its slices, which the driver merges in
 *       chunk order into each tensor's g-SNR, bit for bit the value the single-machine optimizer computes.</li>
 *   <li><b>Update.</b> Each owner steps its slices with an {@link SgdSai} (or {@link AdamW}) built from the user's
 *       {@link OptimizerConfig} (or {@link AdamWConfig}) over the slices, restored from the shard's saved state, with the tensors' global g-SNR preset
 *       ({@link SgdSai#presetMoments}) and the gradient scaled by the clipping coefficient: the engine's own float
 *       arithmetic, element by element, so a slice is updated exactly as the whole tensor would be.</li>
 *   <li><b>All-gather.</b> The updated parameter slices are collected and broadcast for the next step.</li>
 * </ol>
 * Shards live in Spark's block manager as an RDD (one partition per shard) that is never modified in place, so a
 * retried or recomputed task sees the same inputs; its lineage is cut every {@link Builder#checkpointInterval} steps
 * (a reliable checkpoint, in the context's checkpoint directory: on a local master without one the trainer sets a
 * temporary folder, on a cluster it refuses to build without one), so a lost block is read back or recomputed and
 * the result is unchanged.
 *
 * <p>Not thread-safe: drive it from one thread. {@link #close()} releases its cached RDDs and broadcasts.
 *
 * @param <T> the type of an example
 */
public final class SparkTrainer<T> implements AutoCloseable {

    /** 2: shards cut by {@link Layout#bounds}, and skipped steps recorded in every shard's optimizer state. */
    private static final int FORMAT = 2;
    private static final long MAGIC = 0x5347445350524b31L; // "SGDSPRK1"

    private final JavaSparkContext sc;
    private final Layout layout;
    private final BatchPlan plan;
    private final GradientFunction<T> fn;
    /** An {@link OptimizerConfig} (SGD-SaI) or an {@link AdamWConfig}. */
    private final Serializable config;
    private final String backendName;
    private final double maxGradNorm;
    private final int checkpointInterval;
    private final NonFinitePolicy policy;
    /** Tensor indices in the optimizer's order (groups first), the order of the clipping norm's sum. */
    private final int[] optimizerOrder;
    private final JavaPairRDD<Long, T> indexed;
    private final int dataPartitions;
    private final LongAccumulator gradNs;
    private final LongAccumulator reduceNs;
    private final LongAccumulator checkNs;
    private final LongAccumulator updateNs;

    private Optimizer probe;
    private float[][] params;
    private Broadcast<Parameters> broadcast;
    private final List<Broadcast<?>> sinceCheckpoint = new ArrayList<>();
    /** The shard RDD whose reliable checkpoint is the latest (its files are deleted once a newer one is written). */
    private JavaRDD<Shard.State> checkpointed;
    /** The checkpoint directory this trainer set on the context (a temporary folder), or null. */
    private final java.nio.file.Path ownCheckpointDir;
    private JavaRDD<Shard.State> state;
    private JavaRDD<Shard.MicroBatch<T>> epochData;
    private long epochDataFor = -1;
    private Broadcast<int[]> epochPositions;
    private long epoch;
    private int stepInEpoch;
    private long applied;
    private long skipped;
    /** Every tensor's first-step {Σg², Σ(g − mean)²}, once the first step was applied. */
    private double[][] firstMoments;
    private double lastLoss = Double.NaN;
    private double lastGradNorm = Double.NaN;
    private StepTimes lastTimes;
    private boolean closed;

    private SparkTrainer(Builder b, JavaRDD<T> data, GradientFunction<T> fn) {
        this.fn = Objects.requireNonNull(fn, "gradient function is null");
        Objects.requireNonNull(data, "data is null");
        this.sc = JavaSparkContext.fromSparkContext(data.context());
        this.ownCheckpointDir = ensureCheckpointDir(sc);
        this.config = b.config;
        this.maxGradNorm = b.maxGradNorm;
        this.checkpointInterval = b.checkpointInterval;
        String[] names = b.names.toArray(new String[0]);
        int[] lengths = new int[names.length];
        for (int t = 0; t < names.length; t++) {
            lengths[t] = b.values.get(t).length;
        }
        this.probe = b.probe(names, lengths);
        try {
            this.policy = probe.nonFinitePolicy();
            this.optimizerOrder = order(probe, names);
            try (Backend backend = Backends.create(b.backend, new BackendOptions(1))) {
                this.backendName = backend.name();
                int shards = b.shards > 0 ? b.shards : sc.defaultParallelism();
                this.layout = new Layout(names, lengths, backend.momentsChunk(), shards);
            }
            this.dataPartitions = data.getNumPartitions();
            this.indexed = data.zipWithIndex().mapToPair(Tuple2::swap).persist(StorageLevel.MEMORY_AND_DISK());
            long n = indexed.count();
            if (n == 0) {
                indexed.unpersist(false);
                throw new IllegalArgumentException("data: the RDD is empty");
            }
            try {
                this.plan = new BatchPlan(n, b.batchSize, b.microBatchSize, b.seed, b.shuffle);
            } catch (IllegalArgumentException e) {
                indexed.unpersist(false);
                throw e;
            }
        } catch (RuntimeException e) {
            probe.close();
            throw e;
        }
        this.params = new float[names.length][];
        for (int t = 0; t < names.length; t++) {
            params[t] = b.values.get(t).clone();
        }
        this.gradNs = sc.sc().longAccumulator("sgdsai gradient ns");
        this.reduceNs = sc.sc().longAccumulator("sgdsai reduce ns");
        this.checkNs = sc.sc().longAccumulator("sgdsai check ns");
        this.updateNs = sc.sc().longAccumulator("sgdsai update ns");
        List<Shard.State> shards = new ArrayList<>();
        for (int k = 0; k < layout.shards; k++) {
            float[][] slices = new float[layout.tensor[k].length][];
            for (int j = 0; j < slices.length; j++) {
                slices[j] = layout.cut(params, k, j);
            }
            shards.add(new Shard.State(k, slices, null));
        }
        this.state = sc.parallelize(shards, layout.shards).persist(StorageLevel.MEMORY_AND_DISK());
        this.broadcast = sc.broadcast(new Parameters(layout.names, params));
    }

    /**
     * Makes sure the context has a checkpoint directory, so that the shards' lineage is cut with reliable checkpoints
     * and a lost cached block is read back rather than lost for good: on a local master ({@code local[...]} or
     * {@code local-cluster[...]}, one machine) a temporary folder is set when none is, and returned (it is deleted on
     * {@link #close()}); on a cluster the user must set one on a file system every executor can reach.
     */
    private static java.nio.file.Path ensureCheckpointDir(JavaSparkContext sc) {
        if (!needsTemporaryCheckpointDir(sc.master(), sc.getCheckpointDir().isPresent())) {
            return null;
        }
        try {
            java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("sgdsai-spark-checkpoints");
            sc.setCheckpointDir(dir.toUri().toString());
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot create a temporary checkpoint directory (set one with "
                    + "sc.setCheckpointDir)", e);
        }
    }

    /**
     * Whether the trainer must set a temporary checkpoint directory on a context with master {@code master}.
     *
     * @throws IllegalArgumentException on a cluster master when the context has none: saying what to set
     */
    static boolean needsTemporaryCheckpointDir(String master, boolean hasDir) {
        if (hasDir) {
            return false;
        }
        if (master.equals("local") || master.startsWith("local[") || master.startsWith("local-cluster[")) {
            return true;
        }
        throw new IllegalArgumentException("the Spark context has no checkpoint directory: set one on a file system "
                + "every executor can reach before building the trainer, e.g. "
                + "sc.setCheckpointDir(\"hdfs:///tmp/sgdsai-checkpoints\"); the shards' state is checkpointed there "
                + "every checkpointInterval steps, so that a lost executor or block does not end the training");
    }

    /** Deletes the reliable-checkpoint files of {@code rdd} (no longer needed: a newer checkpoint exists). */
    private void deleteCheckpointFiles(JavaRDD<?> rdd) {
        if (rdd == null || !rdd.getCheckpointFile().isPresent()) {
            return;
        }
        try {
            Path file = new Path(rdd.getCheckpointFile().get());
            file.getFileSystem(sc.hadoopConfiguration()).delete(file, true);
        } catch (IOException | RuntimeException e) {
            // best effort: a file left behind wastes space, changes nothing
        }
    }

    /**
     * A new builder.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    private static int[] order(Optimizer opt, String[] names) {
        List<String> list = Arrays.asList(names);
        int[] order = new int[names.length];
        int i = 0;
        for (Optimizer.Tensor t : opt.tensors()) {
            order[i++] = list.indexOf(t.name());
        }
        return order;
    }

    /**
     * Runs one step (see the class documentation) on the next batch of the {@link BatchPlan}.
     *
     * @return {@code true} if the step was applied, {@code false} if it was skipped under
     *         {@link NonFinitePolicy#SKIP_STEP} (the batch is consumed either way)
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#THROW}: nothing was changed, and the same batch
     *                                    comes next
     * @throws IllegalArgumentException   if the gradient function returned a gradient of the wrong shape: thrown at once
     *                                    (the tasks are not retried), naming the first bad micro-batch's tensor with
     *                                    its epoch, step and micro-batch, as {@link LocalTrainer} does (nothing was
     *                                    changed)
     * @throws ArithmeticException        if a first-step g-SNR is not finite (nothing was changed)
     * @throws IllegalStateException      if the trainer was closed; or if the gradient function threw on every attempt
     *                                    Spark made: the message says "gradient function failed (epoch e, step s,
     *                                    micro-batch m)", as {@link LocalTrainer}'s does, and the cause is the
     *                                    function's exception (nothing was changed)
     */
    public boolean step() {
        ensureOpen();
        long t0 = System.nanoTime();
        gradNs.reset();
        reduceNs.reset();
        checkNs.reset();
        updateNs.reset();
        prepareEpoch();
        JavaRDD<Shard.Grad> reduced = reduceScatter();
        try {
            List<Shard.Summary> summaries = run(() -> reduced.map(summarizer(layout, policy != NonFinitePolicy.UNCHECKED,
                    !Double.isNaN(maxGradNorm), checkNs)).collect());
            summaries = new ArrayList<>(summaries);
            summaries.sort(Comparator.comparingInt(Shard.Summary::shard));
            for (Shard.Summary sm : summaries) {
                if (sm.error() != null) {
                    throw new IllegalArgumentException(sm.error());
                }
            }
            double loss = summaries.get(0).loss();
            if (policy != NonFinitePolicy.UNCHECKED) {
                NonFiniteGradientException bad = firstBad(summaries);
                if (bad != null) {
                    if (policy == NonFinitePolicy.THROW) {
                        throw bad.withContext("epoch " + epoch + ", step " + stepInEpoch);
                    }
                    recordSkip();
                    skipped++;
                    lastLoss = loss;
                    advance();
                    lastTimes = times(t0, 0);
                    return false;
                }
            }
            float clip = 1f;
            double norm = Double.NaN;
            if (!Double.isNaN(maxGradNorm)) {
                norm = globalNorm(summaries);
                double c = maxGradNorm / (norm + Optimizer.CLIP_EPS);
                clip = c < 1 ? (float) c : 1f;
            }
            double[][] moments = null;
            Optimizer candidate = null;
            if (firstMoments == null && probe instanceof SgdSai) {
                moments = firstStepMoments(reduced, clip);
                candidate = withMoments(moments);
            }
            List<Tuple2<Integer, float[][]>> slices;
            try {
                slices = update(reduced, clip, moments);
            } catch (RuntimeException e) {
                if (candidate != null) {
                    candidate.close();
                }
                throw e;
            }
            if (candidate != null) {
                probe.close();
                probe = candidate;
                firstMoments = moments;
            }
            lastLoss = loss;
            lastGradNorm = norm;
            applied++;
            advance();
            long tb = System.nanoTime();
            gather(slices);
            lastTimes = times(t0, System.nanoTime() - tb);
            return true;
        } finally {
            reduced.unpersist(false);
        }
    }

    /**
     * Runs {@code n} steps.
     *
     * @param n number of steps, at least 0
     * @return the mean of their batch losses (NaN if {@code n} is 0)
     */
    public double steps(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            step();
            sum += lastLoss;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Runs the steps left in the current epoch.
     *
     * @return the mean of their batch losses
     */
    public double epoch() {
        return steps(plan.stepsPerEpoch() - stepInEpoch);
    }

    private StepTimes times(long t0, long broadcastNs) {
        return new StepTimes(gradNs.value(), reduceNs.value(), checkNs.value(), updateNs.value(), broadcastNs,
                System.nanoTime() - t0);
    }

    private void advance() {
        if (++stepInEpoch == plan.stepsPerEpoch()) {
            stepInEpoch = 0;
            epoch++;
        }
    }

    /** Lays the current epoch's micro-batches out over the data partitions (one shuffle of the data per epoch). */
    private void prepareEpoch() {
        if (epochDataFor == epoch) {
            return;
        }
        if (epochData != null) {
            epochData.unpersist(false);
            sinceCheckpoint.add(epochPositions);
        }
        int[] order = plan.order(epoch);
        int[] position = new int[order.length];
        for (int p = 0; p < order.length; p++) {
            position[order[p]] = p;
        }
        Broadcast<int[]> pos = sc.broadcast(position);
        BatchPlan pl = plan;
        int micros = (pl.batchSize() + pl.microBatchSize() - 1) / pl.microBatchSize();
        epochData = indexed.mapToPair(row -> {
            int p = pos.value()[(int) (long) row._1()];
            int step = p / pl.batchSize();
            int micro = (p % pl.batchSize()) / pl.microBatchSize();
            return new Tuple2<>(step * micros + micro, new Tuple2<>(p, row._2()));
        }).groupByKey(new HashPartitioner(dataPartitions)).map(kv -> {
            List<Tuple2<Integer, T>> rows = new ArrayList<>();
            kv._2().forEach(rows::add);
            rows.sort(Comparator.comparingInt(Tuple2::_1));
            List<T> values = new ArrayList<>(rows.size());
            for (Tuple2<Integer, T> r : rows) {
                values.add(r._2());
            }
            int step = kv._1() / micros;
            return new Shard.MicroBatch<>(step, kv._1() % micros, pl.batchRows(step), values);
        }).persist(StorageLevel.MEMORY_AND_DISK());
        epochPositions = pos;
        epochDataFor = epoch;
    }

    /** Gradients of this step's micro-batches, cut into shard slices and added in micro-batch order at the owners. */
    private JavaRDD<Shard.Grad> reduceScatter() {
        int s = stepInEpoch;
        long e = epoch;
        Layout lay = layout;
        Broadcast<Parameters> p = broadcast;
        GradientFunction<T> f = fn;
        LongAccumulator ga = gradNs;
        LongAccumulator ra = reduceNs;
        JavaPairRDD<Integer, Shard.Leaf> leaves = epochData.filter(mb -> mb.step() == s).flatMapToPair(mb -> {
            long a = System.nanoTime();
            Gradient g = Shard.compute(f, p.value(), mb.rows(), mb.batchRows(), e, s, mb.micro());
            ga.add(System.nanoTime() - a);
            String error = Shard.invalid(g, lay.names, lay.lengths, e, s, mb.micro());
            if (error != null) { // deterministic: reported to the driver through shard 0, not retried
                return List.of(new Tuple2<>(0, new Shard.Leaf(mb.micro(), null, 0, error))).iterator();
            }
            List<Tuple2<Integer, Shard.Leaf>> out = new ArrayList<>(lay.shards);
            for (int k = 0; k < lay.shards; k++) {
                float[][] slices = new float[lay.tensor[k].length][];
                for (int j = 0; j < slices.length; j++) {
                    slices[j] = lay.cut(g.sums(), k, j);
                }
                out.add(new Tuple2<>(k, new Shard.Leaf(mb.micro(), slices, k == 0 ? g.loss() : 0, null)));
            }
            return out.iterator();
        });
        return leaves.groupByKey(new HashPartitioner(lay.shards)).map(kv -> {
            long a = System.nanoTime();
            List<Shard.Leaf> list = new ArrayList<>();
            kv._2().forEach(list::add);
            list.sort(Comparator.comparingInt(Shard.Leaf::micro));
            int k = kv._1();
            for (Shard.Leaf leaf : list) { // the first invalid micro-batch, in micro-batch order
                if (leaf.error() != null) {
                    return new Shard.Grad(k, null, 0, leaf.error());
                }
            }
            float[][] sum = new float[lay.tensor[k].length][];
            for (int j = 0; j < sum.length; j++) {
                sum[j] = new float[lay.to[k][j] - lay.from[k][j]];
            }
            double loss = 0;
            for (Shard.Leaf leaf : list) { // fixed order: micro-batch order, whatever order they arrived in
                for (int j = 0; j < sum.length; j++) {
                    float[] acc = sum[j];
                    float[] x = leaf.slices()[j];
                    for (int i = 0; i < acc.length; i++) {
                        acc[i] += x[i];
                    }
                }
                loss += leaf.loss();
            }
            ra.add(System.nanoTime() - a);
            return new Shard.Grad(k, sum, loss, null);
        }).persist(StorageLevel.MEMORY_AND_DISK());
    }

    private static org.apache.spark.api.java.function.Function<Shard.Grad, Shard.Summary> summarizer(
            Layout lay, boolean check, boolean norm, LongAccumulator acc) {
        return g -> {
            if (g.error() != null) {
                return new Shard.Summary(g.shard(), 0, null, null, null, g.error());
            }
            long a = System.nanoTime();
            int n = g.slices().length;
            int[] bad = new int[n];
            float[] value = new float[n];
            double[][] blocks = norm ? new double[n][] : null;
            for (int j = 0; j < n; j++) {
                FloatSpan s = FloatSpan.of(g.slices()[j]);
                bad[j] = check ? ScalarBackend.firstNonFinite(s, 0, s.length()) : -1;
                value[j] = bad[j] >= 0 ? s.get(bad[j]) : 0f;
                if (norm) {
                    int len = s.length();
                    blocks[j] = new double[(len + StepBatch.SUM_BLOCK - 1) / StepBatch.SUM_BLOCK];
                    for (int b = 0; b < blocks[j].length; b++) {
                        int f = b * StepBatch.SUM_BLOCK;
                        blocks[j][b] = ScalarBackend.sumSquares(s, 1f, f, Math.min(len, f + StepBatch.SUM_BLOCK));
                    }
                }
            }
            acc.add(System.nanoTime() - a);
            return new Shard.Summary(g.shard(), g.loss(), bad, value, blocks, null);
        };
    }

    /** The first bad gradient value in the optimizer's tensor order, or null. */
    private NonFiniteGradientException firstBad(List<Shard.Summary> summaries) {
        for (int t : optimizerOrder) {
            for (Shard.Summary s : summaries) { // shards hold a tensor's slices in element order
                int k = s.shard();
                for (int j = 0; j < layout.tensor[k].length; j++) {
                    if (layout.tensor[k][j] == t && s.badIndex()[j] >= 0) {
                        return new NonFiniteGradientException(layout.names[t], layout.from[k][j] + s.badIndex()[j],
                                s.badValue()[j]);
                    }
                }
            }
        }
        return null;
    }

    /**
     * {@code sqrt(Σ_t Σ_blocks)}: each tensor's block sums added in block order from 0 (what
     * {@code ScalarBackend.sumSquares} does over the whole tensor), the tensors in the optimizer's order.
     */
    private double globalNorm(List<Shard.Summary> summaries) {
        double total = 0;
        for (int t : optimizerOrder) {
            double sum = 0;
            for (Shard.Summary s : summaries) {
                int k = s.shard();
                for (int j = 0; j < layout.tensor[k].length; j++) {
                    if (layout.tensor[k][j] == t) {
                        for (double b : s.blockSquares()[j]) {
                            sum += b;
                        }
                    }
                }
            }
            total += sum;
        }
        return Math.sqrt(total);
    }

    /**
     * The first step's {@code {Σg², Σ(g − mean)²}} of every tensor's (clipped) gradient, from partials computed where
     * the slices live and merged in chunk order, exactly as the backend's {@code moments} computes them on one
     * machine; the g-SNRs are preset on the driver's probe optimizer (which throws, changing nothing, if one is not
     * finite).
     */
    private double[][] firstStepMoments(JavaRDD<Shard.Grad> reduced, float clip) {
        Layout lay = layout;
        String be = backendName;
        LongAccumulator acc = checkNs;
        int tensors = lay.names.length;
        double[][] moments = new double[tensors][2];
        if (lay.chunk == 0) { // whole tensors: each owner computes its tensors' moments
            List<double[][]> parts = run(() -> reduced.map(g -> {
                long a = System.nanoTime();
                double[][] out = new double[g.slices().length + 1][];
                out[0] = new double[] {g.shard()};
                try (Backend b = Backends.create(be, new BackendOptions(1))) {
                    for (int j = 0; j < g.slices().length; j++) {
                        out[j + 1] = new double[2];
                        b.moments(FloatSpan.of(g.slices()[j]), clip, out[j + 1]);
                    }
                }
                acc.add(System.nanoTime() - a);
                return out;
            }).collect());
            for (double[][] part : parts) {
                int k = (int) part[0][0];
                for (int j = 0; j < lay.tensor[k].length; j++) {
                    moments[lay.tensor[k][j]] = part[j + 1];
                }
            }
        } else {
            List<double[][]> sums = run(() -> reduced.map(g -> chunkPartials(g, lay, be, clip, null, acc)).collect());
            double[] means = new double[tensors];
            double[][] first = mergeByTensor(sums, 1);
            for (int t = 0; t < tensors; t++) {
                means[t] = ScalarBackend.mergeInOrder(first[t], 0, 1, first[t].length) / lay.lengths[t];
            }
            List<double[][]> centered = run(() -> reduced.map(g -> chunkPartials(g, lay, be, clip, means, acc)).collect());
            double[][] second = mergeByTensor(centered, 3);
            for (int t = 0; t < tensors; t++) {
                int c = second[t].length / 3;
                moments[t][0] = ScalarBackend.mergeInOrder(second[t], 0, 3, c);
                moments[t][1] = ScalarBackend.correctedM2(ScalarBackend.mergeInOrder(second[t], 1, 3, c),
                        ScalarBackend.mergeInOrder(second[t], 2, 3, c), lay.lengths[t]);
            }
        }
        return moments;
    }

    /**
     * A fresh probe with every tensor's g-SNR preset from {@code moments}; throws (an {@link ArithmeticException} for
     * a g-SNR that is not finite, naming the tensor) before anything changes.
     */
    private SgdSai withMoments(double[][] moments) {
        SgdSai p = (SgdSai) Builder.probe(config, layout.names, layout.lengths);
        try {
            for (int t = 0; t < moments.length; t++) {
                p.presetMoments(layout.names[t], layout.lengths[t], moments[t][0], moments[t][1]);
            }
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /**
     * Per chunk of every slice of {@code g} (times {@code clip}): its sum ({@code means == null}), or its three
     * centered sums at its tensor's mean. Row 0 holds the shard's index; row j + 1 slice j's partials in chunk order.
     */
    private static double[][] chunkPartials(Shard.Grad g, Layout lay, String backend, float clip, double[] means,
                                            LongAccumulator acc) {
        long a = System.nanoTime();
        int k = g.shard();
        double[][] out = new double[g.slices().length + 1][];
        out[0] = new double[] {k};
        double[] one = new double[3];
        try (Backend b = Backends.create(backend, new BackendOptions(1))) {
            for (int j = 0; j < g.slices().length; j++) {
                FloatSpan s = FloatSpan.of(scaled(g.slices()[j], clip));
                int chunks = (s.length() + lay.chunk - 1) / lay.chunk;
                out[j + 1] = new double[means == null ? chunks : 3 * chunks];
                for (int c = 0; c < chunks; c++) {
                    int f = c * lay.chunk;
                    int e = Math.min(s.length(), f + lay.chunk);
                    if (means == null) {
                        out[j + 1][c] = b.chunkSum(s, f, e);
                    } else {
                        b.chunkCenteredSums(s, means[lay.tensor[k][j]], f, e, one);
                        System.arraycopy(one, 0, out[j + 1], 3 * c, 3);
                    }
                }
            }
        }
        acc.add(System.nanoTime() - a);
        return out;
    }

    /** Concatenates the shards' per-slice partials tensor by tensor, in element (so chunk) order. */
    private double[][] mergeByTensor(List<double[][]> parts, int width) {
        int tensors = layout.names.length;
        double[][] out = new double[tensors][];
        int[] filled = new int[tensors];
        for (int t = 0; t < tensors; t++) {
            out[t] = new double[width * ((layout.lengths[t] + layout.chunk - 1) / layout.chunk)];
        }
        for (double[][] part : parts) {
            int k = (int) part[0][0];
            for (int j = 0; j < layout.tensor[k].length; j++) {
                int t = layout.tensor[k][j];
                int at = width * (layout.from[k][j] / layout.chunk);
                System.arraycopy(part[j + 1], 0, out[t], at, part[j + 1].length);
                filled[t] += part[j + 1].length;
            }
        }
        for (int t = 0; t < tensors; t++) {
            if (filled[t] != out[t].length) {
                throw new IllegalStateException("tensor '" + layout.names[t] + "': " + filled[t] + " of "
                        + out[t].length + " partials arrived");
            }
        }
        return out;
    }

    private static float[] scaled(float[] g, float clip) {
        if (clip == 1f) {
            return g;
        }
        float[] s = new float[g.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = g[i] * clip;
        }
        return s;
    }

    /**
     * Steps every shard where it lives and returns the new parameter slices (the all-gather's first half, in the same
     * job); the new shards replace the old ones once all have succeeded.
     */
    private List<Tuple2<Integer, float[][]>> update(JavaRDD<Shard.Grad> reduced, float clip, double[][] moments) {
        Layout lay = layout;
        Serializable cfg = config;
        String be = backendName;
        LongAccumulator acc = updateNs;
        JavaRDD<Shard.State> next = state.zipPartitions(reduced, (Iterator<Shard.State> states, Iterator<Shard.Grad> grads) -> {
            if (!states.hasNext() || !grads.hasNext()) {
                throw new IllegalStateException("a shard or its gradient is missing");
            }
            Shard.State s = states.next();
            Shard.Grad g = grads.next();
            long a = System.nanoTime();
            Shard.State out = stepShard(s, g, lay, cfg, be, clip, moments);
            acc.add(System.nanoTime() - a);
            return List.of(out).iterator();
        }).persist(StorageLevel.MEMORY_AND_DISK());
        if ((applied + 1) % checkpointInterval == 0) {
            next.checkpoint(); // reliable: a lost block is read back from the checkpoint directory
        }
        List<Tuple2<Integer, float[][]>> slices;
        try {
            slices = run(() -> next.map(st -> new Tuple2<>(st.shard(), st.params())).collect());
        } catch (RuntimeException e) {
            next.unpersist(false);
            throw e;
        }
        JavaRDD<Shard.State> old = state;
        state = next;
        // The old shards may go: were a block of the new ones lost before the next checkpoint, Spark would recompute
        // it from the lineage (deterministically), for which the broadcasts since the last checkpoint are kept.
        old.unpersist(false);
        if (next.isCheckpointed()) {
            deleteCheckpointFiles(checkpointed);
            checkpointed = next;
            for (Broadcast<?> b : sinceCheckpoint) {
                b.destroy();
            }
            sinceCheckpoint.clear();
        }
        return slices;
    }

    /** One shard's step: the engine's own update over the slices (the cached inputs are copied, never modified). */
    static Shard.State stepShard(Shard.State s, Shard.Grad g, Layout lay, Serializable cfg, String backend,
                                 float clip, double[][] moments) throws IOException {
        int k = s.shard();
        int n = s.params().length;
        if (n == 0) {
            return s;
        }
        float[][] p = new float[n][];
        Optimizer.Builder<?, ?, ?> b = Builder.configured(cfg);
        b.backend(backend).threads(1).optionalRules(); // the rules were checked on the whole model (probe)
        for (int j = 0; j < n; j++) {
            p[j] = s.params()[j].clone();
            b.add(lay.names[lay.tensor[k][j]], p[j], scaled(g.slices()[j], clip));
        }
        try (Optimizer opt = b.build()) {
            if (s.checkpoint() != null) {
                opt.load(new ByteArrayInputStream(s.checkpoint()));
            }
            if (moments != null) {
                for (int j = 0; j < n; j++) {
                    int t = lay.tensor[k][j];
                    ((SgdSai) opt).presetMoments(lay.names[t], lay.lengths[t], moments[t][0], moments[t][1]);
                }
            }
            if (!opt.step()) {
                throw new IllegalStateException("shard " + k + ": its optimizer skipped a step the driver had checked");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            opt.save(out);
            return new Shard.State(k, p, out.toByteArray());
        }
    }

    /**
     * Records a step skipped under {@link NonFinitePolicy#SKIP_STEP} in every shard's optimizer state, as the
     * single-machine optimizer records it in its own: each shard's optimizer is stepped once with a non-finite gradient
     * (which its policy skips, changing nothing else), so a shard checkpoint counts the same skipped steps as
     * {@link #skippedSteps()} and {@code LocalTrainer}'s optimizer.
     */
    private void recordSkip() {
        Layout lay = layout;
        Serializable cfg = config;
        String be = backendName;
        JavaRDD<Shard.State> next = state.map(s -> skipShard(s, lay, cfg, be)).persist(StorageLevel.MEMORY_AND_DISK());
        try {
            run(next::count);
        } catch (RuntimeException e) {
            next.unpersist(false);
            throw e;
        }
        JavaRDD<Shard.State> old = state;
        state = next;
        old.unpersist(false);
    }

    /** One shard's skipped step (see {@link #recordSkip}). */
    static Shard.State skipShard(Shard.State s, Layout lay, Serializable cfg, String backend) throws IOException {
        int k = s.shard();
        int n = s.params().length;
        if (n == 0) {
            return s;
        }
        float[][] p = new float[n][];
        Optimizer.Builder<?, ?, ?> b = Builder.configured(cfg);
        b.backend(backend).threads(1).optionalRules();
        for (int j = 0; j < n; j++) {
            p[j] = s.params()[j].clone();
            float[] g = new float[p[j].length];
            g[0] = Float.NaN;
            b.add(lay.names[lay.tensor[k][j]], p[j], g);
        }
        try (Optimizer opt = b.build()) {
            if (s.checkpoint() != null) {
                opt.load(new ByteArrayInputStream(s.checkpoint()));
            }
            if (opt.step()) {
                throw new IllegalStateException("shard " + k + ": its optimizer applied a non-finite gradient");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            opt.save(out);
            return new Shard.State(k, p, out.toByteArray());
        }
    }

    /** Every shard's count of skipped steps, as its optimizer state records it (-1 for a shard with no state yet). */
    List<Long> shardSkippedSteps() {
        Layout lay = layout;
        Serializable cfg = config;
        List<Tuple2<Integer, Long>> counts = run(() -> state.map(s -> new Tuple2<>(s.shard(),
                s.checkpoint() == null ? -1L : restored(s, lay, cfg).skippedSteps())).collect());
        Long[] out = new Long[lay.shards];
        for (Tuple2<Integer, Long> c : counts) {
            out[c._1()] = c._2();
        }
        return List.of(out);
    }

    /** An optimizer over a copy of shard {@code s}'s slices with its saved state loaded (closed). */
    private static Optimizer restored(Shard.State s, Layout lay, Serializable cfg) throws IOException {
        int k = s.shard();
        Optimizer.Builder<?, ?, ?> b = Builder.configured(cfg);
        b.backend("scalar").threads(1).optionalRules();
        for (int j = 0; j < s.params().length; j++) {
            b.add(lay.names[lay.tensor[k][j]], s.params()[j].clone(), new float[s.params()[j].length]);
        }
        try (Optimizer opt = b.build()) {
            opt.load(new ByteArrayInputStream(s.checkpoint()));
            return opt;
        }
    }

    /** Assembles the updated slices and broadcasts the new parameters (the all-gather's second half). */
    private void gather(List<Tuple2<Integer, float[][]>> slices) {
        float[][] next = new float[layout.names.length][];
        for (int t = 0; t < next.length; t++) {
            next[t] = new float[layout.lengths[t]];
        }
        for (Tuple2<Integer, float[][]> kv : slices) {
            int k = kv._1();
            for (int j = 0; j < layout.tensor[k].length; j++) {
                System.arraycopy(kv._2()[j], 0, next[layout.tensor[k][j]], layout.from[k][j], kv._2()[j].length);
            }
        }
        params = next;
        Broadcast<Parameters> old = broadcast;
        broadcast = sc.broadcast(new Parameters(layout.names, params));
        old.unpersist(false);
        sinceCheckpoint.add(old);
    }

    /**
     * Runs a Spark action; a job that failed because of a bad gradient or a bad g-SNR is reported as the exception the
     * task threw (Spark wraps it), so callers see the same exceptions as on one machine.
     */
    private static <R> R run(Supplier<R> action) {
        try {
            return action.get();
        } catch (Exception e) { // SparkException is checked in Java's eyes but thrown by Scala code
            RuntimeException found = null;
            for (Throwable c = e.getCause(); c != null && found == null; c = c.getCause()) {
                if (c instanceof Shard.GradientFunctionFailure
                        || c instanceof IllegalArgumentException || c instanceof ArithmeticException) {
                    found = (RuntimeException) c;
                }
            }
            if (found != null) {
                found.addSuppressed(e);
                throw found;
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("Spark job failed: " + e.getMessage(), e);
        }
    }

    // ---- accessors ----

    /**
     * The tensors' names, in the order given to the builder.
     *
     * @return the tensors' names, in the order given to the builder
     */
    public List<String> names() {
        return List.of(layout.names);
    }

    /**
     * A copy of the current values of tensor {@code name}.
     *
     * @param name the tensor's name
     * @return its values
     */
    public float[] parameters(String name) {
        return params[index(name)].clone();
    }

    /**
     * Copies of every tensor's current values, by name, in order.
     *
     * @return copies of every tensor's current values, by name, in order
     */
    public Map<String, float[]> parameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int t = 0; t < params.length; t++) {
            m.put(layout.names[t], params[t].clone());
        }
        return m;
    }

    /**
     * The g-SNR of tensor {@code name} (NaN before the first applied step), as the single-machine optimizer reports
     * it.
     *
     * @param name the tensor's name
     * @return its g-SNR
     */
    public double gsnr(String name) {
        index(name);
        return probe.tensor(name).gsnr();
    }

    private int index(String name) {
        int i = Arrays.asList(layout.names).indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException("no tensor named '" + name + "'; the tensors are " + names());
        }
        return i;
    }

    /**
     * Steps applied so far.
     *
     * @return the number of steps applied so far
     */
    public long appliedSteps() {
        return applied;
    }

    /**
     * Steps skipped under {@link NonFinitePolicy#SKIP_STEP}.
     *
     * @return the number of steps skipped under {@link NonFinitePolicy#SKIP_STEP}
     */
    public long skippedSteps() {
        return skipped;
    }

    /**
     * The epoch the next step belongs to, from 0.
     *
     * @return the epoch the next step belongs to, from 0
     */
    public long currentEpoch() {
        return epoch;
    }

    /**
     * The index, within its epoch, of the next step's batch.
     *
     * @return the index, within its epoch, of the next step's batch
     */
    public int stepInEpoch() {
        return stepInEpoch;
    }

    /**
     * The loss of the last step's batch (its micro-batches' losses added in order), NaN before any step.
     *
     * @return the loss of the last step's batch (its micro-batches' losses added in order), NaN before any step
     */
    public double lastLoss() {
        return lastLoss;
    }

    /**
     * The global gradient norm before clipping of the last applied step, NaN when not clipping.
     *
     * @return the global gradient norm before clipping of the last applied step, NaN when not clipping
     */
    public double lastGradNorm() {
        return lastGradNorm;
    }

    /**
     * Where the last step's time went, or null before the first step.
     *
     * @return where the last step's time went, or null before the first step
     */
    public StepTimes lastStepTimes() {
        return lastTimes;
    }

    /**
     * The batch plan.
     *
     * @return the batch plan
     */
    public BatchPlan plan() {
        return plan;
    }

    /**
     * Number of shards.
     *
     * @return the number of shards
     */
    public int shards() {
        return layout.shards;
    }

    /**
     * Parameters held by shard {@code k} (its optimizer state is one float of momentum per parameter).
     *
     * @param k the shard, in [0, {@link #shards()})
     * @return its number of parameters
     */
    public long shardElements(int k) {
        return layout.elements(k);
    }

    /**
     * The backend the shards run ({@code "vector"} or {@code "scalar"}).
     *
     * @return the backend the shards run ({@code "vector"} or {@code "scalar"})
     */
    public String backendName() {
        return backendName;
    }

    // ---- checkpoints ----

    /**
     * Writes the whole training state to directory {@code dir} (a local path or any Hadoop file system URI): the
     * parameters, every shard's optimizer state, the position in the batch plan and the step counts. Shards are
     * fetched to the driver one at a time. The directory must not exist. Everything is written into a sibling folder
     * ({@code .<name>.saving-<uuid>}) that is renamed to {@code dir} once complete (with a {@code _COMPLETE} file
     * last), so a save that fails leaves no directory at {@code dir} and no partial folder behind.
     *
     * @param dir where to write
     * @throws IOException if writing fails, or the Spark job that fetches the shards fails (its exception is the
     *                     cause); nothing is left at {@code dir} and the trainer is unchanged
     * @throws IllegalArgumentException if {@code dir} already exists
     */
    public void save(String dir) throws IOException {
        ensureOpen();
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(sc.hadoopConfiguration());
        if (fs.exists(root)) {
            throw new IllegalArgumentException("checkpoint directory " + dir + " already exists");
        }
        // Written into a sibling folder and renamed when complete: a failed save leaves no directory behind.
        Path tmp = new Path(root.getParent(), "." + root.getName() + ".saving-" + java.util.UUID.randomUUID());
        try {
            writeCheckpoint(fs, tmp);
            if (!fs.rename(tmp, root)) {
                throw new IOException("cannot rename " + tmp + " to " + root);
            }
        } catch (Exception e) { // SparkException too: checked in Java's eyes, thrown by Scala code undeclared
            try {
                fs.delete(tmp, true);
            } catch (IOException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            if (e instanceof IOException io) {
                throw io;
            }
            throw new IOException("saving the checkpoint to " + dir + " failed (nothing was written there): "
                    + e.getMessage(), e);
        }
    }

    private void writeCheckpoint(FileSystem fs, Path root) throws IOException {
        if (!fs.mkdirs(root)) {
            throw new IOException("cannot create " + root);
        }
        try (DataOutputStream out = new DataOutputStream(fs.create(new Path(root, "meta.bin")))) {
            out.writeLong(MAGIC);
            out.writeInt(FORMAT);
            out.writeInt(layout.names.length);
            for (int t = 0; t < layout.names.length; t++) {
                out.writeUTF(layout.names[t]);
                out.writeInt(layout.lengths[t]);
            }
            out.writeInt(layout.shards);
            out.writeInt(layout.chunk);
            out.writeUTF(backendName);
            out.writeInt(plan.examples());
            out.writeInt(plan.batchSize());
            out.writeInt(plan.microBatchSize());
            out.writeLong(plan.seed());
            out.writeBoolean(plan.shuffle());
            out.writeLong(epoch);
            out.writeInt(stepInEpoch);
            out.writeLong(applied);
            out.writeLong(skipped);
            out.writeDouble(lastLoss);
            out.writeBoolean(firstMoments != null);
            for (int t = 0; firstMoments != null && t < layout.names.length; t++) {
                out.writeDouble(firstMoments[t][0]);
                out.writeDouble(firstMoments[t][1]);
            }
            for (float[] p : params) {
                for (float v : p) {
                    out.writeFloat(v);
                }
            }
        }
        Iterator<Shard.State> it = state.toLocalIterator();
        while (it.hasNext()) {
            Shard.State s = it.next();
            try (OutputStream out = fs.create(new Path(root, String.format("shard-%05d.bin", s.shard())))) {
                if (s.checkpoint() != null) {
                    out.write(s.checkpoint());
                }
            }
        }
        fs.create(new Path(root, "_COMPLETE")).close();
    }

    /**
     * Replaces the training state with one written by {@link #save}, from a trainer with the same tensors, shard
     * count, backend and batch plan (the data may be partitioned differently, and the executors may be others).
     * Continuing then gives parameters bit-identical to never having stopped. Everything is read and checked first;
     * on any mismatch or damage an exception is thrown and this trainer is left as it was.
     *
     * @param dir where to read
     * @throws IOException if reading fails
     * @throws IllegalArgumentException if the checkpoint does not fit this trainer (the message says what differs)
     */
    public void load(String dir) throws IOException {
        ensureOpen();
        Path root = new Path(dir);
        FileSystem fs = root.getFileSystem(sc.hadoopConfiguration());
        if (!fs.exists(new Path(root, "_COMPLETE"))) {
            throw new IllegalArgumentException("checkpoint directory " + dir + " holds no complete checkpoint");
        }
        long e;
        int sie;
        long ap;
        long sk;
        double ll;
        double[][] moments = null;
        float[][] p = new float[layout.names.length][];
        try (DataInputStream in = new DataInputStream(fs.open(new Path(root, "meta.bin")))) {
            if (in.readLong() != MAGIC) {
                throw new IllegalArgumentException(dir + ": not an sgdsai-spark checkpoint");
            }
            int format = in.readInt();
            if (format != FORMAT) {
                throw new IllegalArgumentException(dir + ": an sgdsai-spark checkpoint of format " + format
                        + ", this version reads format " + FORMAT + (format == 1 ? " (format 1 cut the shards "
                        + "differently and did not record skipped steps in them)" : ""));
            }
            int tensors = in.readInt();
            if (tensors != layout.names.length) {
                throw new IllegalArgumentException(dir + ": " + tensors + " tensors, this trainer has "
                        + layout.names.length);
            }
            for (int t = 0; t < tensors; t++) {
                String name = in.readUTF();
                int n = in.readInt();
                if (!name.equals(layout.names[t]) || n != layout.lengths[t]) {
                    throw new IllegalArgumentException(dir + ": tensor " + t + " is '" + name + "' of " + n
                            + " elements, this trainer's is '" + layout.names[t] + "' of " + layout.lengths[t]);
                }
            }
            int shards = in.readInt();
            int chunk = in.readInt();
            String be = in.readUTF();
            if (shards != layout.shards || chunk != layout.chunk || !be.equals(backendName)) {
                throw new IllegalArgumentException(dir + ": saved with " + shards + " shards on backend '" + be
                        + "'; build this trainer with shards(" + shards + ") and backend(\"" + be + "\") (it has "
                        + layout.shards + " on '" + backendName + "')");
            }
            BatchPlan saved = new BatchPlan(in.readInt(), in.readInt(), in.readInt(), in.readLong(), in.readBoolean());
            if (!saved.sameAs(plan)) {
                throw new IllegalArgumentException(dir + ": saved with " + saved + ", this trainer has " + plan);
            }
            e = in.readLong();
            sie = in.readInt();
            ap = in.readLong();
            sk = in.readLong();
            ll = in.readDouble();
            if (in.readBoolean()) {
                moments = new double[tensors][2];
                for (int t = 0; t < tensors; t++) {
                    moments[t][0] = in.readDouble();
                    moments[t][1] = in.readDouble();
                }
            }
            for (int t = 0; t < tensors; t++) {
                p[t] = new float[layout.lengths[t]];
                for (int i = 0; i < p[t].length; i++) {
                    p[t][i] = in.readFloat();
                }
            }
        }
        List<Shard.State> shards = new ArrayList<>();
        for (int k = 0; k < layout.shards; k++) {
            Path file = new Path(root, String.format("shard-%05d.bin", k));
            byte[] bytes = new byte[(int) fs.getFileStatus(file).getLen()];
            try (FSDataInputStream in = fs.open(file)) {
                in.readFully(bytes);
            }
            float[][] slices = new float[layout.tensor[k].length][];
            for (int j = 0; j < slices.length; j++) {
                slices[j] = layout.cut(p, k, j);
            }
            shards.add(new Shard.State(k, slices, bytes.length == 0 ? null : bytes));
        }
        // Check every shard's optimizer state against its slices before anything changes.
        for (Shard.State s : shards) {
            if (s.params().length > 0 && s.checkpoint() != null) {
                verifyShard(s, sk);
            }
        }
        Optimizer fresh = moments != null ? withMoments(moments) : Builder.probe(config, layout.names, layout.lengths);
        // Commit.
        probe.close();
        probe = fresh;
        JavaRDD<Shard.State> old = state;
        state = sc.parallelize(shards, layout.shards).persist(StorageLevel.MEMORY_AND_DISK());
        old.unpersist(false);
        params = p;
        Broadcast<Parameters> ob = broadcast;
        broadcast = sc.broadcast(new Parameters(layout.names, params));
        ob.destroy();
        epoch = e;
        stepInEpoch = sie;
        applied = ap;
        skipped = sk;
        lastLoss = ll;
        lastGradNorm = Double.NaN;
        firstMoments = moments;
        epochDataFor = -1;
    }

    /**
     * Loads a shard's optimizer state into an optimizer over its slices: throws if it is damaged, does not fit, or
     * counts other skipped steps than the checkpoint's metadata.
     */
    private void verifyShard(Shard.State s, long skippedSteps) {
        long recorded;
        try {
            recorded = restored(s, layout, config).skippedSteps();
        } catch (IOException | RuntimeException ex) {
            throw new IllegalArgumentException("shard " + s.shard() + "'s optimizer state does not load: "
                    + ex.getMessage(), ex);
        }
        if (recorded != skippedSteps) {
            throw new IllegalArgumentException("shard " + s.shard() + "'s optimizer state records " + recorded
                    + " skipped steps, the checkpoint's metadata " + skippedSteps);
        }
    }

    /** Releases the cached RDDs and broadcasts. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        probe.close();
        deleteCheckpointFiles(checkpointed);
        if (ownCheckpointDir != null) {
            deleteIfOnlyFolders(ownCheckpointDir.toFile());
        }
        state.unpersist(false);
        indexed.unpersist(false);
        if (epochData != null) {
            epochData.unpersist(false);
        }
        broadcast.destroy();
        for (Broadcast<?> b : sinceCheckpoint) {
            b.destroy();
        }
        sinceCheckpoint.clear();
    }

    /** Deletes {@code dir} if it holds folders only (another trainer on the context may still use it otherwise). */
    private static void deleteIfOnlyFolders(java.io.File dir) {
        java.io.File[] children = dir.listFiles();
        if (children == null) {
            return;
        }
        for (java.io.File c : children) {
            if (!c.isDirectory()) {
                return;
            }
            deleteIfOnlyFolders(c);
        }
        dir.delete();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the trainer is closed");
        }
    }

    /** Configures a {@link SparkTrainer} (and its single-machine twin, {@link LocalTrainer}). */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<float[]> values = new ArrayList<>();
        private final List<int[]> shapes = new ArrayList<>();
        private Serializable config;
        private int batchSize;
        private int microBatchSize = -1;
        private long seed;
        private boolean shuffle = true;
        private int shards;
        private String backend;
        private double maxGradNorm = Double.NaN;
        private int checkpointInterval = 10;

        private Builder() {
        }

        /**
         * Adds a tensor with its initial values (copied at {@link #build}).
         *
         * @param name    its name, unique and non-empty (name-based groups see it)
         * @param initial its initial values, at least one
         * @return this builder
         */
        public Builder tensor(String name, float[] initial) {
            Objects.requireNonNull(name, "tensor name is null");
            Objects.requireNonNull(initial, "tensor '" + name + "': initial values are null");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("tensor name is empty");
            }
            if (names.contains(name)) {
                throw new IllegalArgumentException("tensor '" + name + "': the name is used twice");
            }
            if (initial.length == 0) {
                throw new IllegalArgumentException("tensor '" + name + "': it has no elements");
            }
            names.add(name);
            values.add(initial);
            shapes.add(null);
            return this;
        }

        /**
         * Adds a tensor with its initial values (copied at {@link #build}) and its shape, as laid out in
         * {@code initial} (row-major), which the optimizer's builder receives with it on the driver and in
         * {@link #buildLocal} (checked there: the product of the dimensions must be the length; see
         * {@code GroupSpec.add(String, float[], float[], int...)}). Shards hold slices cut at chunk boundaries, not
         * rows, and get no shape.
         *
         * @param name    its name, unique and non-empty (name-based groups see it)
         * @param initial its initial values, at least one
         * @param shape   its dimensions, e.g. {@code (rows, cols)}
         * @return this builder
         */
        public Builder tensor(String name, float[] initial, int... shape) {
            tensor(name, initial);
            shapes.set(shapes.size() - 1, Objects.requireNonNull(shape, "tensor '" + name + "': shape is null").clone());
            return this;
        }

        /**
         * The optimizer's configuration (required).
         *
         * @param config sets hyperparameters and groups of an {@link SgdSai.Builder}; serializable
         * @return this builder
         */
        public Builder optimizer(OptimizerConfig config) {
            this.config = Objects.requireNonNull(config, "optimizer config is null");
            return this;
        }

        /**
         * Trains with AdamW instead of SGD-SaI (replaces {@link #optimizer}): its state (two floats per parameter) is
         * sharded the same way, and the result is bit-identical to {@code AdamW} on one machine.
         *
         * @param config sets hyperparameters and groups of an {@link AdamW.Builder}; serializable
         * @return this builder
         */
        public Builder adamw(AdamWConfig config) {
            this.config = Objects.requireNonNull(config, "optimizer config is null");
            return this;
        }

        /** A new builder of the configured optimizer, with the user's configuration applied and no tensors. */
        static Optimizer.Builder<?, ?, ?> configured(Serializable config) {
            if (config instanceof AdamWConfig c) {
                AdamW.Builder b = AdamW.builder();
                c.accept(b);
                return b;
            }
            SgdSai.Builder b = SgdSai.builder();
            ((OptimizerConfig) config).accept(b);
            return b;
        }

        /**
         * Examples per (global) batch (required).
         *
         * @param batchSize at least 1 and at most the number of examples
         * @return this builder
         */
        public Builder batchSize(int batchSize) {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        /**
         * Examples per micro-batch, the unit a gradient function call sees; default the batch size (one call per
         * batch). Smaller micro-batches spread a batch over more tasks; the result depends on it (float sums), but
         * never on the partitioning.
         *
         * @param microBatchSize at least 1 and at most the batch size
         * @return this builder
         */
        public Builder microBatchSize(int microBatchSize) {
            if (microBatchSize < 1) {
                throw new IllegalArgumentException("microBatchSize must be >= 1, got " + microBatchSize);
            }
            this.microBatchSize = microBatchSize;
            return this;
        }

        /**
         * The shuffling seed of the {@link BatchPlan}; default 0.
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Whether each epoch visits the examples in a shuffled order; default true.
         *
         * @param shuffle whether to shuffle
         * @return this builder
         */
        public Builder shuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /**
         * Number of shards the parameters and optimizer state are cut into; default the context's default
         * parallelism. Results do not depend on it.
         *
         * @param shards at least 1
         * @return this builder
         */
        public Builder shards(int shards) {
            if (shards < 1) {
                throw new IllegalArgumentException("shards must be >= 1, got " + shards);
            }
            this.shards = shards;
            return this;
        }

        /**
         * The backend the shards run, by name; default the best one present on the driver. Only a backend with
         * chunked moments ({@code "vector"}) lets a tensor be split over shards; with {@code "scalar"} every tensor
         * stays whole in one shard.
         *
         * @param name the backend's name
         * @return this builder
         */
        public Builder backend(String name) {
            this.backend = Objects.requireNonNull(name, "backend name is null");
            return this;
        }

        /**
         * Clips the global gradient norm, exactly as {@code SgdSai.Builder.clipGradNorm} does on one machine (the norm
         * over every shard, in the engine's fixed order of additions).
         *
         * @param max the largest norm let through, finite and {@code > 0}
         * @return this builder
         */
        public Builder clipGradNorm(double max) {
            if (!(max > 0) || Double.isInfinite(max)) {
                throw new IllegalArgumentException("clipGradNorm: max must be a finite number > 0, got " + max);
            }
            this.maxGradNorm = max;
            return this;
        }

        /**
         * Cut the shards' lineage every {@code steps} applied steps; default 10.
         *
         * @param steps at least 1
         * @return this builder
         */
        public Builder checkpointInterval(int steps) {
            if (steps < 1) {
                throw new IllegalArgumentException("checkpointInterval must be >= 1, got " + steps);
            }
            this.checkpointInterval = steps;
            return this;
        }

        private void validate() {
            if (names.isEmpty()) {
                throw new IllegalArgumentException("no tensors were added");
            }
            if (config == null) {
                throw new IllegalArgumentException("no optimizer config: call optimizer(b -> b.lr(...))");
            }
            if (batchSize == 0) {
                throw new IllegalArgumentException("batchSize is required");
            }
            if (microBatchSize > batchSize) {
                throw new IllegalArgumentException("microBatchSize " + microBatchSize + " is larger than batchSize "
                        + batchSize);
            }
        }

        private int micro() {
            return microBatchSize < 0 ? batchSize : microBatchSize;
        }

        /** The driver's probe: validates the config, and holds g-SNRs and the tensor order. */
        Optimizer probe(String[] tensorNames, int[] lengths) {
            Optimizer p = probe(config, tensorNames, lengths, shapes.toArray(new int[0][]));
            if (!Double.isNaN(p.maxGradNorm())) {
                p.close();
                throw new IllegalArgumentException("optimizer config: clipping is configured on the trainer "
                        + "(SparkTrainer.Builder.clipGradNorm), since its norm is over every shard at once");
            }
            for (Optimizer.Group g : p.groups()) {
                if (g.scaling() == Scaling.GSNR_MAX_NORMALIZED) {
                    p.close();
                    throw new IllegalArgumentException("optimizer config: group " + g.index() + " uses "
                            + "GSNR_MAX_NORMALIZED, which the Spark trainer does not support (use GSNR or NONE)");
                }
            }
            return p;
        }

        static Optimizer probe(Serializable config, String[] tensorNames, int[] lengths) {
            return probe(config, tensorNames, lengths, new int[tensorNames.length][]);
        }

        /** As {@link #probe(Serializable, String[], int[])}, with each tensor's shape (null: none). */
        static Optimizer probe(Serializable config, String[] tensorNames, int[] lengths, int[][] shapes) {
            Optimizer.Builder<?, ?, ?> b = configured(config);
            b.backend("scalar").threads(1);
            for (int t = 0; t < tensorNames.length; t++) {
                if (shapes[t] != null) {
                    b.add(tensorNames[t], new float[lengths[t]], new float[lengths[t]], shapes[t]);
                } else {
                    b.add(tensorNames[t], new float[lengths[t]], new float[lengths[t]]);
                }
            }
            Optimizer p = b.build();
            if (p.tensors().size() != tensorNames.length) {
                p.close();
                throw new IllegalArgumentException("optimizer config: it added tensors of its own; add tensors to the "
                        + "trainer instead");
            }
            return p;
        }

        /**
         * Builds the trainer over {@code data} (counted and indexed here: an action).
         *
         * @param data     the examples; their order (partition by partition) numbers them for the {@link BatchPlan}
         * @param gradient the gradient function
         * @param <T>      the type of an example
         * @return the trainer
         * @throws IllegalArgumentException naming what is wrong: no tensors or config, an empty RDD, a batch larger
         *                                  than the data, a config that clips or adds tensors, a cluster context with no
         *                                  checkpoint directory (the message says what to set)
         */
        public <T> SparkTrainer<T> build(JavaRDD<T> data, GradientFunction<T> gradient) {
            validate();
            int mb = microBatchSize;
            microBatchSize = micro();
            try {
                return new SparkTrainer<>(this, data, gradient);
            } finally {
                microBatchSize = mb;
            }
        }

        /**
         * Builds the single-machine twin of the trainer this builder makes: the same batches, micro-batches, order of
         * sums and optimizer over whole tensors, in one JVM. It is the reference the Spark trainer equals bit for bit.
         *
         * @param rows     the examples, in the order that numbers them
         * @param gradient the gradient function
         * @param <T>      the type of an example
         * @return the trainer
         */
        public <T> LocalTrainer<T> buildLocal(List<T> rows, GradientFunction<T> gradient) {
            validate();
            Objects.requireNonNull(rows, "rows is null");
            Objects.requireNonNull(gradient, "gradient function is null");
            BatchPlan plan = new BatchPlan(rows.size(), batchSize, micro(), seed, shuffle);
            String[] n = names.toArray(new String[0]);
            float[][] v = new float[n.length][];
            for (int t = 0; t < n.length; t++) {
                v[t] = values.get(t).clone();
            }
            try (Optimizer p = probe(n, Arrays.stream(v).mapToInt(a -> a.length).toArray())) {
                // validated like the Spark trainer's config
            }
            return new LocalTrainer<>(n, v, shapes.toArray(new int[0][]), config, plan, backend, maxGradNorm, rows,
                    gradient);
        }
    }
}
