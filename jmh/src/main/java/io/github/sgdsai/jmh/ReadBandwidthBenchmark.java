// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.cpu.VectorBackend;
import io.github.sgdsai.spi.StepBatch;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Issue 16: the read-only passes against read-only baselines of the same bytes, with {@code streams} = 1, 2 or 4
 * independent read streams per thread.
 * <ul>
 *   <li>{@code read}: a vector sum over the gradient, each work item of {@link VectorBackend#CHUNK} floats read as
 *       {@code streams} interleaved sub-ranges (4 loads per iteration in every case): the roofline of a one-pass
 *       read-only kernel with that many streams;</li>
 *   <li>{@code check}: {@link VectorBackend#firstNonFiniteTensor(StepBatch)} (1 pass);</li>
 *   <li>{@code sumSquares}: {@link VectorBackend#firstNonFiniteTensor(StepBatch, double[])}, the check plus the
 *       clipping norm's sums of squares (1 pass);</li>
 *   <li>{@code moments}: the g-SNR moments (2 passes: compare with twice {@code read}).</li>
 * </ul>
 * {@code streams=1} is the previous release's single-stream kernels for check and moments (bit-identical results).
 * {@link ReadBeforeBenchmark} has the previous release's sums of squares (the scalar default of the SPI).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx12g"})
public class ReadBandwidthBenchmark {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int CHUNK = VectorBackend.CHUNK;

    @Param({"67108864"})
    public int size;
    @Param({"array"})
    public String storage;
    @Param({"1", "2"})
    public int threads;
    @Param({"1", "2", "4"})
    public int streams;

    private FloatSpan grad;
    private StepBatch batch;
    private VectorBackend backend;
    private final double[] sums = new double[1];
    private final double[] out = new double[2];
    private ExecutorService pool;
    private float[] partial;

    @Setup
    public void setup() {
        grad = Spans.random(storage, size, 3);
        batch = new StepBatch(1);
        batch.add(grad, grad, null); // only the gradient is read (the parameter only sets the length)
        backend = new VectorBackend(threads, streams);
        pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "read-baseline");
            t.setDaemon(true);
            return t;
        }) : null;
        partial = new float[(size + CHUNK - 1) / CHUNK];
    }

    @TearDown
    public void tearDown() {
        backend.close();
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    /** Σ g, each chunk read as {@code streams} interleaved sub-ranges. */
    @Benchmark
    public float read() {
        int chunks = partial.length;
        if (pool == null) {
            for (int i = 0; i < chunks; i++) {
                partial[i] = readChunk(i);
            }
        } else {
            AtomicInteger next = new AtomicInteger();
            Callable<Void> worker = () -> {
                for (int i; (i = next.getAndIncrement()) < chunks; ) {
                    partial[i] = readChunk(i);
                }
                return null;
            };
            List<Future<Void>> fs = new ArrayList<>();
            for (int t = 1; t < threads; t++) {
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

    private float readChunk(int c) {
        int from = c * CHUNK;
        int to = Math.min(size, from + CHUNK);
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        int part = (to - from) / streams / (4 / streams * L) * (4 / streams * L);
        int b = from, d = from + part;
        if (streams == 1) {
            for (int i = 0; i < part; i += 4 * L) {
                a0 = a0.add(load(b + i));
                a1 = a1.add(load(b + i + L));
                a2 = a2.add(load(b + i + 2 * L));
                a3 = a3.add(load(b + i + 3 * L));
            }
        } else if (streams == 2) {
            for (int i = 0; i < part; i += 2 * L) {
                a0 = a0.add(load(b + i));
                a1 = a1.add(load(d + i));
                a2 = a2.add(load(b + i + L));
                a3 = a3.add(load(d + i + L));
            }
        } else {
            int e = d + part, h = e + part;
            for (int i = 0; i < part; i += L) {
                a0 = a0.add(load(b + i));
                a1 = a1.add(load(d + i));
                a2 = a2.add(load(e + i));
                a3 = a3.add(load(h + i));
            }
        }
        float s = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (int i = from + streams * part; i < to; i++) {
            s += grad.get(i);
        }
        return s;
    }

    private FloatVector load(int i) {
        return grad.hasArray() ? FloatVector.fromArray(F, grad.array(), grad.arrayOffset() + i)
                : FloatVector.fromMemorySegment(F, grad.segment(), 4L * i, grad.order());
    }

    /** The non-finite check (1 pass). */
    @Benchmark
    public int check() {
        return backend.firstNonFiniteTensor(batch);
    }

    /** The check with the clipping norm's sums of squares (1 pass). */
    @Benchmark
    public double sumSquares() {
        backend.firstNonFiniteTensor(batch, sums);
        return sums[0];
    }

    /** The g-SNR moments (2 passes). */
    @Benchmark
    public double moments() {
        backend.moments(grad, out);
        return out[1];
    }
}
