// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The previous release's sums of squares for clipping: the SPI's default {@code firstNonFiniteTensor(batch, sums)},
 * i.e. {@link ScalarBackend#sumSquares} on the calling thread, whatever the thread count. The "before" of
 * {@link ReadBandwidthBenchmark#sumSquares}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class ReadBeforeBenchmark {
    @Param({"67108864"})
    public int size;
    @Param({"array"})
    public String storage;

    private FloatSpan grad;

    @Setup
    public void setup() {
        grad = Spans.random(storage, size, 3);
    }

    @Benchmark
    public double scalarSumSquares() {
        return ScalarBackend.sumSquares(grad, 1f, 0, grad.length());
    }
}
