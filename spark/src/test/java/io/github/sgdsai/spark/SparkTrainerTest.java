// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import io.github.sgdsai.NameRule;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.schedule.Schedules;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark trainer against its single-machine twin ({@link LocalTrainer}: one plain {@code SgdSai} over whole
 * tensors, vector backend on both sides), in {@code local[3, 4]} mode (3 threads, a task may be tried 4 times).
 * Tensors of 150,000 and 70,000 elements are split over shards at the vector backend's 64 Ki chunks.
 */
public class SparkTrainerTest {

    public static JavaSparkContext sc;

    /** Flags the gradient function reads in local mode (same JVM) to misbehave on request. */
    static volatile int failMode;

    @BeforeAll
    public static void start() {
        sc = new JavaSparkContext(new SparkConf().setMaster("local[3,4]").setAppName("sgdsai-spark-test")
                .set("spark.ui.enabled", "false").set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1"));
        sc.setLogLevel("ERROR");
    }

    @AfterAll
    public static void stop() {
        sc.stop();
    }

    /** An example: an id and a coefficient. */
    record Row(int id, float a) implements Serializable {
    }

    static final String[] NAMES = {"w", "w_bias", "v", "u"};
    static final int[] LENGTHS = {150_000, 10, 70_000, 3};

    static List<Row> rows(int n) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rows.add(new Row(i, 0.5f + (i % 7) * 0.25f));
        }
        return rows;
    }

    /** A deterministic pseudo-random target in [-1, 1) for example {@code id}, tensor {@code t}, element {@code i}. */
    static float target(int id, int t, int i) {
        long h = (id * 0x9E3779B97F4A7C15L) ^ (t * 0xC2B2AE3D27D4EB4FL) ^ (i * 0x165667B19E3779F9L);
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        h ^= h >>> 32;
        return ((h >>> 40) / (float) (1L << 24)) * 2f - 1f;
    }

    /** Least squares: loss = Σ_rows Σ_i ½(a·p_i − y_i)² / B, whose gradient is a·(a·p_i − y_i) / B. */
    static Gradient leastSquares(Parameters p, List<Row> rows, int batchSize) {
        float[][] g = new float[p.size()][];
        for (int t = 0; t < g.length; t++) {
            g[t] = new float[p.get(t).length];
        }
        double loss = 0;
        float inv = 1f / batchSize;
        for (Row r : rows) {
            for (int t = 0; t < g.length; t++) {
                float[] w = p.get(t);
                for (int i = 0; i < w.length; i++) {
                    float e = r.a() * w[i] - target(r.id(), t, i);
                    g[t][i] += r.a() * e * inv;
                    loss += 0.5 * e * e * inv;
                }
            }
        }
        return new Gradient(loss, g);
    }

    /** Calls of {@link #misbehaving} (local mode: the tasks run in this JVM). */
    static final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    /** {@link #leastSquares}, misbehaving as {@link #failMode} says. */
    static Gradient misbehaving(Parameters p, List<Row> rows, int batchSize) {
        calls.incrementAndGet();
        Gradient g = leastSquares(p, rows, batchSize);
        if (failMode == 7) {
            throw new UnsupportedOperationException("injected failure on every attempt");
        }
        if (failMode == 5) { // every micro-batch is wrong, in a tensor that depends on its examples
            int t = rows.get(0).id() % NAMES.length;
            float[][] sums = g.sums().clone();
            sums[t] = new float[t + 1];
            return new Gradient(g.loss(), sums);
        }
        if (failMode == 6) { // non-finite values in two tensors of two groups
            g.sums()[1][3] = Float.POSITIVE_INFINITY;
            g.sums()[2][68_000] = Float.NaN;
        }
        if (failMode == 1 && TaskContext.get() != null && TaskContext.get().attemptNumber() == 0
                && rows.get(0).id() % 3 == 1) {
            throw new IllegalStateException("injected failure on a first attempt");
        }
        if (failMode == 2) {
            return new Gradient(g.loss(), new float[][] {g.sums()[0], g.sums()[1], new float[3], g.sums()[3]});
        }
        if (failMode == 3) {
            g.sums()[2][68_000] = Float.NaN;
        }
        return g;
    }

    static float[][] initial() {
        float[][] v = new float[NAMES.length][];
        java.util.Random r = new java.util.Random(3);
        for (int t = 0; t < v.length; t++) {
            v[t] = new float[LENGTHS[t]];
            for (int i = 0; i < v[t].length; i++) {
                v[t][i] = (float) (r.nextGaussian() * 0.1);
            }
        }
        return v;
    }

    static SparkTrainer.Builder builder(int shards, OptimizerConfig config) {
        SparkTrainer.Builder b = SparkTrainer.builder().optimizer(config).batchSize(8).microBatchSize(3).seed(11)
                .shards(shards).backend("vector").checkpointInterval(3);
        float[][] init = initial();
        for (int t = 0; t < NAMES.length; t++) {
            b.tensor(NAMES[t], init[t]);
        }
        return b;
    }

    static final OptimizerConfig CONFIG = b -> b.lr(Schedules.warmupCosine(0.05, 2, 20)).momentum(0.9).weightDecay(0.01)
            .group(NameRule.glob("biases", "*_bias"), g -> g.weightDecay(0));

    static JavaRDD<Row> data(List<Row> rows, int partitions) {
        return sc.parallelize(rows, partitions);
    }

    static void assertSame(Map<String, float[]> want, Map<String, float[]> got, String what) {
        for (String name : NAMES) {
            assertArrayEquals(want.get(name), got.get(name), what + ": tensor " + name);
        }
    }

    @ParameterizedTest(name = "{0} partitions, {1} shards")
    @CsvSource({"1, 1", "2, 3", "3, 2", "7, 5"})
    void bitIdenticalToOneMachine(int partitions, int shards) {
        List<Row> rows = rows(37);
        int steps = 7; // 5 batches per epoch (the last of 5 examples): crosses an epoch
        try (LocalTrainer<Row> local = builder(shards, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(shards, CONFIG).build(data(rows, partitions), SparkTrainerTest::leastSquares)) {
            assertEquals("vector", local.optimizer().backendName());
            assertEquals("vector", spark.backendName());
            for (int s = 0; s < steps; s++) {
                local.step();
                spark.step();
                assertEquals(local.lastLoss(), spark.lastLoss(), "loss of step " + s);
            }
            assertSame(local.parameters(), spark.parameters(), partitions + " partitions");
            for (String name : NAMES) {
                assertEquals(local.optimizer().tensor(name).gsnr(), spark.gsnr(name), "g-SNR of " + name);
            }
            assertEquals(1, spark.currentEpoch());
            assertEquals(2, spark.stepInEpoch());
            long total = 0;
            for (int k = 0; k < shards; k++) {
                total += spark.shardElements(k);
            }
            assertEquals(150_000 + 10 + 70_000 + 3, total);
        }
    }

    @Test
    void tensorsAreSplitAtChunksAndTheirGsnrIsTheWholeTensorsBitForBit() {
        List<Row> rows = rows(16);
        try (LocalTrainer<Row> local = builder(4, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(4, CONFIG).build(data(rows, 2), SparkTrainerTest::leastSquares)) {
            Layout lay = new Layout(NAMES, LENGTHS, 65536, 4);
            int shardsHoldingW = 0;
            for (int k = 0; k < 4; k++) {
                for (int j = 0; j < lay.tensor[k].length; j++) {
                    if (lay.tensor[k][j] == 0) {
                        shardsHoldingW++;
                        assertEquals(0, lay.from[k][j] % 65536);
                    }
                }
            }
            assertTrue(shardsHoldingW >= 2, "w is split: " + shardsHoldingW);
            assertTrue(Double.isNaN(spark.gsnr("w")));
            local.step();
            spark.step();
            for (String name : NAMES) {
                assertEquals(local.optimizer().tensor(name).gsnr(), spark.gsnr(name), name);
                assertTrue(spark.gsnr(name) > 0);
            }
            assertSame(local.parameters(), spark.parameters(), "after one step");
        }
    }

    @Test
    void clippingMatchesOneMachine() {
        List<Row> rows = rows(24);
        try (LocalTrainer<Row> local = builder(3, CONFIG).clipGradNorm(0.5).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(3, CONFIG).clipGradNorm(0.5).build(data(rows, 3), SparkTrainerTest::leastSquares)) {
            for (int s = 0; s < 4; s++) {
                local.step();
                spark.step();
                assertTrue(spark.lastGradNorm() > 0.5, "clipping binds: " + spark.lastGradNorm());
            }
            assertSame(local.parameters(), spark.parameters(), "clipped");
            assertEquals(local.optimizer().lastGradNorm(), spark.lastGradNorm());
            assertEquals(local.optimizer().tensor("w").gsnr(), spark.gsnr("w"));
        }
    }

    @Test
    void adamwWithClippingMatchesOneMachine(@TempDir Path dir) throws Exception {
        List<Row> rows = rows(24);
        AdamWConfig adamw = b -> b.lr(Schedules.warmupCosine(1e-2, 2, 20)).betas(0.9, 0.99).weightDecay(0.1)
                .group(NameRule.glob("biases", "*_bias"), g -> g.weightDecay(0));
        String ckpt = dir.resolve("adamw").toString();
        try (LocalTrainer<Row> local = builder(3, CONFIG).adamw(adamw).clipGradNorm(0.5)
                .buildLocal(rows, SparkTrainerTest::leastSquares)) {
            local.steps(5);
            assertEquals("vector", local.optimizer().backendName());
            try (SparkTrainer<Row> spark = builder(3, CONFIG).adamw(adamw).clipGradNorm(0.5)
                    .build(data(rows, 2), SparkTrainerTest::leastSquares)) {
                spark.steps(3);
                spark.save(ckpt);
            }
            try (SparkTrainer<Row> spark = builder(3, CONFIG).adamw(adamw).clipGradNorm(0.5)
                    .build(data(rows, 3), SparkTrainerTest::leastSquares)) {
                spark.load(ckpt);
                spark.steps(2);
                assertSame(local.parameters(), spark.parameters(), "AdamW, resumed on 3 partitions");
                assertEquals(local.optimizer().lastGradNorm(), spark.lastGradNorm());
                assertTrue(Double.isNaN(spark.gsnr("w")));
            }
        }
    }

    @Test
    void aTaskFailingOnItsFirstAttemptChangesNothing() {
        List<Row> rows = rows(24);
        try (LocalTrainer<Row> local = builder(2, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(2, CONFIG).build(data(rows, 3), SparkTrainerTest::misbehaving)) {
            failMode = 1;
            for (int s = 0; s < 4; s++) {
                local.step();
                spark.step();
            }
            assertSame(local.parameters(), spark.parameters(), "with retried tasks");
        } finally {
            failMode = 0;
        }
    }

    @Test
    void resumeWithOtherPartitionCountsIsIdentical(@TempDir Path dir) throws Exception {
        List<Row> rows = rows(30);
        String ckpt = dir.resolve("ckpt").toString();
        try (LocalTrainer<Row> local = builder(3, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares)) {
            local.steps(9);
            try (SparkTrainer<Row> first = builder(3, CONFIG).build(data(rows, 2), SparkTrainerTest::leastSquares)) {
                first.steps(5);
                first.save(ckpt);
            }
            try (SparkTrainer<Row> second = builder(3, CONFIG).build(data(rows, 5), SparkTrainerTest::leastSquares)) {
                second.load(ckpt);
                assertEquals(5, second.appliedSteps());
                second.steps(4);
                assertSame(local.parameters(), second.parameters(), "resumed on 5 partitions");
                assertEquals(local.optimizer().tensor("v").gsnr(), second.gsnr("v"));
            }
            try (SparkTrainer<Row> other = builder(2, CONFIG).build(data(rows, 2), SparkTrainerTest::leastSquares)) {
                Map<String, float[]> before = other.parameters();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.load(ckpt));
                assertTrue(e.getMessage().contains("shards(3)"), e.getMessage());
                assertSame(before, other.parameters(), "a refused checkpoint");
                assertEquals(0, other.appliedSteps());
            }
        }
    }

    /** The builder of {@link #builder(int, OptimizerConfig)} with a shape for every tensor; {@code w}'s given. */
    static SparkTrainer.Builder shapedBuilder(int... wShape) {
        SparkTrainer.Builder b = SparkTrainer.builder().optimizer(CONFIG).batchSize(8).microBatchSize(3).seed(11)
                .shards(2).backend("vector").checkpointInterval(3);
        float[][] init = initial();
        b.tensor("w", init[0], wShape).tensor("w_bias", init[1], 10).tensor("v", init[2], 700, 100).tensor("u", init[3]);
        return b;
    }

    @Test
    void shapesReachTheOptimizerOnTheDriverAndOnOneMachine() {
        List<Row> rows = rows(20);
        IllegalArgumentException local = assertThrows(IllegalArgumentException.class,
                () -> shapedBuilder(500, 301).buildLocal(rows, SparkTrainerTest::leastSquares));
        IllegalArgumentException driver = assertThrows(IllegalArgumentException.class,
                () -> shapedBuilder(500, 301).build(data(rows, 2), SparkTrainerTest::leastSquares));
        for (IllegalArgumentException e : List.of(local, driver)) {
            assertTrue(e.getMessage().contains("tensor 'w'") && e.getMessage().contains("150000"), e.getMessage());
        }
        try (LocalTrainer<Row> shaped = shapedBuilder(500, 300).buildLocal(rows, SparkTrainerTest::leastSquares);
             LocalTrainer<Row> flat = builder(2, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = shapedBuilder(500, 300).build(data(rows, 2), SparkTrainerTest::leastSquares)) {
            shaped.steps(3);
            flat.steps(3);
            spark.steps(3);
            // SGD-SaI reads no shape: the same trajectory
            assertSame(flat.parameters(), shaped.parameters(), "shaped vs flat");
            assertSame(shaped.parameters(), spark.parameters(), "one machine vs Spark");
        }
    }

    @Test
    void badInputIsReportedClearlyAndLeavesTheLastGoodState() {
        List<Row> rows = rows(20);
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                () -> builder(2, CONFIG).build(sc.parallelize(new ArrayList<Row>(), 2), SparkTrainerTest::leastSquares));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> builder(2, CONFIG).batchSize(21).build(data(rows, 2), SparkTrainerTest::leastSquares));
        assertTrue(big.getMessage().contains("batchSize 21") && big.getMessage().contains("20 examples"),
                big.getMessage());
        IllegalArgumentException clip = assertThrows(IllegalArgumentException.class,
                () -> builder(2, b -> b.lr(0.1).clipGradNorm(1)).build(data(rows, 2), SparkTrainerTest::leastSquares));
        assertTrue(clip.getMessage().contains("clipGradNorm"), clip.getMessage());
        try (LocalTrainer<Row> local = builder(2, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(2, CONFIG).build(data(rows, 3), SparkTrainerTest::misbehaving)) {
            local.steps(3);
            spark.steps(2);
            Map<String, float[]> good = spark.parameters();
            failMode = 2;
            IllegalArgumentException len = assertThrows(IllegalArgumentException.class, spark::step);
            assertTrue(len.getMessage().contains("tensor 'v' has length 3, expected 70000"), len.getMessage());
            assertSame(good, spark.parameters(), "after a gradient of the wrong length");
            failMode = 3;
            NonFiniteGradientException nan = assertThrows(NonFiniteGradientException.class, spark::step);
            assertEquals("v", nan.tensor());
            assertEquals(68_000, nan.index());
            assertSame(good, spark.parameters(), "after a NaN gradient");
            assertEquals(2, spark.appliedSteps());
            failMode = 0;
            spark.step(); // the same batch again, now good
            assertSame(local.parameters(), spark.parameters(), "continued after the errors");
        } finally {
            failMode = 0;
        }
    }

    /** Drops every cached block of every RDD, as losing executors would (the driver is told, as it would be). */
    static void loseCachedBlocks() {
        for (Object id : sc.getPersistentRDDs().keySet()) {
            org.apache.spark.SparkEnv.get().blockManager().removeRdd((Integer) id);
        }
    }

    @Test
    void lostCachedBlocksAreRecomputedWithoutAUserCheckpointDirectory(@TempDir Path dir) throws Exception {
        List<Row> rows = rows(24);
        try (LocalTrainer<Row> local = builder(3, CONFIG).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(3, CONFIG).build(data(rows, 2), SparkTrainerTest::leastSquares)) {
            local.steps(4);
            spark.steps(4); // the lineage was cut after step 3
            loseCachedBlocks();
            local.steps(3);
            spark.steps(3);
            assertSame(local.parameters(), spark.parameters(), "after losing every cached block");
            loseCachedBlocks();
            spark.save(dir.resolve("after-loss").toString());
            local.step();
            spark.step();
            assertSame(local.parameters(), spark.parameters(), "saved and stepped after losing them again");
            assertTrue(sc.getCheckpointDir().isPresent(), "on a local master the trainer set a checkpoint directory");
        }
    }

    @Test
    void aClusterWithoutACheckpointDirectoryIsRefusedSayingWhatToSet() {
        for (String master : new String[] {"spark://10.0.0.1:7077", "yarn", "k8s://https://10.0.0.1:6443"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SparkTrainer.needsTemporaryCheckpointDir(master, false));
            assertTrue(e.getMessage().contains("sc.setCheckpointDir("), e.getMessage());
            assertFalse(SparkTrainer.needsTemporaryCheckpointDir(master, true));
        }
        for (String master : new String[] {"local", "local[3,4]", "local[*]", "local-cluster[2,1,1024]"}) {
            assertTrue(SparkTrainer.needsTemporaryCheckpointDir(master, false), master);
            assertFalse(SparkTrainer.needsTemporaryCheckpointDir(master, true), master);
        }
    }

    @Test
    void aFailedSaveLeavesNothingAndThrowsIOException(@TempDir Path dir) throws Exception {
        List<Row> rows = rows(24);
        Path target = dir.resolve("ckpt");
        // fails, when asked to, where a shard is stepped: recomputing a lost shard then fails on every attempt
        OptimizerConfig failing = b -> {
            if (failMode == 4) {
                throw new IllegalStateException("injected failure on every attempt");
            }
            CONFIG.accept(b);
        };
        try (LocalTrainer<Row> local = builder(2, failing).buildLocal(rows, SparkTrainerTest::leastSquares);
             SparkTrainer<Row> spark = builder(2, failing).build(data(rows, 3), SparkTrainerTest::leastSquares)) {
            local.steps(2);
            spark.step(); // no lineage cut yet: a lost shard is recomputed by stepping it again
            loseCachedBlocks();
            failMode = 4;
            java.io.IOException e = assertThrows(java.io.IOException.class, () -> spark.save(target.toString()));
            assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
            assertFalse(java.nio.file.Files.exists(target), "no partial checkpoint directory");
            try (java.util.stream.Stream<Path> left = java.nio.file.Files.list(dir)) {
                assertEquals(List.of(), left.toList(), "no temporary folder left behind");
            }
            failMode = 0;
            spark.save(target.toString());
            spark.step();
            assertSame(local.parameters(), spark.parameters(), "saved and stepped once the failure was gone");
        } finally {
            failMode = 0;
        }
    }

    @Test
    void invalidGradientsFailAtOnceAndAsOnOneMachine() {
        List<Row> rows = rows(20);
        try (LocalTrainer<Row> local = builder(2, CONFIG).buildLocal(rows, SparkTrainerTest::misbehaving);
             SparkTrainer<Row> spark = builder(2, CONFIG).build(data(rows, 3), SparkTrainerTest::misbehaving)) {
            local.steps(2);
            spark.steps(2);
            for (int mode : new int[] {2, 5}) {
                failMode = mode;
                IllegalArgumentException one = assertThrows(IllegalArgumentException.class, local::step);
                calls.set(0);
                IllegalArgumentException many = assertThrows(IllegalArgumentException.class, spark::step);
                assertEquals(spark.plan().microBatches(2), calls.get(),
                        "mode " + mode + ": each micro-batch computed once, not retried");
                assertEquals(one.getMessage(), many.getMessage(), "mode " + mode);
                assertTrue(many.getMessage().contains("(epoch 0, step 2, micro-batch 0)"), many.getMessage());
            }
            failMode = 7; // the user's own exception: retried by Spark, then reported with its step
            for (IllegalStateException e : List.of(assertThrows(IllegalStateException.class, local::step),
                    assertThrows(IllegalStateException.class, spark::step))) {
                assertTrue(e.getMessage().startsWith("gradient function failed (epoch 0, step 2, micro-batch "),
                        e.getMessage());
                assertTrue(e.getCause() instanceof UnsupportedOperationException, String.valueOf(e.getCause()));
                assertEquals("injected failure on every attempt", e.getCause().getMessage());
            }
            failMode = 6;
            NonFiniteGradientException one = assertThrows(NonFiniteGradientException.class, local::step);
            NonFiniteGradientException many = assertThrows(NonFiniteGradientException.class, spark::step);
            assertEquals(one.tensor(), many.tensor());
            assertEquals(one.index(), many.index());
            assertEquals(one.getMessage(), many.getMessage());
            assertTrue(many.getMessage().contains(" (epoch 0, step 2); the step was not applied"), many.getMessage());
            failMode = 0;
            local.step();
            spark.step();
            assertSame(local.parameters(), spark.parameters(), "after the refused steps");
        } finally {
            failMode = 0;
        }
    }

    @Test
    void skippedStepsAreRecordedOnceInEveryShardAsOnOneMachine(@TempDir Path dir) throws Exception {
        List<Row> rows = rows(20);
        OptimizerConfig skip = b -> b.lr(Schedules.warmupCosine(0.05, 2, 20)).momentum(0.9)
                .nonFinite(NonFinitePolicy.SKIP_STEP);
        String ckpt = dir.resolve("skipped").toString();
        try (LocalTrainer<Row> local = builder(3, skip).buildLocal(rows, SparkTrainerTest::misbehaving)) {
            try (SparkTrainer<Row> spark = builder(3, skip).build(data(rows, 2), SparkTrainerTest::misbehaving)) {
                failMode = 3;
                assertFalse(local.step());
                assertFalse(spark.step()); // skipped before any applied step
                failMode = 0;
                local.steps(2);
                spark.steps(2);
                failMode = 3;
                assertFalse(local.step());
                assertFalse(spark.step());
                failMode = 0;
                assertEquals(2, local.optimizer().skippedSteps());
                assertEquals(2, spark.skippedSteps());
                assertEquals(List.of(2L, 2L, 2L), spark.shardSkippedSteps(), "every shard records them");
                spark.save(ckpt);
            }
            try (SparkTrainer<Row> spark = builder(3, skip).build(data(rows, 3), SparkTrainerTest::misbehaving)) {
                spark.load(ckpt);
                assertEquals(2, spark.skippedSteps());
                assertEquals(2, spark.appliedSteps());
                local.steps(2);
                spark.steps(2);
                assertSame(local.parameters(), spark.parameters(), "resumed after skipped steps");
                assertEquals(List.of(2L, 2L, 2L), spark.shardSkippedSteps());
            }
        } finally {
            failMode = 0;
        }
    }

    @Test
    void skipStepSkipsOnEveryShardAndConsumesTheBatch() {
        List<Row> rows = rows(20);
        OptimizerConfig skip = b -> b.lr(0.05).nonFinite(NonFinitePolicy.SKIP_STEP);
        try (SparkTrainer<Row> spark = builder(3, skip).build(data(rows, 2), SparkTrainerTest::misbehaving)) {
            spark.step();
            Map<String, float[]> good = spark.parameters();
            failMode = 3;
            assertFalse(spark.step());
            assertEquals(1, spark.skippedSteps());
            assertEquals(1, spark.appliedSteps());
            assertEquals(2, spark.stepInEpoch(), "the skipped batch is consumed");
            assertSame(good, spark.parameters(), "skipped");
            failMode = 0;
            assertTrue(spark.step());
        } finally {
            failMode = 0;
        }
    }
}
