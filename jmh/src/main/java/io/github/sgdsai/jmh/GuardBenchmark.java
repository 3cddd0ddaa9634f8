// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

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

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * Issue 19, item 3: what the guard against concurrent use costs. Every {@code step()} (and {@code save}, {@code load},
 * {@code close}) claims the optimizer with one compare-and-set and releases it with one release store;
 * {@code guard} is exactly that pair on a field of its own, {@code step} an unchecked SGD-SaI step (one thread) over
 * one tensor of {@code size} floats, guard included. Their ratio is the guard's share of a step.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GuardBenchmark {
    private static final VarHandle BUSY;

    static {
        try {
            BUSY = MethodHandles.lookup().findVarHandle(GuardBenchmark.class, "busy", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @Param({"1024", "65536"})
    public int size;

    @SuppressWarnings("unused")
    private volatile int busy;
    private SgdSai opt;

    @Setup
    public void setUp() {
        float[] p = new float[size];
        float[] g = new float[size];
        for (int i = 0; i < size; i++) {
            g[i] = (float) Math.sin(i);
        }
        opt = SgdSai.builder().lr(1e-6).threads(1).nonFinite(NonFinitePolicy.UNCHECKED).add("w", p, g).build();
        opt.step();
    }

    @TearDown
    public void tearDown() {
        opt.close();
    }

    @Benchmark
    public boolean step() {
        return opt.step();
    }

    @Benchmark
    public boolean guard() {
        boolean claimed = BUSY.compareAndSet(this, 0, 1);
        BUSY.setRelease(this, 0);
        return claimed;
    }
}
