// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.AdamW;
import io.github.sgdsai.FloatSpan;
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

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Issue 16, part 4 (write-heavy passes): saving and restoring a checkpoint of one AdamW tensor of {@code size}
 * floats (two state buffers, {@code 8·size} bytes of state) beside what those bytes must cost at least: one copy
 * of them ({@code copy}, a read and a write of every byte) and the CRC32C the format carries ({@code crc}, one
 * read). Saving writes into a preallocated sink and loading reads from an in-memory stream, so the figures are the
 * library's own passes, not a file system's. Public API only, so an older build runs the same source.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms4g", "-Xmx12g"})
public class CheckpointBenchmark {
    @Param({"16777216"})
    public int size;
    @Param({"array"})
    public String storage;

    private Optimizer opt;
    private Sink sink;
    private byte[] saved;
    private byte[] copyTarget;

    /** An output stream into a preallocated array, reset before every save (no growth, no copies of its own). */
    static final class Sink extends OutputStream {
        final byte[] bytes;
        int size;

        Sink(int capacity) {
            bytes = new byte[capacity];
        }

        @Override
        public void write(int b) {
            bytes[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            System.arraycopy(b, off, bytes, size, len);
            size += len;
        }
    }

    @Setup
    public void setup() throws IOException {
        FloatSpan p = Spans.random(storage, size, 1);
        FloatSpan g = Spans.random(storage, size, 2);
        opt = AdamW.builder().lr(1e-7).backend("vector").threads(1).add("p", p, g).build();
        opt.step(); // allocates and fills m and v
        sink = new Sink(8 * size + (1 << 12));
        opt.save(sink);
        saved = java.util.Arrays.copyOf(sink.bytes, sink.size);
        copyTarget = new byte[saved.length];
    }

    /** {@link Optimizer#save} of the whole state. */
    @Benchmark
    public int save() throws IOException {
        sink.size = 0;
        opt.save(sink);
        return sink.size;
    }

    /** {@link Optimizer#load} of the same state (read, checked, then applied). */
    @Benchmark
    public long load() throws IOException {
        opt.load(new ByteArrayInputStream(saved));
        return opt.steps();
    }

    /** Baseline: one copy of the checkpoint's bytes (read and write every byte once). */
    @Benchmark
    public byte[] copy() {
        System.arraycopy(saved, 0, copyTarget, 0, saved.length);
        return copyTarget;
    }

    /** Baseline: the CRC32C of the checkpoint's bytes (read every byte once). */
    @Benchmark
    public long crc() {
        CRC32C c = new CRC32C();
        c.update(saved, 0, saved.length);
        return c.getValue();
    }

    @TearDown
    public void tearDown() {
        opt.close();
    }
}
