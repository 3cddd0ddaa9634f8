// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.cpu.VectorBackend;
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

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The same-traffic baselines of {@link Gpt2StepBenchmark}: trivial vector kernels over the same GPT-2 tensors (same
 * arrays, same fill) that move the bytes per parameter of the optimizer's step, with its passes, split into the
 * vector backend's work items (chunks of {@link VectorBackend#CHUNK} elements of big tensors, runs of small
 * tensors packed together) and run on {@code threads} threads (the caller's included), as the backend does:
 * <ul>
 *   <li>{@code sgd} (SGD-SaI and SGDM): {@code m = m/2 + g; p -= s·m}: reads p, g, m, writes p, m (20 B/param);</li>
 *   <li>{@code adamw}: the same plus {@code v = v/2 + g²}: reads p, g, m, v, writes p, m, v (28 B/param);</li>
 *   <li>{@code adam-mini}: per second-moment block (as {@code modelShape(d, heads)} assigns them) Σg² over the block,
 *       {@code v_B = v_B/2 + Σg²/|B|}, then {@code m = m/2 + g; p -= s(v_B)·m} (20 B/param plus 8 B per block; a
 *       block bigger than a work item, such as a whole {@code attn.c_attn.weight}, is summed in a pass of its own
 *       first, reading g twice, as the optimizer must); per-element blocks (biases) as {@code adamw}.</li>
 * </ul>
 * With {@code check=checked} a read pass over every gradient comes first (4 B/param), as in the optimizer's default
 * checked step. {@link Gpt2Shapes#trafficBytes} counts these bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx20g", "-Xmn1g", "-XX:+UseParallelGC"}, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class Gpt2BaselineBenchmark {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int CHUNK = VectorBackend.CHUNK;
    private static final float HALF = 0.5f;
    private static final float STEP = 1e-3f;

    @Param({"small", "medium", "large"})
    public String model;
    /** {@code sgd} (SGD-SaI, SGDM), {@code adamw} or {@code adam-mini}. */
    @Param({"sgd", "adamw", "adam-mini"})
    public String traffic;
    @Param({"1", "2"})
    public int threads;
    @Param({"checked"})
    public String check;

    private Gpt2Model data;
    private float[][] p;
    private float[][] g;
    private float[][] m;
    /** Per element (adamw, and adam-mini's per-element blocks) or per block (adam-mini); null for sgd. */
    private float[][] v;
    /** Second-moment block size per tensor: 1 = per element. */
    private int[] block;
    /** Per block of the tensors whose blocks are bigger than a work item: the step scale from its v_B. */
    private float[][] bigScale;

    // Item k: tensors [itemTensorFrom[k], itemTensorTo[k]) whole, or elements [itemFrom[k], itemTo[k]) of itemTensorFrom[k].
    private int items;
    private int[] itemTensorFrom = new int[16];
    private int[] itemTensorTo = new int[16];
    private int[] itemFrom = new int[16];
    private int[] itemTo = new int[16];
    private float[] partial;
    // Sum item j: elements [sumFrom[j], sumTo[j]) of tensor sumTensor[j], inside one big block.
    private int sumItems;
    private int[] sumTensor = new int[16];
    private int[] sumFrom = new int[16];
    private int[] sumTo = new int[16];
    private float[] sumPartial;

    private boolean checked;
    private ExecutorService pool;

    @Setup
    public void setup() {
        data = new Gpt2Model(Gpt2Shapes.Model.of(model));
        List<Gpt2Shapes.Tensor> ts = data.tensors;
        int n = ts.size();
        p = data.param;
        g = data.grad;
        m = new float[n][];
        v = traffic.equals("sgd") ? null : new float[n][];
        block = new int[n];
        bigScale = new float[n][];
        for (int t = 0; t < n; t++) {
            int len = ts.get(t).length();
            m[t] = new float[len];
            block[t] = traffic.equals("adam-mini") ? Gpt2Shapes.adamMiniBlock(data.model, ts.get(t)) : 1;
            if (v != null) {
                v[t] = new float[len / block[t]];
            }
            if (block[t] > CHUNK) {
                bigScale[t] = new float[len / block[t]];
            }
        }
        plan();
        checked = check.equals("checked");
        pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
            Thread th = new Thread(r, "gpt2-baseline");
            th.setDaemon(true);
            return th;
        }) : null;
        step(); // like the optimizer's first step, outside the measurement
    }

    @TearDown
    public void tearDown() {
        if (pool != null) {
            pool.shutdownNow();
        }
        data = null;
        p = g = m = v = null;
    }

    /** Work items as the vector backend cuts them; items of a tensor with blocks smaller than a chunk end on block ends. */
    private void plan() {
        int n = p.length;
        int t = 0;
        while (t < n) {
            int len = p[t].length;
            if (len >= CHUNK) {
                int b = block[t];
                int step = b > CHUNK ? CHUNK : (CHUNK / b) * b;
                for (int f = 0; f < len; f += step) {
                    addItem(t, t + 1, f, Math.min(len, f + step));
                }
                if (b > CHUNK) {
                    for (int f = 0; f < len; f += b) { // each big block in chunks
                        for (int s = f; s < f + b; s += CHUNK) {
                            addSumItem(t, s, Math.min(f + b, s + CHUNK));
                        }
                    }
                }
                t++;
            } else {
                int start = t;
                long packed = 0;
                while (t < n && packed < CHUNK && p[t].length < CHUNK) {
                    packed += p[t].length;
                    t++;
                }
                addItem(start, t, -1, -1);
            }
        }
        partial = new float[items];
        sumPartial = new float[sumItems];
    }

    private void addItem(int tFrom, int tTo, int f, int e) {
        if (items == itemTensorFrom.length) {
            itemTensorFrom = Arrays.copyOf(itemTensorFrom, 2 * items);
            itemTensorTo = Arrays.copyOf(itemTensorTo, 2 * items);
            itemFrom = Arrays.copyOf(itemFrom, 2 * items);
            itemTo = Arrays.copyOf(itemTo, 2 * items);
        }
        itemTensorFrom[items] = tFrom;
        itemTensorTo[items] = tTo;
        itemFrom[items] = f;
        itemTo[items] = e;
        items++;
    }

    private void addSumItem(int t, int f, int e) {
        if (sumItems == sumTensor.length) {
            sumTensor = Arrays.copyOf(sumTensor, 2 * sumItems);
            sumFrom = Arrays.copyOf(sumFrom, 2 * sumItems);
            sumTo = Arrays.copyOf(sumTo, 2 * sumItems);
        }
        sumTensor[sumItems] = t;
        sumFrom[sumItems] = f;
        sumTo[sumItems] = e;
        sumItems++;
    }

    /** Runs {@code job} for 0 .. count-1 on {@code threads} threads, the caller's included; items claimed from a counter. */
    private void parallel(IntConsumer job, int count) {
        if (pool == null) {
            for (int k = 0; k < count; k++) {
                job.accept(k);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int k; (k = next.getAndIncrement()) < count; ) {
                job.accept(k);
            }
        };
        Future<?>[] fs = new Future<?>[threads - 1];
        for (int w = 0; w < fs.length; w++) {
            fs[w] = pool.submit(worker);
        }
        worker.run();
        try {
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** One step's traffic: [check pass over g] [big blocks' Σg² pass] update pass. */
    @Benchmark
    public float step() {
        if (checked) {
            parallel(this::checkItem, items);
        }
        if (sumItems > 0) {
            parallel(k -> sumPartial[k] = sumSquares(g[sumTensor[k]], sumFrom[k], sumTo[k]), sumItems);
            combineBigBlocks();
        }
        parallel(this::updateItem, items);
        float s = 0;
        for (float x : partial) {
            s += x;
        }
        return s;
    }

    private void checkItem(int k) {
        float s = 0;
        if (itemFrom[k] < 0) {
            for (int t = itemTensorFrom[k]; t < itemTensorTo[k]; t++) {
                s += sum(g[t], 0, g[t].length);
            }
        } else {
            s = sum(g[itemTensorFrom[k]], itemFrom[k], itemTo[k]);
        }
        partial[k] = s;
    }

    /** Merges the chunk sums of every big block, in order, into its v_B and step scale. */
    private void combineBigBlocks() {
        int j = 0;
        while (j < sumItems) {
            int t = sumTensor[j];
            int b = block[t];
            int blk = sumFrom[j] / b;
            float sq = 0;
            while (j < sumItems && sumTensor[j] == t && sumFrom[j] / b == blk) {
                sq += sumPartial[j++];
            }
            float vb = v[t][blk] * HALF + sq / b;
            v[t][blk] = vb;
            bigScale[t][blk] = STEP / (1f + vb);
        }
    }

    private void updateItem(int k) {
        if (itemFrom[k] < 0) {
            for (int t = itemTensorFrom[k]; t < itemTensorTo[k]; t++) {
                update(t, 0, p[t].length);
            }
        } else {
            update(itemTensorFrom[k], itemFrom[k], itemTo[k]);
        }
    }

    private void update(int t, int f, int e) {
        if (v == null) {
            sgd(p[t], g[t], m[t], STEP, f, e);
            return;
        }
        int b = block[t];
        if (b == 1) {
            adamw(p[t], g[t], m[t], v[t], f, e);
        } else if (b > CHUNK) {
            for (int s = f; s < e; ) {
                int blk = s / b;
                int be = Math.min(e, (blk + 1) * b);
                sgd(p[t], g[t], m[t], bigScale[t][blk], s, be);
                s = be;
            }
        } else {
            for (int s = f; s < e; s += b) {
                int blk = s / b;
                float vb = v[t][blk] * HALF + sumSquares(g[t], s, s + b) / b;
                v[t][blk] = vb;
                sgd(p[t], g[t], m[t], STEP / (1f + vb), s, s + b);
            }
        }
    }

    private static int bound(int from, int to) {
        return from + F.loopBound(to - from);
    }

    /** m = m/2 + g; p -= step·m. */
    private static void sgd(float[] p, float[] g, float[] m, float step, int from, int to) {
        FloatVector half = FloatVector.broadcast(F, HALF);
        FloatVector neg = FloatVector.broadcast(F, -step);
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) {
            FloatVector mv = FloatVector.fromArray(F, m, i).fma(half, FloatVector.fromArray(F, g, i));
            mv.intoArray(m, i);
            mv.fma(neg, FloatVector.fromArray(F, p, i)).intoArray(p, i);
        }
        for (int i = end; i < to; i++) {
            m[i] = Math.fma(m[i], HALF, g[i]);
            p[i] = Math.fma(m[i], -step, p[i]);
        }
    }

    /** m = m/2 + g; v = v/2 + g²; p -= STEP·m (v is read and written, not used: the traffic, not the arithmetic). */
    private static void adamw(float[] p, float[] g, float[] m, float[] v, int from, int to) {
        FloatVector half = FloatVector.broadcast(F, HALF);
        FloatVector neg = FloatVector.broadcast(F, -STEP);
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) {
            FloatVector gv = FloatVector.fromArray(F, g, i);
            FloatVector mv = FloatVector.fromArray(F, m, i).fma(half, gv);
            mv.intoArray(m, i);
            gv.fma(gv, FloatVector.fromArray(F, v, i).mul(half)).intoArray(v, i);
            mv.fma(neg, FloatVector.fromArray(F, p, i)).intoArray(p, i);
        }
        for (int i = end; i < to; i++) {
            m[i] = Math.fma(m[i], HALF, g[i]);
            v[i] = Math.fma(g[i], g[i], v[i] * HALF);
            p[i] = Math.fma(m[i], -STEP, p[i]);
        }
    }

    private static float sum(float[] a, int from, int to) {
        FloatVector acc = FloatVector.zero(F);
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) {
            acc = acc.add(FloatVector.fromArray(F, a, i));
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int i = end; i < to; i++) {
            s += a[i];
        }
        return s;
    }

    private static float sumSquares(float[] a, int from, int to) {
        FloatVector acc = FloatVector.zero(F);
        int end = bound(from, to);
        for (int i = from; i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            acc = x.fma(x, acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int i = end; i < to; i++) {
            s = Math.fma(a[i], a[i], s);
        }
        return s;
    }
}
