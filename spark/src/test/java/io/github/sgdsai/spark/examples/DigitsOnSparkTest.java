// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark.examples;

import io.github.sgdsai.examples.Digits;
import io.github.sgdsai.spark.SparkTrainerTest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark digits example prints, epoch by epoch, exactly what the single-machine example
 * ({@code io.github.sgdsai.examples.Digits}, run here in the same JVM) prints: losses, accuracies and g-SNRs.
 */
class DigitsOnSparkTest {

    @Test
    void sparkPrintsWhatTheSingleMachineExamplePrints() {
        int epochs = 1;
        ByteArrayOutputStream single = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        System.setOut(new PrintStream(single, true, StandardCharsets.UTF_8));
        try {
            Digits.main(new String[] {String.valueOf(epochs)});
        } finally {
            System.setOut(stdout);
        }
        ByteArrayOutputStream spark = new ByteArrayOutputStream();
        SparkTrainerTest.start();
        try {
            SparkDigits.train(SparkTrainerTest.sc, epochs, 0.01, 42, 2, 2, new PrintStream(spark, true, StandardCharsets.UTF_8));
        } finally {
            SparkTrainerTest.stop();
        }
        List<String> want = epochLines(single.toString(StandardCharsets.UTF_8));
        List<String> got = epochLines(spark.toString(StandardCharsets.UTF_8));
        System.out.println(String.join("\n", got));
        assertEquals(epochs + 4, want.size(), single.toString(StandardCharsets.UTF_8));
        assertEquals(want, got);
        assertTrue(got.get(0).startsWith("epoch  1  loss 1.4138  held-out accuracy 79.67%"), got.toString());
    }

    private static List<String> epochLines(String out) {
        return Arrays.stream(out.split("\n")).filter(l -> l.startsWith("epoch") || l.contains("g-SNR")).toList();
    }
}
