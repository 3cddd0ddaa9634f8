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
 * Issue 16: one SgdSai step (after the first) of one tensor on the vector backend, {@code mode} = {@code unchecked}
 * (the update alone: read p, g, m, write p, m), {@code checked} (the non-finite check first: one more read of g) or
 * {@code clipped} (check and clipping norm in one read of g, then the update with the gradient scaled). Uses the
 * public API only, so the same source runs against an older build for before/after numbers.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class CheckedStepBenchmark {
    @Param({"67108864"})
    public int size;
    @Param({"array"})
    public String storage;
    @Param({"1", "2"})
    public int threads;
    @Param({"unchecked", "checked", "clipped"})
    public String mode;

    private SgdSai opt;

    @Setup
    public void setup() {
        opt = build(storage, size, threads, mode, 1);
    }

    /**
     * An SgdSai over one tensor of {@code size} random floats (parameters from {@code seed}, gradients from
     * {@code seed + 1}) stepped once, in {@code mode} ({@code unchecked}, {@code checked} or {@code clipped}).
     */
    static SgdSai build(String storage, int size, int threads, String mode, long seed) {
        FloatSpan p = Spans.random(storage, size, seed);
        FloatSpan g = Spans.random(storage, size, seed + 1);
        SgdSai.Builder b = SgdSai.builder().lr(1e-7).backend("vector").threads(threads)
                .nonFinite(mode.equals("unchecked") ? NonFinitePolicy.UNCHECKED : NonFinitePolicy.THROW);
        if (mode.equals("clipped")) {
            b.clipGradNorm(1.0); // the norm of 2^26 values in [-1, 1) is far above 1: every step is scaled
        }
        SgdSai opt = b.add("p", p, g).build();
        opt.step(); // the first step computes g-SNR and allocates the momentum buffer
        return opt;
    }

    @Benchmark
    public boolean step() {
        return opt.step();
    }

    @TearDown
    public void tearDown() {
        opt.close();
    }
}
