// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark trainer with its executors in their own JVMs: Spark's {@code local-cluster[2,1,1024]} master starts a
 * standalone master and two workers in this JVM, and each worker launches an executor as a separate {@code java}
 * process. Local mode runs every task in the driver's JVM, so it cannot show a class that does not serialize, a
 * static that only the driver has, or a block that must be fetched from another executor; here the gradient
 * function, the optimizer config, the shards and the shuffles all cross process boundaries.
 *
 * <p>The workers launch executors with Spark's launcher, which needs a Spark home with a {@code jars/} folder.
 * Maven Central has no Spark distribution, so surefire sets {@code SPARK_HOME} to {@code target/spark-home}, which
 * this test creates with an empty {@code jars/}, and the executors get this JVM's class path (Spark and every
 * dependency from the local Maven repository, the module's classes and test classes) through
 * {@code spark.executor.extraClassPath}, and the module's JVM flags ({@code spark.jvm.args} in the pom, passed as the
 * system property {@code sgdsai.spark.jvm.args}) through {@code spark.executor.extraJavaOptions}.
 */
class SeparateJvmsTest {

    static JavaSparkContext sc;

    @BeforeAll
    static void start() throws IOException {
        String home = System.getenv("SPARK_HOME");
        String flags = System.getProperty("sgdsai.spark.jvm.args");
        if (home == null || flags == null) {
            throw new IllegalStateException("run this test through Maven (./mvnw -pl spark -am verify): it needs "
                    + "SPARK_HOME (now " + home + ") and -Dsgdsai.spark.jvm.args (now " + flags + "), which the "
                    + "module's surefire configuration sets");
        }
        Files.createDirectories(Path.of(home, "jars"));
        sc = new JavaSparkContext(new SparkConf().setMaster("local-cluster[2,1,1024]")
                .setAppName("sgdsai-spark-separate-jvms")
                .set("spark.ui.enabled", "false")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.executor.memory", "512m")
                .set("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .set("spark.executor.extraJavaOptions", flags)
                .set("spark.task.maxFailures", "2"));
        sc.setLogLevel("ERROR");
    }

    @AfterAll
    static void stop() {
        if (sc != null) {
            sc.stop();
        }
    }

    @Test
    void executorsAreOtherProcessesAndTrainingIsBitIdenticalToOneMachine(@TempDir Path dir) throws Exception {
        // Both executors are registered and are processes other than this one.
        long driver = ProcessHandle.current().pid();
        Set<Long> pids = new TreeSet<>();
        for (int attempt = 0; attempt < 60 && pids.size() < 2; attempt++) {
            pids.addAll(sc.parallelize(IntStream.range(0, 8).boxed().toList(), 8)
                    .map(i -> ProcessHandle.current().pid()).collect());
            if (pids.size() < 2) {
                Thread.sleep(500);
            }
        }
        assertEquals(2, pids.size(), "tasks ran in two executor processes: " + pids);
        assertFalse(pids.contains(driver), "no task ran in the driver's JVM (" + driver + "): " + pids);

        List<SparkTrainerTest.Row> rows = SparkTrainerTest.rows(24);
        String ckpt = new File(dir.toFile(), "ckpt").getPath();
        try (LocalTrainer<SparkTrainerTest.Row> local = SparkTrainerTest.builder(3, SparkTrainerTest.CONFIG)
                .clipGradNorm(0.5).buildLocal(rows, SparkTrainerTest::leastSquares)) {
            local.steps(5);
            try (SparkTrainer<SparkTrainerTest.Row> spark = SparkTrainerTest.builder(3, SparkTrainerTest.CONFIG)
                    .clipGradNorm(0.5).build(sc.parallelize(rows, 3), SparkTrainerTest::leastSquares)) {
                spark.steps(3);
                spark.save(ckpt);
            }
            try (SparkTrainer<SparkTrainerTest.Row> spark = SparkTrainerTest.builder(3, SparkTrainerTest.CONFIG)
                    .clipGradNorm(0.5).build(sc.parallelize(rows, 2), SparkTrainerTest::leastSquares)) {
                spark.load(ckpt);
                spark.steps(2);
                SparkTrainerTest.assertSame(local.parameters(), spark.parameters(), "separate JVMs, resumed");
                assertEquals(local.lastLoss(), spark.lastLoss());
                assertEquals(local.optimizer().lastGradNorm(), spark.lastGradNorm());
                for (String name : SparkTrainerTest.NAMES) {
                    assertEquals(local.optimizer().tensor(name).gsnr(), spark.gsnr(name), "g-SNR of " + name);
                }
                assertNotNull(spark.lastStepTimes());
                assertTrue(spark.lastStepTimes().gradientNanos() > 0, "the executors' accumulators came back");
            }
        }
    }
}
