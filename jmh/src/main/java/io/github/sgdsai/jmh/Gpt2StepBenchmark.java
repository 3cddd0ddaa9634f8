// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.Optimizer;
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

import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One optimizer step (after the first) over every tensor of a GPT-2 model ({@link Gpt2Shapes}: 148 to 436 tensors
 * from 768 to 64 M floats), as a training loop calls it: the default checked step ({@code NonFinitePolicy.THROW}),
 * {@code backend} backend (default {@code vector}; {@code tornado}: host-resident tensors copied to the device and
 * back every step, which needs backend-tornado in the jar and TornadoVM's argfile in the fork, e.g.
 * {@code -jvmArgsPrepend @argfile}; {@code threads} has no effect there), {@code threads} threads. Gradients are filled once (standard normals, fixed seeds); the first step
 * (SGD-SaI's g-SNR, state allocation) runs in the setup. {@link Gpt2BaselineBenchmark} is the same-traffic baseline.
 * Scores are ms per step. Each (model, optimizer, threads) gets its own fork, so one model's arrays (GPT-2 large with
 * AdamW: 12.4 GB) are alive at a time. Forks get {@code -Xmx20g -Xmn1g -XX:+UseParallelGC} from {@code @Fork(jvmArgs)}
 * (a {@code -jvmArgs} option replaces them): ParallelGC keeps each array in exactly its bytes, where G1 rounds every
 * array of more than half a region up to whole regions (8 MB at this heap size), which costs 3.2 GB at GPT-2
 * large with AdamW; a step allocates nothing, so the collector does not enter the step time and {@code --add-modules jdk.incubator.vector} from {@code jvmArgsAppend} (a {@code -jvmArgsAppend}
 * option replaces that: repeat it there).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx20g", "-Xmn1g", "-XX:+UseParallelGC"}, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Gpt2StepBenchmark {
    @Param({"small", "medium", "large"})
    public String model;
    @Param({"sgd-sai", "sgdm", "adamw", "adam-mini"})
    public String optimizer;
    @Param({"1", "2"})
    public int threads;
    /** {@code vector} (the default) or {@code tornado}. */
    @Param({"vector"})
    public String backend;
    /** {@code checked}: the default non-finite check before the update; {@code unchecked}: the update alone. */
    @Param({"checked"})
    public String check;

    private Gpt2Model data;
    private Optimizer opt;

    @Setup
    public void setup() {
        data = new Gpt2Model(Gpt2Shapes.Model.of(model));
        opt = data.build(optimizer, backend, threads, check.equals("checked"));
        opt.step(); // the first step: SGD-SaI's g-SNR, and every optimizer allocates its state
        System.out.printf(Locale.ROOT, "%n%s %s (%s): %d tensors, %,d parameters, stateBufferBytes %,d (%.3f B/param)%n",
                model, optimizer, backend, data.tensors.size(), data.parameters(), opt.stateBufferBytes(),
                (double) opt.stateBufferBytes() / data.parameters());
    }

    @Benchmark
    public boolean step() {
        return opt.step();
    }

    @TearDown
    public void tearDown() {
        opt.close();
        opt = null;
        data = null;
    }
}
