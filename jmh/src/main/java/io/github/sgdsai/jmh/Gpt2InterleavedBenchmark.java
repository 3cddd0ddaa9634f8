// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.Optimizer;
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

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The seed's "shortest optimizer step" claim at every GPT-2 size, as ratios measured in one JVM: SGD-SaI, AdamW and
 * (where it fits) Adam-mini step the same GPT-2 parameter and gradient arrays ({@link Gpt2Model}), each with its own
 * state, one after the other in every invocation (default checked step, vector backend). Each optimizer's
 * nanoseconds go to its own counter ({@code sgdSaiNs}, {@code adamwNs}, {@code adamMiniNs}; {@code steps} counts the
 * invocations), so the ratios compare the optimizers on the same memory at the same moment. {@link Gpt2Run} measures
 * each optimizer in a fork of its own beside a same-traffic baseline; that needs 14 forks per model, and at GPT-2
 * large every fork spends minutes receiving fresh memory from this VM, so for medium and large this one fork per
 * (model, threads) is what fits. Sharing p and g keeps GPT-2 large at 20 B/param (15.5 GB): the optimizers update
 * the same parameters with lr 1e-3, which changes the values, not the work.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 3)
@Measurement(iterations = 4, time = 3)
@Fork(value = 1, jvmArgs = {"-Xmx21g", "-Xmn1g", "-XX:+UseParallelGC"}, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Gpt2InterleavedBenchmark {
    @Param({"small", "medium", "large"})
    public String model;
    @Param({"1", "2"})
    public int threads;
    /** Adam-mini joins below this model size only (its state would not fit beside the others at GPT-2 large). */
    @Param({"large"})
    public String adamMiniBelow;

    private Optimizer sgdSai;
    private Optimizer adamw;
    private Optimizer adamMini;

    /** Nanoseconds per optimizer during the iteration, and the number of invocations (JMH sums them). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Times {
        public long sgdSaiNs;
        public long adamwNs;
        public long adamMiniNs;
        public long steps;

        @Setup(Level.Iteration)
        public void reset() {
            sgdSaiNs = 0;
            adamwNs = 0;
            adamMiniNs = 0;
            steps = 0;
        }
    }

    @Setup
    public void setup() {
        Gpt2Shapes.Model m = Gpt2Shapes.Model.of(model);
        Gpt2Model data = new Gpt2Model(m);
        sgdSai = data.build("sgd-sai", threads, true);
        adamw = data.build("adamw", threads, true);
        boolean mini = Gpt2Shapes.parameters(m) < Gpt2Shapes.parameters(Gpt2Shapes.Model.of(adamMiniBelow));
        adamMini = mini ? data.build("adam-mini", threads, true) : null;
        for (Optimizer o : Arrays.asList(sgdSai, adamw, adamMini)) {
            if (o != null) {
                o.step(); // the first step: SGD-SaI's g-SNR, and every optimizer allocates its state
            }
        }
        System.out.printf(Locale.ROOT, "%n%s, %d threads: %,d parameters; state B/param SGD-SaI %.3f, AdamW %.3f%s%n",
                model, threads, data.parameters(), (double) sgdSai.stateBufferBytes() / data.parameters(),
                (double) adamw.stateBufferBytes() / data.parameters(),
                mini ? String.format(Locale.ROOT, ", Adam-mini %.3f", (double) adamMini.stateBufferBytes() / data.parameters())
                        : "");
    }

    /** One step of each optimizer, timed separately. */
    @Benchmark
    public boolean steps(Times t) {
        long t0 = System.nanoTime();
        boolean a = sgdSai.step();
        long t1 = System.nanoTime();
        boolean b = adamw.step();
        long t2 = System.nanoTime();
        boolean c = adamMini == null || adamMini.step();
        long t3 = System.nanoTime();
        t.sgdSaiNs += t1 - t0;
        t.adamwNs += t2 - t1;
        t.adamMiniNs += adamMini == null ? 0 : t3 - t2;
        t.steps++;
        return a & b & c;
    }

    @TearDown
    public void tearDown() {
        for (Optimizer o : Arrays.asList(sgdSai, adamw, adamMini)) {
            if (o != null) {
                o.close();
            }
        }
    }
}
