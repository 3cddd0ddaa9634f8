// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.Backends;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.StepBatch;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The read-only kernels, 4 bytes per element each pass: the g-SNR moments (two passes over the gradient) and
 * the non-finite check (one pass).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class GsnrBenchmark {
    @Param({"1024", "4096", "16384", "65536", "262144", "1048576", "4194304", "16777216", "67108864"})
    public int size;
    @Param({"array", "direct"})
    public String storage;
    @Param({"scalar", "vector-1", "vector-all"})
    public String impl;

    private Backend backend;
    private FloatSpan grad;
    private StepBatch batch;
    private final double[] out = new double[2];
    private Spans.Device device;

    @Setup
    public void setup() {
        backend = Backends.create(Spans.backend(impl), new BackendOptions(Spans.threads(impl)));
        batch = new StepBatch(1);
        if (Spans.onDevice(impl)) { // the gradient in the device's memory (tornado-device)
            device = Spans.device(size, 3);
            grad = device.grad();
            batch.add(device.param(), grad, null);
        } else {
            grad = Spans.random(storage, size, 3);
            batch.add(Spans.random(storage, size, 4), grad, null);
        }
    }

    /** Both passes of the g-SNR reduction. */
    @Benchmark
    public double moments() {
        backend.moments(grad, out);
        return out[1];
    }

    /** The non-finite gradient check of a step. */
    @Benchmark
    public int check() {
        return backend.firstNonFiniteTensor(batch);
    }

    @TearDown
    public void tearDown() {
        backend.close();
        if (device != null) {
            device.close();
        }
    }
}
