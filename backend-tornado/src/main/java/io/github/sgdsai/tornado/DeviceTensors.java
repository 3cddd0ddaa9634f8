// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Device-resident tensors: parameters, gradients and optimizer state that live in a TornadoVM device's memory, for
 * code whose gradients are computed on the device, so that an optimizer step moves no tensor data over the bus.
 *
 * <p>All tensors are packed into {@link FloatArray}s ({@link #params()}, {@link #grads()}, and the optimizer state,
 * which the optimizer alone uses: the momentum or Adam's m, and Adam's v and amsgrad's maximum once an Adam optimizer
 * asks for them); tensor {@code name} occupies {@code [offset(name), offset(name) + length(name))},
 * offsets aligned to 256 elements. Your kernels read the parameters and write the gradients in place there. The
 * optimizer is given the tensors' {@linkplain #param(String) parameter} and {@linkplain #grad(String) gradient}
 * spans, which makes it run on the {@code tornado} backend:
 *
 * <pre>{@code
 * try (DeviceTensors dev = DeviceTensors.builder().add("w", 784 * 10).add("b", 10).build()) {
 *     // initialise dev.params() on the host, then describe the backward pass as a task graph that consumes
 *     // params() and grads() from the device and persists them there:
 *     TaskGraph backward = new TaskGraph("backward")
 *             .consumeFromDevice(dev.params(), dev.grads())
 *             .transferToDevice(DataTransferMode.EVERY_EXECUTION, batch)
 *             .task("grad", Model::backward, dev.params(), dev.grads(), batch)
 *             .persistOnDevice(dev.params(), dev.grads());
 *     dev.plan(backward);                              // one execution plan, uploads params() and grads()
 *     try (SgdSai opt = SgdSai.builder().lr(1e-2)
 *             .add("w", dev.param("w"), dev.grad("w")).add("b", dev.param("b"), dev.grad("b")).build()) {
 *         for (int step = 0; step < steps; step++) {
 *             dev.run(0);                              // your graph: gradients on the device
 *             opt.step();                              // one launch for all tensors, nothing copied
 *         }
 *     }
 *     dev.download();                                  // params() and grads() on the host again
 * }
 * }</pre>
 *
 * <p>TornadoVM shares device buffers between the task graphs of one execution plan only, so {@link #plan} puts
 * your graphs and the optimizer's into one plan; run yours through {@link #run}. What crosses the bus in a step
 * is a few bytes per tensor: the step's coefficients and, under {@code NonFinitePolicy.THROW} or
 * {@code SKIP_STEP}, one flag per tensor from the non-finite check, which runs on the device. A tensor's first step
 * also reduces its gradient on the device for the g-SNR. With clipping, the sums of squares for the norm are reduced
 * on the device (a double per 4096 elements comes back). Checkpoints copy the optimizer state back; a restore re-creates the plan (downloading and
 * re-uploading parameters and gradients, and recompiling the kernels).
 *
 * <p>The device is the one the {@code tornado} backend uses ({@value TornadoBackendProvider#DEVICE_PROPERTY}).
 * Not thread-safe.
 */
public final class DeviceTensors implements AutoCloseable {
    private static final AtomicInteger IDS = new AtomicInteger();

    /**
     * What a device-resident span is: slot {@code index} of {@code owner}'s parameters ({@code 'p'}), gradients
     * ({@code 'g'}), momentum or first moment ({@code 'm'}), second moment ({@code 'v'}) or amsgrad maximum
     * ({@code 'w'}).
     */
    record Ref(DeviceTensors owner, int index, char what) {
    }

    private final String id = "sgdsaiDev" + IDS.getAndIncrement();
    private final TornadoDevice device;
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private final String[] names;
    private final int[] offsets;
    private final int[] lengths;
    private final FloatArray p;
    private final FloatArray g;
    private final FloatArray m;
    private final IntArray owner;
    private final IntArray info;
    private final FloatArray coef;
    /**
     * Adam's second moment and amsgrad's maximum, packed like the momentum: one-float placeholders until an optimizer
     * asks for such state ({@link #state}), then full arrays (which a new plan puts on the device).
     */
    private FloatArray v = placeholder();
    private FloatArray w = placeholder();
    /** Whether v and w are full arrays (not placeholders). */
    private final boolean[] full = new boolean[2];
    /** Per tensor: Adam-mini's block size in the plan's tables, or 0 (the tensor is not stepped as Adam-mini). */
    private final int[] miniBlock;
    private final IntArray flag;
    private final IntArray ends; // ends[t] = offset + length of tensor t: padding after it is never checked
    private final IntArray range = new IntArray(2);
    private final DoubleArray mean = new DoubleArray(1);
    private final DoubleArray partial1 = new DoubleArray(Kernels.RANGE_GROUPS);
    private final DoubleArray partial3 = new DoubleArray(3 * Kernels.RANGE_GROUPS);
    /** Clipping's sums of squares: every tensor cut into SUM_BLOCK segments (first index, length), their sums. */
    private final IntArray squareSegments;
    private final DoubleArray squares;
    /** Index of tensor t's first segment in {@link #squares}; {@code firstSquare[n]} is their number. */
    private final int[] firstSquare;
    private final FloatSpan[] paramSpans;
    private final FloatSpan[] gradSpans;
    private final FloatSpan[] momentumSpans;
    private List<TaskGraph> userGraphs = List.of();
    private GridScheduler userGrid;
    private TornadoExecutionPlan plan;
    private int generation;
    private int userCount;
    private TornadoExecutionResult lastUpdate; // non-null while the device's momentum is newer than the host mirror
    private boolean rebuildPending;
    private boolean closed;

    private DeviceTensors(List<String> names, List<Integer> lengths) {
        device = TornadoBackend.device();
        int n = names.size();
        this.names = names.toArray(new String[0]);
        this.offsets = new int[n];
        this.lengths = new int[n];
        long total = 0;
        for (int t = 0; t < n; t++) {
            index.put(this.names[t], t);
            offsets[t] = (int) total;
            this.lengths[t] = lengths.get(t);
            total += Kernels.padded(lengths.get(t));
            if (total > Integer.MAX_VALUE - Kernels.BLOCK) {
                throw new IllegalArgumentException("tensor '" + this.names[t] + "': the tensors hold more than 2^31 floats");
            }
        }
        p = new FloatArray((int) total);
        g = new FloatArray((int) total);
        m = new FloatArray((int) total);
        p.clear();
        g.clear();
        m.clear();
        owner = new IntArray((int) total / Kernels.BLOCK);
        for (int t = 0; t < n; t++) {
            Kernels.own(owner, t, offsets[t], this.lengths[t]);
        }
        coef = new FloatArray(Kernels.COEFS * n);
        info = new IntArray(Kernels.INFO * n);
        for (int t = 0; t < n; t++) {
            info.set(Kernels.INFO * t + Kernels.OFFSET, offsets[t]);
            info.set(Kernels.INFO * t + Kernels.END, offsets[t] + this.lengths[t]);
            info.set(Kernels.INFO * t + Kernels.BLOCK_SIZE, 1);
        }
        miniBlock = new int[n];
        firstSquare = new int[n + 1];
        for (int t = 0; t < n; t++) {
            firstSquare[t + 1] = firstSquare[t] + (this.lengths[t] + StepBatch.SUM_BLOCK - 1) / StepBatch.SUM_BLOCK;
        }
        squareSegments = new IntArray(2 * firstSquare[n]);
        squares = new DoubleArray(firstSquare[n]);
        squares.clear();
        for (int t = 0; t < n; t++) {
            for (int s = firstSquare[t]; s < firstSquare[t + 1]; s++) {
                int from = (s - firstSquare[t]) * StepBatch.SUM_BLOCK;
                squareSegments.set(2 * s, offsets[t] + from);
                squareSegments.set(2 * s + 1, Math.min(StepBatch.SUM_BLOCK, this.lengths[t] - from));
            }
        }
        flag = new IntArray(n);
        ends = new IntArray(n);
        for (int t = 0; t < n; t++) {
            ends.set(t, offsets[t] + this.lengths[t]);
        }
        paramSpans = new FloatSpan[n];
        gradSpans = new FloatSpan[n];
        momentumSpans = new FloatSpan[n];
        for (int t = 0; t < n; t++) {
            paramSpans[t] = span(p, t, 'p');
            gradSpans[t] = span(g, t, 'g');
            momentumSpans[t] = span(m, t, 'm');
        }
    }

    private FloatSpan span(FloatArray a, int t, char what) {
        return span(a, t, what, lengths[t]);
    }

    private FloatSpan span(FloatArray a, int t, char what, int length) {
        return FloatSpan.deviceResident(a.getSegment().asSlice(4L * offsets[t], 4L * length),
                TornadoBackendProvider.NAME, new Ref(this, t, what));
    }

    private static FloatArray placeholder() {
        FloatArray a = new FloatArray(1);
        a.clear();
        return a;
    }

    /**
     * A new builder.
     *
     * @return a builder with no tensors
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The packed parameters of every tensor (host copy current after {@link #download()}).
     *
     * @return the packed parameters
     */
    public FloatArray params() {
        return p;
    }

    /**
     * The packed gradients of every tensor (host copy current after {@link #download()}).
     *
     * @return the packed gradients
     */
    public FloatArray grads() {
        return g;
    }

    /**
     * The tensors' names, in the order they were added.
     *
     * @return the tensors' names
     */
    public List<String> names() {
        return List.of(names);
    }

    /**
     * Where tensor {@code name} starts in {@link #params()} and {@link #grads()}.
     *
     * @param name the tensor's name
     * @return the index of its element 0 in the packed arrays
     */
    public int offset(String name) {
        return offsets[slot(name)];
    }

    /**
     * Number of elements of tensor {@code name}.
     *
     * @param name the tensor's name
     * @return its number of elements
     */
    public int length(String name) {
        return lengths[slot(name)];
    }

    /**
     * The device-resident parameter span of tensor {@code name}, to give to the optimizer.
     *
     * @param name the tensor's name
     * @return its device-resident parameter span
     */
    public FloatSpan param(String name) {
        return paramSpans[slot(name)];
    }

    /**
     * The device-resident gradient span of tensor {@code name}, to give to the optimizer.
     *
     * @param name the tensor's name
     * @return its device-resident gradient span
     */
    public FloatSpan grad(String name) {
        return gradSpans[slot(name)];
    }

    private int slot(String name) {
        Integer t = index.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no device tensor named '" + name + "'");
        }
        return t;
    }

    /**
     * Creates the execution plan of {@code graphs} (yours, run by {@link #run}) and the optimizer's, and uploads
     * the host values of {@link #params()} and {@link #grads()}. Each of your graphs must
     * {@code consumeFromDevice(params(), grads())} and {@code persistOnDevice(params(), grads())}, and pass both to
     * one of its tasks. Calling it again replaces the plan, keeping the device's values (they are downloaded first).
     * The plan is compiled with IEEE floating point (no fast-math), your kernels included.
     *
     * @param graphs your task graphs, run by {@link #run} in this order
     * @param grid the worker grids of your tasks, or {@code null}; the optimizer adds its own to it (modified)
     */
    public void plan(GridScheduler grid, TaskGraph... graphs) {
        ensureOpen();
        Objects.requireNonNull(graphs, "graphs is null");
        for (int i = 0; i < graphs.length; i++) {
            Objects.requireNonNull(graphs[i], "graph " + i + " is null");
        }
        if (plan != null && !rebuildPending) {
            pullState();
            download();
        }
        rebuildPending = false;
        userGraphs = List.of(graphs);
        userGrid = grid;
        build();
    }

    /**
     * {@link #plan(GridScheduler, TaskGraph...)} without worker grids of your own.
     *
     * @param graphs your task graphs, run by {@link #run} in this order
     */
    public void plan(TaskGraph... graphs) {
        plan(null, graphs);
    }

    /** Graph indices in the plan: up, down, user graphs, check, sum, centered, update, squares. */
    private static final int UP = 0;
    private static final int DOWN = 1;
    private static final int USER = 2;

    private int checkGraph() {
        return USER + userCount;
    }

    private int updateGraph() {
        return checkGraph() + 3;
    }

    private void build() {
        closePlan();
        String gen = id + "g" + generation++;
        List<ImmutableTaskGraph> all = new ArrayList<>();
        all.add(new TaskGraph(gen + "up")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, p, g)
                .task("touch", Kernels::touch, p, g)
                .persistOnDevice(p, g).snapshot());
        all.add(new TaskGraph(gen + "down")
                .consumeFromDevice(p, g)
                .task("touch", Kernels::touch, p, g)
                .transferToHost(DataTransferMode.UNDER_DEMAND, p, g).snapshot());
        for (TaskGraph u : userGraphs) {
            all.add(u.snapshot());
        }
        userCount = userGraphs.size();
        all.add(new TaskGraph(gen + "check")
                .consumeFromDevice(p, g)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, owner, ends)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, flag)
                .task("check", Kernels::nonFinite, p, g, owner, ends, flag)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, flag)
                .persistOnDevice(p, g).snapshot());
        KernelContext ctx = new KernelContext();
        all.add(new TaskGraph(gen + "sum")
                .consumeFromDevice(p, g)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, range)
                .task("sum", Kernels::rangeSum, ctx, p, g, range, partial1)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, partial1)
                .persistOnDevice(p, g).snapshot());
        all.add(new TaskGraph(gen + "centered")
                .consumeFromDevice(p, g)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, range, mean)
                .task("centered", Kernels::rangeCentered, ctx, p, g, range, mean, partial3)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, partial3)
                .persistOnDevice(p, g).snapshot());
        TaskGraph update = new TaskGraph(gen + "update")
                .consumeFromDevice(p, g)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, m, v, w, owner)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, info, coef);
        MiniTables mini = MiniTables.of(names.length, t -> offsets[t], t -> lengths[t], t -> miniBlock[t]);
        if (mini != null) {
            update = mini.addTasks(update, g, v, info, coef);
        }
        all.add(update.task("update", Kernels::update, p, g, m, v, w, owner, info, coef)
                .persistOnDevice(p, g)
                .transferToHost(DataTransferMode.UNDER_DEMAND, m, v, w).snapshot());
        all.add(new TaskGraph(gen + "squares")
                .consumeFromDevice(p, g)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, squareSegments)
                .task("squares", Kernels::tensorSquares, p, g, squareSegments, squares)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, squares)
                .persistOnDevice(p, g).snapshot());
        GridScheduler grid = userGrid != null ? userGrid : new GridScheduler();
        TornadoBackend.rangeGrid(grid, gen + "sum.sum");
        TornadoBackend.rangeGrid(grid, gen + "centered.centered");
        plan = TornadoBackend.strict(new TornadoExecutionPlan(all.toArray(new ImmutableTaskGraph[0])).withDevice(device)
                .withGridScheduler(grid));
        lastUpdate = null;
        upload();
    }

    /**
     * Runs your graph {@code i} (0-based, in the order given to {@link #plan}).
     *
     * @param i index of your graph, from 0
     * @return TornadoVM's result: it can {@code transferToHost} what your graph keeps {@code UNDER_DEMAND} only until
     *         the next graph of the plan runs (an optimizer step runs some)
     */
    public TornadoExecutionResult run(int i) {
        ensurePlanned();
        if (i < 0 || i >= userCount) {
            throw new IndexOutOfBoundsException("graph " + i + " of " + userCount);
        }
        return plan.withGraph(USER + i).execute();
    }

    /** Copies the host values of {@link #params()} and {@link #grads()} to the device. */
    public void upload() {
        ensurePlanned();
        plan.withGraph(UP).execute();
    }

    /**
     * Copies the device's {@link #params()} and {@link #grads()} to the host, overwriting the host values. The
     * optimizer calls it too, to name the value when it rejects a non-finite gradient.
     */
    public void download() {
        ensurePlanned();
        plan.withGraph(DOWN).execute().transferToHost(p, g);
    }

    // ---- the optimizer's side, called by TornadoBackend ----

    /** Why {@code param} and {@code grad} cannot be one tensor's storage, or null if they can. */
    static String pairingProblem(FloatSpan param, FloatSpan grad) {
        if (!(param.deviceHandle() instanceof Ref p) || !(grad.deviceHandle() instanceof Ref g)) {
            return null;
        }
        if (p.what != 'p' || g.what != 'g') {
            return "give a DeviceTensors' param(name) as the parameter and its grad(name) as the gradient";
        }
        if (p.owner != g.owner || p.index != g.index) {
            return "the parameter is device tensor '" + p.owner.names[p.index] + "' but the gradient belongs to '"
                    + g.owner.names[g.index] + "'" + (p.owner != g.owner ? " of another DeviceTensors" : "");
        }
        return null;
    }

    FloatSpan momentum(int t) {
        return momentumSpans[t];
    }

    /**
     * Tensor t's span of {@code length} floats of Adam's second moment v ({@code amsgradMax} false) or of amsgrad's
     * maximum w. The first span of either kind allocates its packed array (zeros) and re-creates the plan before its
     * next use.
     */
    FloatSpan state(int t, boolean amsgradMax, int length) {
        ensureOpen();
        int role = amsgradMax ? 1 : 0;
        if (!full[role]) {
            FloatArray a = new FloatArray(p.getSize());
            a.clear();
            replan();
            if (role == 0) {
                v = a;
            } else {
                w = a;
            }
            full[role] = true;
        }
        return span(role == 0 ? v : w, t, role == 0 ? 'v' : 'w', length);
    }

    /** Runs the non-finite check over every tensor; {@code flag[t] != 0} afterwards if tensor t's gradient has one. */
    void checkNonFinite() {
        ensurePlanned();
        for (int t = 0; t < names.length; t++) {
            flag.set(t, 0);
        }
        plan.withGraph(checkGraph()).execute();
    }

    boolean nonFinite(int t) {
        return flag.get(t) != 0;
    }

    /** Reduces every tensor's gradient to its segments' sums of squares on the device (see {@link #sumSquares}). */
    void squares() {
        ensurePlanned();
        plan.withGraph(updateGraph() + 1).execute();
    }

    /**
     * Σ g² of tensor t's gradient as of the last {@link #squares()}, exactly as
     * {@link ScalarBackend#sumSquares}{@code (g, 1, 0, n)}: its segments' sums added in order from 0.0.
     */
    double sumSquares(int t) {
        double total = 0.0;
        for (int s = firstSquare[t]; s < firstSquare[t + 1]; s++) {
            total += squares.get(s);
        }
        return total;
    }

    /** Σg² and Σ(g − ḡ)² of tensor t's gradient, reduced on the device, merged here in a fixed order. */
    void moments(int t, double[] out) {
        ensurePlanned();
        int n = lengths[t];
        range.set(0, offsets[t]);
        range.set(1, n);
        plan.withGraph(checkGraph() + 1).execute();
        double[] acc = new double[6]; // compensated sums (value, error): Σg; then Σg², Σd, Σd²
        TornadoBackend.merge(acc, partial1, 1);
        mean.set(0, (acc[0] + acc[1]) / n);
        Arrays.fill(acc, 0);
        plan.withGraph(checkGraph() + 2).execute();
        TornadoBackend.merge(acc, partial3, 3);
        out[0] = acc[0] + acc[1];
        out[1] = ScalarBackend.correctedM2(acc[2] + acc[3], acc[4] + acc[5], n);
    }

    /** One launch updating the entries of {@code b} that live here; tensors not in the batch sit it out. */
    void update(StepBatch b) {
        ensurePlanned();
        for (int t = 0; t < names.length; t++) {
            info.set(Kernels.INFO * t + Kernels.KIND, Kernels.SKIP);
        }
        for (int i = 0; i < b.size(); i++) {
            if (b.param(i).deviceHandle() instanceof Ref r && r.owner == this) {
                int mini = b.kind(i) == StepBatch.Kind.ADAM_MINI ? b.blockSize(i) : 0;
                if (mini != miniBlock[r.index]) { // new Adam-mini tables: a new plan
                    replan();
                    miniBlock[r.index] = mini;
                }
            }
        }
        ensurePlanned();
        for (int i = 0; i < b.size(); i++) {
            if (b.param(i).deviceHandle() instanceof Ref r && r.owner == this) {
                TornadoBackend.setCoefficients(info, coef, r.index, b, i);
            }
        }
        lastUpdate = plan.withGraph(updateGraph()).execute();
    }

    /** Makes the host mirrors of the optimizer state (momentum, and Adam's v and w) current. */
    void pullState() {
        if (lastUpdate != null) {
            plan.withGraph(updateGraph()); // a result transfers through the plan's selected graph: the one holding m
            lastUpdate.transferToHost(m, v, w);
            lastUpdate = null;
        }
    }

    /**
     * The next use re-creates the plan (new state arrays or Adam-mini tables): the device's state and its parameters
     * and gradients come back to the host first, and the new plan uploads them. Without a plan, nothing to do.
     */
    private void replan() {
        if (plan == null) {
            return;
        }
        pullState();
        if (!rebuildPending) {
            download();
            rebuildPending = true;
        }
    }

    /**
     * The host mirror of tensor t's state span of kind {@code what} ('m', 'v' or 'w') was overwritten (a restore).
     * The device's state of the other tensors and kinds is pulled first (the restored values kept), parameters and
     * gradients come back to the host, and the plan is re-created (which uploads all of it) before its next use.
     * Without a plan yet, nothing is to be done: the plan's first update uploads the host mirrors.
     */
    void stateFromHost(int t, char what) {
        ensureOpen();
        if (plan == null) {
            return;
        }
        if (lastUpdate != null) {
            FloatArray a = what == 'm' ? m : what == 'v' ? v : w;
            int length = what == 'm' ? lengths[t] : Math.min(lengths[t], a.getSize() - offsets[t]);
            float[] restored = new float[length];
            for (int i = 0; i < length; i++) {
                restored[i] = a.get(offsets[t] + i);
            }
            pullState();
            for (int i = 0; i < length; i++) {
                a.set(offsets[t] + i, restored[i]);
            }
        }
        replan();
    }

    private void ensurePlanned() {
        ensureOpen();
        if (plan == null) {
            throw new IllegalStateException("the device tensors have no execution plan yet: call plan(graphs...) first");
        }
        if (rebuildPending) {
            rebuildPending = false;
            build();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the device tensors are closed");
        }
    }

    /**
     * Frees the update graph's buffers: parameters, gradients, momentum and the tables. TornadoVM frees only the
     * selected graphs' buffers, and freeing every graph fails on the buffers they share; so the other graphs' small
     * buffers (flags, ranges, partials: under 3 KB plus 8 B per tensor) stay until the JVM exits.
     */
    private void closePlan() {
        if (plan != null) {
            plan.withGraph(updateGraph());
        }
        TornadoBackend.release(plan);
        plan = null;
    }

    /**
     * Releases the device memory, after copying the momentum to the host (so that an optimizer can still save a
     * checkpoint). Idempotent.
     */
    @Override
    public void close() {
        if (!closed) {
            pullState();
            closePlan();
            closed = true;
        }
    }

    /** Names and lengths of the tensors. */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<Integer> lengths = new ArrayList<>();

        private Builder() {
        }

        /**
         * Adds a tensor of {@code length} floats.
         *
         * @param name the tensor's name, unique
         * @param length its number of floats, at least 1
         * @return this builder
         * @throws IllegalArgumentException if the name is used twice or the length is below 1
         */
        public Builder add(String name, int length) {
            Objects.requireNonNull(name, "name is null");
            if (names.contains(name)) {
                throw new IllegalArgumentException("tensor '" + name + "': the name is used twice");
            }
            if (length < 1) {
                throw new IllegalArgumentException("tensor '" + name + "': length must be >= 1, got " + length);
            }
            names.add(name);
            lengths.add(length);
            return this;
        }

        /**
         * Allocates the packed arrays (zero-filled) on the host; {@link #plan} puts them on the device.
         *
         * @return the device tensors, not yet planned
         */
        public DeviceTensors build() {
            if (names.isEmpty()) {
                throw new IllegalArgumentException("no tensors were added");
            }
            return new DeviceTensors(names, lengths);
        }
    }
}
