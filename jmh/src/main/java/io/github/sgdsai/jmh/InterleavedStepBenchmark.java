// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.SgdSai;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * Issue 16: the unchecked, checked and checked+clipped SgdSai steps of {@code CheckedStepBenchmark}, interleaved in
 * one JVM: every invocation steps three optimizers (each on its own tensor of {@code size} floats, so none reads
 * another's data from cache), one after the other, and adds each one's nanoseconds to its own counter. JMH reports
 * the counters per iteration ({@code uncheckedNs}, {@code checkedNs}, {@code clippedNs}); their ratios compare the
 * three steps under the same conditions, where separate forks differ by more than the effect (on this VM one fork's
 * memory can be 30 % slower than another's). Public API only, so an older build runs the same source.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms4g", "-Xmx12g"})
public class InterleavedStepBenchmark {
    @Param({"67108864"})
    public int size;
    @Param({"array"})
    public String storage;
    @Param({"1", "2"})
    public int threads;

    private SgdSai unchecked;
    private SgdSai checked;
    private SgdSai clipped;

    /** Nanoseconds spent in each kind of step during the iteration (JMH sums events over the iteration). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public long uncheckedNs;
        public long checkedNs;
        public long clippedNs;

        @Setup(Level.Iteration)
        public void reset() {
            uncheckedNs = 0;
            checkedNs = 0;
            clippedNs = 0;
        }
    }

    @Setup
    public void setup() {
        unchecked = CheckedStepBenchmark.build(storage, size, threads, "unchecked", 1);
        checked = CheckedStepBenchmark.build(storage, size, threads, "checked", 3);
        clipped = CheckedStepBenchmark.build(storage, size, threads, "clipped", 5);
    }

    /** One step of each, timed separately. */
    @Benchmark
    public boolean steps(Times t) {
        long t0 = System.nanoTime();
        boolean a = unchecked.step();
        long t1 = System.nanoTime();
        boolean b = checked.step();
        long t2 = System.nanoTime();
        boolean c = clipped.step();
        long t3 = System.nanoTime();
        t.uncheckedNs += t1 - t0;
        t.checkedNs += t2 - t1;
        t.clippedNs += t3 - t2;
        return a & b & c;
    }

    @TearDown
    public void tearDown() {
        unchecked.close();
        checked.close();
        clipped.close();
    }
}
