// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.SgdSai;
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
 * One optimizer step (after the first) of one tensor: reads p, g, m and writes p, m, 20 bytes per parameter.
 * {@code check=checked} is the default policy (look for NaN/Inf first), {@code unchecked} the update alone.
 * {@code impl=tornado} copies p and g to the device and p back each step; {@code impl=tornado-device} steps
 * device-resident tensors (needs the tornado backend in the jar and a JVM started with TornadoVM's argfile).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class StepBenchmark {
    @Param({"1024", "4096", "16384", "65536", "262144", "1048576", "4194304", "16777216", "67108864"})
    public int size;
    @Param({"array", "direct"})
    public String storage;
    @Param({"scalar", "vector-1", "vector-all"})
    public String impl;
    @Param({"unchecked", "checked"})
    public String check;

    private SgdSai opt;
    private Spans.Device device;

    @Setup
    public void setup() {
        FloatSpan p;
        FloatSpan g;
        if (Spans.onDevice(impl)) { // storage is the device's memory, whatever the storage parameter says
            device = Spans.device(size, 1);
            p = device.param();
            g = device.grad();
        } else {
            p = Spans.random(storage, size, 1);
            g = Spans.random(storage, size, 2);
        }
        opt = SgdSai.builder().lr(1e-7).backend(Spans.backend(impl)).threads(Spans.threads(impl))
                .nonFinite(check.equals("checked") ? NonFinitePolicy.THROW : NonFinitePolicy.UNCHECKED)
                .add("p", p, g).build();
        opt.step(); // the first step computes g-SNR and allocates the momentum buffer
    }

    @Benchmark
    public boolean step() {
        return opt.step();
    }

    @TearDown
    public void tearDown() {
        opt.close();
        if (device != null) {
            device.close();
        }
    }
}
