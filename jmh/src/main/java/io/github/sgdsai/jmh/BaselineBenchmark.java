// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.cpu.VectorBackend;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
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

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Memory baselines measured in the same run as the kernels, with the same storage, sizes and threads:
 * <ul>
 *   <li>{@code sameTraffic}: {@code m += g; p += m} — reads p, g, m and writes p, m like the update (20 B/elem),
 *       with trivial arithmetic: the roofline for exactly the update's access pattern;</li>
 *   <li>{@code read}: a vector sum of one array (4 B/elem), the roofline of the reductions;</li>
 *   <li>{@code copy} (8 B/elem) and {@code triad} {@code a = b + s·c} (12 B/elem), STREAM-style, for context.</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class BaselineBenchmark {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** The vector backend's work-item size and parallel threshold, so both split work the same way. */
    private static final int CHUNK = VectorBackend.CHUNK;

    @Param({"1024", "4096", "16384", "65536", "262144", "1048576", "4194304", "16777216", "67108864"})
    public int size;
    @Param({"array", "direct"})
    public String storage;
    @Param({"1", "all"})
    public String threads;

    private FloatSpan a;
    private FloatSpan b;
    private FloatSpan c;
    private ExecutorService pool;
    private int nThreads;
    private float[] partial;

    /** One kernel over elements [from, to); returns a value to keep reads alive. */
    private interface Kernel {
        float run(int from, int to);
    }

    @Setup
    public void setup() {
        a = Spans.random(storage, size, 5);
        b = Spans.random(storage, size, 6);
        c = Spans.random(storage, size, 7);
        nThreads = Spans.threads(threads);
        pool = nThreads > 1 ? Executors.newFixedThreadPool(nThreads - 1, r -> {
            Thread t = new Thread(r, "baseline");
            t.setDaemon(true);
            return t;
        }) : null;
        partial = new float[(size + CHUNK - 1) / CHUNK];
    }

    @TearDown
    public void tearDown() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    /** Runs {@code k} over chunks of CHUNK elements on {@code nThreads} threads; sums the chunk results. */
    private float parallel(Kernel k) {
        int chunks = partial.length;
        if (pool == null || size < 4 * CHUNK) {
            for (int i = 0; i < chunks; i++) {
                partial[i] = k.run(i * CHUNK, Math.min(size, (i + 1) * CHUNK));
            }
        } else {
            AtomicInteger next = new AtomicInteger();
            Callable<Void> worker = () -> {
                for (int i; (i = next.getAndIncrement()) < chunks; ) {
                    partial[i] = k.run(i * CHUNK, Math.min(size, (i + 1) * CHUNK));
                }
                return null;
            };
            List<Future<Void>> fs = new ArrayList<>();
            for (int t = 1; t < nThreads; t++) {
                fs.add(pool.submit(worker));
            }
            try {
                worker.call();
                for (Future<Void> f : fs) {
                    f.get();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        float s = 0;
        for (float x : partial) {
            s += x;
        }
        return s;
    }

    private static FloatVector load(FloatSpan s, int i) {
        return s.hasArray() ? FloatVector.fromArray(F, s.array(), s.arrayOffset() + i)
                : FloatVector.fromMemorySegment(F, s.segment(), 4L * i, ByteOrder.nativeOrder());
    }

    private static void store(FloatVector v, FloatSpan s, int i) {
        if (s.hasArray()) {
            v.intoArray(s.array(), s.arrayOffset() + i);
        } else {
            v.intoMemorySegment(s.segment(), 4L * i, ByteOrder.nativeOrder());
        }
    }

    private static int bound(int from, int to) {
        return from + F.loopBound(to - from);
    }

    /** m += g; p += m with p = a, g = b, m = c. */
    @Benchmark
    public float sameTraffic() {
        return parallel((from, to) -> {
            if (a.hasArray()) {
                sameTrafficArrays(a.array(), b.array(), c.array(), from, to);
            } else {
                sameTrafficSegments(from, to);
            }
            return 0f;
        });
    }

    private static void sameTrafficArrays(float[] p, float[] g, float[] m, int from, int to) {
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) { // vector body
            FloatVector mv = FloatVector.fromArray(F, m, i).add(FloatVector.fromArray(F, g, i));
            mv.intoArray(m, i);
            FloatVector.fromArray(F, p, i).add(mv).intoArray(p, i);
        }
        for (int i = end; i < to; i++) { // tail
            m[i] += g[i];
            p[i] += m[i];
        }
    }

    private void sameTrafficSegments(int from, int to) {
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) { // vector body
            FloatVector m = load(c, i).add(load(b, i));
            store(m, c, i);
            store(load(a, i).add(m), a, i);
        }
        for (int i = end; i < to; i++) { // tail
            float m = c.get(i) + b.get(i);
            c.set(i, m);
            a.set(i, a.get(i) + m);
        }
    }

    /** Σ a. */
    @Benchmark
    public float read() {
        return parallel((from, to) -> {
            int end = bound(from, to);
            FloatVector acc = FloatVector.zero(F);
            for (int i = from; i < end; i += F.length()) {
                acc = acc.add(load(a, i));
            }
            float s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
            for (int i = end; i < to; i++) {
                s += a.get(i);
            }
            return s;
        });
    }

    /** a = b. */
    @Benchmark
    public float copy() {
        return parallel((from, to) -> {
            int end = bound(from, to);
            for (int i = from; i < end; i += F.length()) {
                store(load(b, i), a, i);
            }
            for (int i = end; i < to; i++) {
                a.set(i, b.get(i));
            }
            return 0f;
        });
    }

    /** a = b + 0.5·c. */
    @Benchmark
    public float triad() {
        return parallel((from, to) -> {
            int end = bound(from, to);
            for (int i = from; i < end; i += F.length()) {
                store(load(c, i).fma(FloatVector.broadcast(F, 0.5f), load(b, i)), a, i);
            }
            for (int i = end; i < to; i++) {
                a.set(i, Math.fma(c.get(i), 0.5f, b.get(i)));
            }
            return 0f;
        });
    }
}
