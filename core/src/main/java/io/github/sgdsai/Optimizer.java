// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.schedule.Schedule;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The engine every optimizer of this library runs on ({@link SgdSai}, {@link AdamW}, {@link AdamMini}): parameter
 * groups with per-group hyperparameters and schedules, tensors that sit steps out, the non-finite check and global
 * gradient-norm clipping (one read-only pass), checkpoints, and dispatch of one batched update per step to a
 * {@link Backend}. An optimizer adds only its update rule and its state: what it allocates for a tensor, the
 * coefficients of a tensor's entry in the {@link StepBatch}, and what it needs to prepare at a tensor's first step.
 *
 * <h2>A step</h2>
 * <ol>
 *   <li>Every scheduled hyperparameter takes its schedule's value at {@link #steps()} (the number of steps applied
 *       so far; a skipped step does not advance it), and is validated.</li>
 *   <li>Unless the policy is {@link NonFinitePolicy#UNCHECKED}, every gradient taking part is checked for NaN and
 *       infinities; with {@link Builder#clipGradNorm} the same read-only pass also yields the global norm
 *       {@code ‖g‖ = sqrt(Σ g²)} over every gradient taking part (in double, in a fixed order), and the clipping
 *       coefficient {@code c = (float) min(1, max / (‖g‖ + 1e-6))} (torch's {@code clip_grad_norm_}).</li>
 *   <li>The optimizer prepares its first-step values (SGD-SaI's g-SNR, of the clipped gradient).</li>
 *   <li>One batched update: every gradient element is first multiplied by {@code c} (and by −1 when maximizing),
 *       in float, inside the update kernel, so clipping costs no pass of its own.</li>
 * </ol>
 * If anything in 1–3 fails, every parameter, gradient and state buffer is left bit-identical.
 *
 * <p>Not thread-safe: call it from one thread at a time. A {@link #step()}, {@link #save}, {@link #load} or
 * {@link #close()} called while another of them runs (in another thread) throws {@link IllegalStateException} and
 * changes nothing. It owns its backend (and the backend's threads): {@link #close()} releases them.
 *
 * <p>Example: the loop every optimizer shares, and a checkpoint to resume it.
 * <pre>{@code
 * try (Optimizer opt = AdamW.builder().lr(3e-4).add("w", w, dw).add("b", b, db).build()) {
 *     for (int step = 0; step < 1000; step++) {
 *         model.backward(dw, db);                     // your code writes the gradients
 *         opt.step();                                 // updates w and b in place
 *     }
 *     try (OutputStream out = Files.newOutputStream(Path.of("opt.ckpt"))) {
 *         opt.save(out);                              // hyperparameters, step counts, state; not w and b
 *     }
 * }
 * // later: the same model (w and b restored your way), a fresh optimizer built the same way, then
 * try (InputStream in = Files.newInputStream(Path.of("opt.ckpt"))) {
 *     opt.load(in);                                   // each tensor gets the state saved under its name
 * }
 * }</pre>
 */
public abstract sealed class Optimizer implements AutoCloseable permits SgdSai, AdamW, AdamMini {

    /** Bytes of per-tensor scalar state counted by {@link #stateBytes()}: the step count and one double. */
    public static final int SCALAR_STATE_BYTES_PER_TENSOR = 16;

    /** The most threads {@link Builder#threads} accepts. */
    public static final int MAX_THREADS = 256;

    /** Added to the norm in the clipping coefficient, as in torch's {@code clip_grad_norm_}. */
    public static final double CLIP_EPS = 1e-6;

    final Backend backend;
    private final NonFinitePolicy policy;
    private final double maxGradNorm;
    private final List<Group> groups;
    private final Group[] groupArray;
    private final List<Tensor> tensors;
    private final Tensor[] all;
    final Tensor[] active;
    private final StepBatch batch;
    private final double[] sumSquares;
    private long steps;
    private long skippedSteps;
    private double lastGradNorm = Double.NaN;
    private Skip lastSkip;
    private boolean closed;
    /** 1 while a step, save, load or close runs (see {@link #enter}). */
    @SuppressWarnings("unused")
    private volatile int busy;
    private static final VarHandle BUSY;

    static {
        try {
            BUSY = MethodHandles.lookup().findVarHandle(Optimizer.class, "busy", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    Optimizer(Builder<?, ?, ?> b, List<Group> groups, Backend backend) {
        this.backend = backend;
        this.policy = b.policy;
        this.maxGradNorm = b.maxGradNorm;
        this.groups = Collections.unmodifiableList(groups);
        this.groupArray = groups.toArray(new Group[0]);
        List<Tensor> list = new ArrayList<>();
        for (Group g : groups) {
            list.addAll(g.tensors);
        }
        this.tensors = Collections.unmodifiableList(list);
        this.all = list.toArray(new Tensor[0]);
        this.active = new Tensor[all.length];
        this.batch = new StepBatch(all.length);
        this.sumSquares = Double.isNaN(maxGradNorm) ? null : new double[all.length];
    }

    /** Which optimizer this is, as recorded in checkpoints. */
    abstract Kind kind();

    /**
     * Computes what a step needs before anything may change (e.g. SGD-SaI's first-step g-SNR of the gradient scaled by
     * {@code clip}) for the {@code n} tensors in {@link #active}; modifies nothing the caller can see, and may throw.
     *
     * @return null, or under {@link NonFinitePolicy#SKIP_STEP} the tensor whose learning-rate scale overflows float
     *         (the step is then skipped)
     */
    Tensor prepare(int n, float clip) {
        return null;
    }

    /** Makes what {@link #prepare} computed current, once everything that could fail has passed. Must not fail. */
    void commit() {
    }

    /**
     * Commits what {@link #prepare} computed, allocates state a tensor needs from this step on, and sets entry
     * {@code i} of {@code batch} for tensor {@code t} (its own step count not yet incremented) with gradient scale
     * {@code gs} (the sign times the clipping coefficient). Must not fail.
     */
    abstract void setEntry(StepBatch batch, int i, Tensor t, float gs);

    /** The backend features this optimizer's configuration needs, clipping aside. */
    abstract Set<Backend.Feature> features();

    /** Bytes of per-parameter state buffers a tensor holds now. */
    static long bufferBytes(Tensor t) {
        long n = 0;
        for (FloatSpan s : new FloatSpan[] {t.momentum, t.second, t.maxSecond}) {
            n += s != null ? 4L * s.length() : 0;
        }
        return n;
    }

    /**
     * Applies one step to every tensor that is not {@linkplain Tensor#setFrozen frozen}, reading the gradients as they
     * are now (see the class documentation for what a step does).
     *
     * @return {@code true} if the step was applied, {@code false} if it was skipped under
     *         {@link NonFinitePolicy#SKIP_STEP} (see {@link #lastSkip()})
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#THROW}, naming the tensor and index
     * @throws IllegalArgumentException if a schedule yields an invalid value at this step (naming group and step)
     * @throws ArithmeticException if a first-step g-SNR is not finite (e.g. ε = 0 and a constant gradient, or
     *                             non-finite gradients under {@link NonFinitePolicy#UNCHECKED}), or (except under
     *                             {@link NonFinitePolicy#SKIP_STEP}, which skips the step) SGD-SaI's learning-rate
     *                             scale or step size overflows float; nothing is changed
     * @throws IllegalStateException if the optimizer was closed, or another thread is using it
     */
    public final boolean step() {
        enter("step()");
        try {
            ensureOpen();
            return applyStep();
        } finally {
            exit();
        }
    }

    /** The step itself: {@link #step()} without the guard against concurrent use. */
    private boolean applyStep() {
        for (Group g : groupArray) { // arrays: no iterator on the hot path
            g.resolveSchedules(steps);
        }
        int n = collectActive();
        float clip = 1f;
        double norm = Double.NaN;
        if (n > 0 && (policy != NonFinitePolicy.UNCHECKED || sumSquares != null)) {
            int bad = backend.firstNonFiniteTensor(batch, sumSquares);
            if (bad >= 0 && policy != NonFinitePolicy.UNCHECKED) {
                Tensor t = active[bad];
                backend.syncToHost(t.grad);
                int index = ScalarBackend.firstNonFinite(t.grad, 0, t.length());
                float value = t.grad.get(index);
                if (policy == NonFinitePolicy.THROW) {
                    throw new NonFiniteGradientException(t.name, index, value);
                }
                return skip(t.name, index, value);
            }
            if (sumSquares != null) {
                double total = 0;
                for (int i = 0; i < n; i++) {
                    total += sumSquares[i];
                }
                norm = Math.sqrt(total);
                double c = maxGradNorm / (norm + CLIP_EPS);
                clip = c < 1 ? (float) c : 1f;
            }
        }
        Tensor overflow = prepare(n, clip);
        if (overflow != null) {
            return skip(overflow.name, -1, Float.POSITIVE_INFINITY);
        }
        // Nothing has been modified up to here; from here on nothing can fail.
        for (Group g : groupArray) {
            g.commitSchedules();
        }
        commit();
        for (int i = 0; i < n; i++) {
            Tensor t = active[i];
            setEntry(batch, i, t, t.group.maximize ? -clip : clip);
        }
        if (n > 0) {
            backend.update(batch);
        }
        for (int i = 0; i < n; i++) {
            active[i].steps++;
        }
        steps++;
        lastGradNorm = norm;
        return true;
    }

    /** Records a step skipped under {@link NonFinitePolicy#SKIP_STEP}; returns false. */
    private boolean skip(String tensor, int index, float value) {
        skippedSteps++;
        lastSkip = new Skip(steps, tensor, index, value);
        return false;
    }

    /** Fills {@link #active} and the batch's storage with the tensors taking part; returns their number. */
    private int collectActive() {
        batch.clear();
        int n = 0;
        for (Tensor t : all) { // an array: no iterator on the hot path
            if (!t.frozen) {
                active[n++] = t;
                batch.add(t.param, t.grad, t.momentum);
            }
        }
        return n;
    }

    /** A new state buffer of {@code length} floats for {@code t}, on its parameter's kind of storage. */
    FloatSpan allocate(Tensor t, int length) {
        return backend.allocateState(t.param, length);
    }

    /**
     * The parameter groups, in the order they were given (the default group, if used, first).
     *
     * @return the parameter groups, in the order they were given (the default group, if used, first)
     */
    public List<Group> groups() {
        return groups;
    }

    /**
     * Group {@code index}.
     *
     * @param index position in {@link #groups()}
     * @return the group
     */
    public Group group(int index) {
        return groups.get(index);
    }

    /**
     * Every tensor, group by group, in the order they were added.
     *
     * @return every tensor, group by group, in the order they were added
     */
    public List<Tensor> tensors() {
        return tensors;
    }

    /**
     * The tensor called {@code name}.
     *
     * @param name the tensor's name
     * @return the tensor
     * @throws IllegalArgumentException if there is none
     */
    public Tensor tensor(String name) {
        for (Tensor t : tensors) {
            if (t.name.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("no tensor named '" + name + "'");
    }

    /**
     * Number of steps applied (skipped steps not counted): the step count schedules are evaluated at.
     *
     * @return the number of steps applied (skipped steps not counted)
     */
    public long steps() {
        return steps;
    }

    /**
     * Number of steps skipped under {@link NonFinitePolicy#SKIP_STEP}.
     *
     * @return the number of steps skipped under {@link NonFinitePolicy#SKIP_STEP}
     */
    public long skippedSteps() {
        return skippedSteps;
    }

    /**
     * The most recent skipped step, or {@code null} if none was skipped.
     *
     * @return the most recent skipped step, or {@code null} if none was skipped
     */
    public Skip lastSkip() {
        return lastSkip;
    }

    /**
     * The non-finite gradient policy.
     *
     * @return the non-finite gradient policy
     */
    public NonFinitePolicy nonFinitePolicy() {
        return policy;
    }

    /**
     * The clipping threshold of {@link Builder#clipGradNorm}, or NaN if gradients are not clipped.
     *
     * @return the clipping threshold of {@link Builder#clipGradNorm}, or NaN if gradients are not clipped
     */
    public double maxGradNorm() {
        return maxGradNorm;
    }

    /**
     * The global gradient norm {@code sqrt(Σ g²)} over the tensors of the last applied step, before clipping (what
     * torch's {@code clip_grad_norm_} returns, for logging); NaN when clipping is off or before the first step.
     *
     * @return the global gradient norm of the last applied step before clipping, or NaN
     */
    public double lastGradNorm() {
        return lastGradNorm;
    }

    /**
     * Name of the backend running the kernels, e.g. {@code "scalar"} or {@code "vector"}.
     *
     * @return the name of the backend running the kernels, e.g. {@code "scalar"} or {@code "vector"}
     */
    public String backendName() {
        return backend.name();
    }

    /**
     * Bytes of optimizer state held now: {@link #stateBufferBytes()} plus {@value #SCALAR_STATE_BYTES_PER_TENSOR}
     * bytes of scalars per tensor.
     *
     * @return the bytes of optimizer state held now
     */
    public long stateBytes() {
        return stateBufferBytes() + (long) SCALAR_STATE_BYTES_PER_TENSOR * tensors.size();
    }

    /**
     * Bytes of per-parameter state buffers allocated now: 4 bytes per element of every momentum / moment buffer
     * (SGD-SaI: 4 per parameter with momentum; AdamW: 8, 12 with amsgrad; Adam-mini: 4 plus 4 per block).
     *
     * @return the bytes of per-parameter state buffers allocated now
     */
    public long stateBufferBytes() {
        long bytes = 0;
        for (Tensor t : tensors) {
            bytes += bufferBytes(t);
        }
        return bytes;
    }

    /**
     * Writes the complete state to {@code out} as a checkpoint (format 3, documented in {@code docs/checkpoints.md}):
     * the optimizer's id, its step counts, every group's hyperparameters by name (the values the last step used), and
     * every tensor by name with its group, length, step count, scalars (SGD-SaI's g-SNR and scale) and named state
     * buffers ({@code momentum}; AdamW and Adam-mini: {@code exp_avg}, {@code exp_avg_sq}, {@code max_exp_avg_sq}),
     * followed by the buffers' values; the header and the whole file each carry a CRC-32C. The stream goes through a
     * 64 KiB buffer, so a checkpoint has no size limit. Does not close the stream. Schedules and the configuration
     * (backend, threads, policy, clipping, Adam-mini partitions) are not written: schedules are functions of
     * {@link #steps()}, which is.
     *
     * <pre>{@code
     * try (OutputStream out = Files.newOutputStream(path)) {
     *     opt.save(out);
     * }
     * }</pre>
     *
     * @param out where to write
     * @throws IOException           if writing fails
     * @throws IllegalStateException if the optimizer is closed, or another thread is using it
     */
    public void save(OutputStream out) throws IOException {
        Objects.requireNonNull(out, "out is null");
        enter("save()");
        try {
            ensureOpen();
            for (Tensor t : tensors) {
                for (FloatSpan s : t.stateBuffers()) {
                    if (s != null) {
                        backend.stateToHost(s);
                    }
                }
            }
            Checkpoint.write(this, out);
        } finally {
            exit();
        }
    }

    /**
     * Same as {@link #load(InputStream, TensorMatching) load(in, TensorMatching.BY_NAME)}: each tensor receives the
     * state saved under its own name.
     *
     * @param in where to read
     * @throws IOException if reading fails ({@link CheckpointException} if the content is bad or does not fit)
     */
    public void load(InputStream in) throws IOException {
        load(in, TensorMatching.BY_NAME);
    }

    /**
     * Replaces the state with a checkpoint written by {@link #save} (format 3, or formats 1 and 2 of earlier
     * releases) for an optimizer of the same kind and structure: continuing then gives a trajectory bit-identical to
     * never having stopped.
     *
     * <p>What is restored: the step counts, every group's hyperparameters (lr, momentum or β₁, β₂, eps, weight decay,
     * maximize, SGD-SaI's scaling mode, AdamW's amsgrad — the file's values replace the builder's, as torch's
     * {@code load_state_dict} replaces {@code param_groups}), and every tensor's step count, g-SNR and scale and state
     * buffers. What is kept: parameters and gradients (they are the model's, not the optimizer's), schedules (they
     * continue from the restored step count), frozen flags, the backend, threads, non-finite policy, clipping
     * threshold and Adam-mini partitions; {@link #lastSkip()} and {@link #lastGradNorm()} are cleared.
     *
     * <p>All or nothing: the checkpoint is read to its end and checked first (magic, version, checksums, kind, group
     * count, every tensor's name, group and length, every buffer's length) while its values are read into new state
     * buffers, which replace the current ones only when everything checked out (so a load needs room for a second
     * copy of the state for a moment); if anything is wrong a {@link CheckpointException} lists it and this
     * optimizer is left as it was. Lengths in the file are checked against this optimizer before anything is
     * allocated for them, and no more is read than this optimizer's state could take (plus one byte to check that the
     * stream ends). Does not close the stream.
     *
     * <pre>{@code
     * try (InputStream in = Files.newInputStream(path)) {
     *     opt.load(in);
     * }
     * }</pre>
     *
     * @param in       where to read
     * @param matching how checkpoint tensors are paired with this optimizer's: {@link TensorMatching#BY_NAME} (the
     *                 default) or {@link TensorMatching#BY_POSITION} for a model whose tensors were renamed
     * @throws IOException           if reading fails ({@link CheckpointException} if the content is bad or does not
     *                               fit, naming every missing, extra, resized or regrouped tensor)
     * @throws IllegalStateException if the optimizer is closed, or another thread is using it
     */
    public void load(InputStream in, TensorMatching matching) throws IOException {
        Objects.requireNonNull(in, "in is null");
        Objects.requireNonNull(matching, "matching is null");
        enter("load()");
        try {
            apply(readCheckpoint(in, matching));
        } finally {
            exit();
        }
    }

    private Checkpoint.State readCheckpoint(InputStream in, TensorMatching matching) throws IOException {
        ensureOpen();
        return Checkpoint.read(in, this, matching);
    }

    /** Makes a checked checkpoint current. */
    private void apply(Checkpoint.State s) {
        steps = s.steps();
        skippedSteps = s.skippedSteps();
        restoreScalars(s.extra());
        for (int gi = 0; gi < groups.size(); gi++) {
            Checkpoint.GroupState gs = s.groups().get(gi);
            Group g = groups.get(gi);
            g.lr = gs.lr();
            g.momentum = gs.momentum();
            g.beta2 = gs.beta2();
            g.eps = gs.eps();
            g.weightDecay = gs.weightDecay();
            g.maximize = gs.maximize();
            g.scaling = gs.scaling();
            g.amsgrad = gs.amsgrad();
        }
        for (int ti = 0; ti < all.length; ti++) {
            Checkpoint.TensorState ts = s.tensors()[ti];
            Tensor t = all[ti];
            t.steps = ts.steps();
            t.gsnr = ts.gsnr();
            t.scale = ts.scale();
            t.momentum = restored(ts, 0);
            t.second = restored(ts, 1);
            t.maxSecond = restored(ts, 2);
        }
        lastSkip = null;
        lastGradNorm = Double.NaN;
    }

    /** Buffer k of a checked tensor state, made current on the backend; null if the checkpoint has none. */
    private FloatSpan restored(Checkpoint.TensorState ts, int k) {
        FloatSpan span = ts.buffers()[k];
        if (span != null) {
            backend.stateFromHost(span);
        }
        return span;
    }

    /** An optimizer-wide double saved in checkpoints (SGD-SaI's max-normalization denominator), NaN if none. */
    double savedScalar() {
        return Double.NaN;
    }

    /** Restores {@link #savedScalar()}. */
    void restoreScalars(double value) {
    }

    /** Releases the backend's threads or device memory. Idempotent; the optimizer cannot step afterwards. */
    @Override
    public void close() {
        enter("close()");
        try {
            if (!closed) {
                closed = true;
                backend.close();
            }
        } finally {
            exit();
        }
    }

    /**
     * Claims the optimizer for one call: one atomic compare-and-set, so that a second thread's call fails at once,
     * changing nothing, instead of corrupting the state. Builds no message unless it fails.
     */
    private void enter(String call) {
        if (!BUSY.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException(call + " was called while another step(), save(), load() or close() of this "
                    + "optimizer is running: an optimizer is not thread-safe; call it from one thread at a time. "
                    + "Nothing was changed by this call");
        }
    }

    private void exit() {
        BUSY.setRelease(this, 0);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the optimizer is closed");
        }
    }

    /** The optimizers, in the order of their checkpoint codes. */
    enum Kind {
        SGD_SAI, ADAMW, ADAM_MINI
    }

    /**
     * A step skipped under {@link NonFinitePolicy#SKIP_STEP}: because a gradient holds a non-finite value, or (index
     * −1) because SGD-SaI's learning-rate scale of a tensor taking its first step, or the step size {@code η·s}
     * derived from it, overflows float (see {@link #reason()}).
     *
     * @param step   number of applied steps before it
     * @param tensor name of the first tensor with a non-finite gradient (or the overflowing scale)
     * @param index  index of the first non-finite value in it, or −1 for a scale overflow
     * @param value  that value (infinity for a scale overflow)
     */
    public record Skip(long step, String tensor, int index, float value) {
        /**
         * Why the step was skipped, in words.
         *
         * @return e.g. {@code "gradient of tensor 'w' holds NaN at index 3"}
         */
        public String reason() {
            return index < 0 ? "the learning-rate scale of tensor '" + tensor + "' (its g-SNR) or the step size derived "
                    + "from it overflows float" : "gradient of tensor '" + tensor + "' holds " + value + " at index " + index;
        }
    }

    /**
     * A parameter group: tensors sharing hyperparameters. Which hyperparameters an optimizer reads is said on each
     * accessor; the learning rate, momentum (β₁) and weight decay can follow a {@link Schedule}.
     */
    public static final class Group {
        private final int index;
        final List<Tensor> tensors = new ArrayList<>();
        double lr;
        double momentum;
        double beta2;
        double eps;
        double weightDecay;
        boolean maximize;
        Scaling scaling;
        boolean amsgrad;
        final Schedule lrSchedule;
        final Schedule momentumSchedule;
        final Schedule weightDecaySchedule;
        private double nextLr;
        private double nextMomentum;
        private double nextWeightDecay;

        Group(int index, GroupSpec.Values v) {
            this.index = index;
            this.lr = v.lr();
            this.momentum = v.momentum();
            this.beta2 = v.beta2();
            this.eps = v.eps();
            this.weightDecay = v.weightDecay();
            this.maximize = v.maximize();
            this.scaling = v.scaling();
            this.amsgrad = v.amsgrad();
            this.lrSchedule = v.lrSchedule();
            this.momentumSchedule = v.momentumSchedule();
            this.weightDecaySchedule = v.weightDecaySchedule();
        }

        /** Evaluates and validates every schedule at {@code step} without changing the group. */
        void resolveSchedules(long step) {
            nextLr = lrSchedule == null ? lr : lrSchedule.at(step);
            nextMomentum = momentumSchedule == null ? momentum : momentumSchedule.at(step);
            nextWeightDecay = weightDecaySchedule == null ? weightDecay : weightDecaySchedule.at(step);
            // Messages are built only on failure: a step allocates nothing.
            if (!(nextLr >= 0) || Double.isInfinite(nextLr)) {
                Hyper.lr("group " + index + " lr schedule at step " + step, nextLr);
            }
            if (!(nextMomentum >= 0 && nextMomentum < 1)) {
                Hyper.momentum("group " + index + " momentum schedule at step " + step, nextMomentum);
            }
            if (!(nextWeightDecay >= 0) || Double.isInfinite(nextWeightDecay)) {
                Hyper.weightDecay("group " + index + " weight decay schedule at step " + step, nextWeightDecay);
            }
        }

        /** The learning rate the coming step uses (valid after {@link #resolveSchedules}). */
        double nextLr() {
            return nextLr;
        }

        /** Makes the values {@link #resolveSchedules} computed current. */
        void commitSchedules() {
            lr = nextLr;
            momentum = nextMomentum;
            weightDecay = nextWeightDecay;
        }

        /**
         * Position in {@link Optimizer#groups()}.
         *
         * @return the position in {@link Optimizer#groups()}
         */
        public int index() {
            return index;
        }

        /**
         * The group's tensors.
         *
         * @return the group's tensors
         */
        public List<Tensor> tensors() {
            return Collections.unmodifiableList(tensors);
        }

        /**
         * Learning rate η: the one the last step used (with a schedule: its value at that step; before the first step,
         * its value at step 0).
         *
         * @return the learning rate η the last step used
         */
        public double lr() {
            return lr;
        }

        /**
         * Changes the learning rate from the next step on.
         *
         * @param lr the new learning rate, finite and {@code >= 0}
         * @throws IllegalArgumentException if {@code lr} is NaN, infinite or negative (nothing is changed)
         * @throws IllegalStateException    if the group's learning rate follows a schedule
         */
        public void setLr(double lr) {
            if (lrSchedule != null) {
                throw new IllegalStateException("group " + index + ": its lr follows a schedule; setLr would be "
                        + "overwritten at the next step (give the group a fixed lr, or change the schedule)");
            }
            this.lr = Hyper.lr("group " + index, lr);
        }

        /**
         * The learning-rate schedule, or {@code null} for a fixed learning rate.
         *
         * @return the learning-rate schedule, or {@code null} for a fixed learning rate
         */
        public Schedule lrSchedule() {
            return lrSchedule;
        }

        /**
         * Momentum μ (SGD-SaI) or β₁ (AdamW, Adam-mini), as the last step used it.
         *
         * @return the momentum μ (SGD-SaI) or β₁ (AdamW, Adam-mini), as the last step used it
         */
        public double momentum() {
            return momentum;
        }

        /**
         * β₁ of AdamW and Adam-mini: the same value as {@link #momentum()}.
         *
         * @return β₁ of AdamW and Adam-mini: the same value as {@link #momentum()}
         */
        public double beta1() {
            return momentum;
        }

        /**
         * β₂ of AdamW and Adam-mini (NaN for SGD-SaI).
         *
         * @return β₂ of AdamW and Adam-mini (NaN for SGD-SaI)
         */
        public double beta2() {
            return beta2;
        }

        /**
         * ε: of the g-SNR denominator (SGD-SaI) or of Adam's denominator.
         *
         * @return ε of the g-SNR denominator (SGD-SaI) or of Adam's denominator
         */
        public double eps() {
            return eps;
        }

        /**
         * Decoupled weight decay λ ({@code p ← p·(1 − λη)}), as the last step used it.
         *
         * @return the decoupled weight decay λ ({@code p ← p·(1 − λη)}), as the last step used it
         */
        public double weightDecay() {
            return weightDecay;
        }

        /**
         * Whether the group maximizes.
         *
         * @return whether the group maximizes
         */
        public boolean maximize() {
            return maximize;
        }

        /**
         * The SGD-SaI scaling mode ({@code null} for the Adam family).
         *
         * @return the SGD-SaI scaling mode ({@code null} for the Adam family)
         */
        public Scaling scaling() {
            return scaling;
        }

        /**
         * Whether AdamW uses amsgrad.
         *
         * @return whether AdamW uses amsgrad
         */
        public boolean amsgrad() {
            return amsgrad;
        }
    }

    /** A parameter tensor with its gradient and state. */
    public static final class Tensor {
        final String name;
        final Group group;
        final FloatSpan param;
        final FloatSpan grad;
        final int blockSize;
        FloatSpan momentum;
        FloatSpan second;
        FloatSpan maxSecond;
        boolean frozen;
        long steps;
        double gsnr = Double.NaN;
        float scale = Float.NaN;

        Tensor(String name, Group group, FloatSpan param, FloatSpan grad, int blockSize) {
            this.name = name;
            this.group = group;
            this.param = param;
            this.grad = grad;
            this.blockSize = blockSize;
        }

        FloatSpan[] stateBuffers() {
            return new FloatSpan[] {momentum, second, maxSecond};
        }

        /**
         * The tensor's name (unique within the optimizer).
         *
         * @return the tensor's name (unique within the optimizer)
         */
        public String name() {
            return name;
        }

        /**
         * The group it belongs to.
         *
         * @return the group it belongs to
         */
        public Group group() {
            return group;
        }

        /**
         * Number of elements n.
         *
         * @return the number of elements n
         */
        public int length() {
            return param.length();
        }

        /**
         * The parameter storage (modified by {@link Optimizer#step()}).
         *
         * @return the parameter storage (modified by {@link Optimizer#step()})
         */
        public FloatSpan param() {
            return param;
        }

        /**
         * The gradient storage (never modified by the optimizer).
         *
         * @return the gradient storage (never modified by the optimizer)
         */
        public FloatSpan grad() {
            return grad;
        }

        /**
         * Whether the tensor sits out steps.
         *
         * @return whether the tensor sits out steps
         */
        public boolean isFrozen() {
            return frozen;
        }

        /**
         * Makes the tensor sit out (or take part in) the following steps, like a PyTorch parameter whose {@code grad}
         * is {@code None}: a frozen tensor is left untouched, its state does not advance, and its first-step values
         * are computed the first time it takes part.
         *
         * @param frozen whether to sit out
         */
        public void setFrozen(boolean frozen) {
            this.frozen = frozen;
        }

        /**
         * Number of steps this tensor took part in (AdamW's bias corrections use it).
         *
         * @return the number of steps this tensor took part in (AdamW's bias corrections use it)
         */
        public long steps() {
            return steps;
        }

        /**
         * Whether the g-SNR has been computed (SGD-SaI: the tensor has taken part in a step).
         *
         * @return whether the g-SNR has been computed (SGD-SaI: the tensor has taken part in a step)
         */
        public boolean hasGsnr() {
            return !Double.isNaN(gsnr);
        }

        /**
         * SGD-SaI: the g-SNR from the tensor's first step, or NaN before it (always NaN for the Adam family).
         *
         * @return SGD-SaI's g-SNR from the tensor's first step, or NaN before it (always NaN for the Adam family)
         */
        public double gsnr() {
            return gsnr;
        }

        /**
         * SGD-SaI: the learning-rate scale s used in every step (see {@link Scaling}), or NaN before the first step.
         *
         * @return SGD-SaI's learning-rate scale s used in every step, or NaN before the first step
         */
        public float scale() {
            return scale;
        }

        /**
         * Adam-mini: elements per second-moment block (1 for AdamW and per-element Adam-mini; 0 for SGD-SaI).
         *
         * @return Adam-mini's elements per second-moment block (1 for AdamW and per-element Adam-mini; 0 for SGD-SaI)
         */
        public int blockSize() {
            return blockSize;
        }

        FloatSpan momentumBuffer() {
            return momentum;
        }

        @Override
        public String toString() {
            return "Tensor[" + name + ", n=" + length() + ", group=" + group.index + "]";
        }
    }

    /**
     * What every optimizer's builder offers beyond the group hyperparameters: further groups, the non-finite policy,
     * clipping, the backend and its threads. Hyperparameters set on the builder are the defaults of every group;
     * tensors added to it form the default group (group 0).
     *
     * <p>Example: defaults for every group, a group by name, clipping and the non-finite policy.
     * <pre>{@code
     * SgdSai opt = SgdSai.builder()
     *         .lr(1e-2).momentum(0.9).weightDecay(1e-2)             // defaults of every group
     *         .add("fc1.weight", w1, dw1).add("fc1.bias", b1, db1)  // the default group
     *         .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))
     *         .clipGradNorm(1.0).nonFinite(NonFinitePolicy.SKIP_STEP)
     *         .build();                                              // validates everything, picks the backend
     * }</pre>
     *
     * @param <B> the concrete builder
     * @param <G> its group builder
     * @param <O> the optimizer it builds
     */
    public abstract static sealed class Builder<B extends Builder<B, G, O>, G extends GroupSpec<G>, O extends Optimizer>
            extends GroupSpec<B> permits SgdSai.Builder, AdamW.Builder, AdamMini.Builder {
        private final List<G> extraGroups = new ArrayList<>();
        private final List<NameRule> rules = new ArrayList<>();
        private final List<G> ruleGroups = new ArrayList<>();
        private boolean exhaustiveRules;
        private boolean optionalRules;
        NonFinitePolicy policy = NonFinitePolicy.THROW;
        String backendName;
        int threads = Runtime.getRuntime().availableProcessors();
        double maxGradNorm = Double.NaN;

        Builder() {
        }

        @SuppressWarnings("unchecked")
        private B me() {
            return (B) this;
        }

        /** A new, empty group builder of this optimizer. */
        abstract G newGroup();

        /** The defaults of this optimizer's hyperparameters. */
        abstract GroupSpec.Values defaults();

        /** Validates what is specific to the optimizer for group {@code g} and returns its tensors' block sizes. */
        abstract int blockSize(Group g, GroupSpec.TensorSpec t);

        /** Creates the optimizer. */
        abstract O create(List<Group> groups, Backend backend);

        /**
         * Adds a parameter group configured by {@code config} (unset hyperparameters come from this builder).
         *
         * @param config sets the group's hyperparameters and adds its tensors
         * @return this builder
         */
        public B group(Consumer<G> config) {
            G g = newGroup();
            config.accept(g);
            extraGroups.add(g);
            return me();
        }

        /**
         * Adds a parameter group that receives every tensor added to this builder whose name {@code rule} matches
         * (e.g. {@code group(NameRule.biasesAndNorms(), g -> g.weightDecay(0))}: no decay on biases and norms). The
         * same mechanism serves every optimizer and the framework integrations. A tensor matched by two rules is
         * reported at {@link #build()}; one matched by none stays in the default group (unless the rules are
         * {@linkplain #exhaustiveRules() exhaustive}). Groups keep the order in which they were declared. A rule
         * group that receives no tensor is an error at {@link #build()}, unless the rule is
         * {@linkplain NameRule#optional() optional}: then the group is left out.
         *
         * @param rule   which tensors the group receives
         * @param config sets the group's hyperparameters (it may add tensors of its own too)
         * @return this builder
         */
        public B group(NameRule rule, Consumer<G> config) {
            Objects.requireNonNull(rule, "rule is null");
            G g = newGroup();
            config.accept(g);
            extraGroups.add(g);
            rules.add(rule);
            ruleGroups.add(g);
            return me();
        }

        /**
         * Makes the name rules of {@link #group(NameRule, Consumer)} exhaustive: a tensor added to this builder that
         * none matches is reported at {@link #build()} instead of staying in the default group.
         *
         * @return this builder
         */
        public B exhaustiveRules() {
            this.exhaustiveRules = true;
            return me();
        }

        /**
         * Makes every name rule of {@link #group(NameRule, Consumer)} {@linkplain NameRule#optional() optional}: a rule
         * group that receives no tensor is left out instead of failing the build. For trainers that build one optimizer
         * per shard of a model (e.g. {@code sgdsai-spark}), after the rules were checked on the whole model.
         *
         * @return this builder
         */
        public B optionalRules() {
            this.optionalRules = true;
            return me();
        }

        /**
         * What a step does with NaN or infinite gradients; default {@link NonFinitePolicy#THROW}.
         *
         * @param policy the policy
         * @return this builder
         */
        public B nonFinite(NonFinitePolicy policy) {
            this.policy = Objects.requireNonNull(policy, "nonFinite policy is null");
            return me();
        }

        /**
         * Clips the global gradient norm, as torch's {@code clip_grad_norm_(params, max)} before the step: the norm
         * {@code ‖g‖ = sqrt(Σ g²)} over every gradient taking part is computed in the non-finite check's read-only
         * pass (in double, in an order fixed for every backend and thread count), and every gradient element is
         * multiplied by {@code (float) min(1, max / (‖g‖ + 1e-6))} inside the update. Gradients are not modified.
         *
         * @param max the largest norm let through, finite and {@code > 0}
         * @return this builder
         */
        public B clipGradNorm(double max) {
            if (!(max > 0) || Double.isInfinite(max)) {
                throw new IllegalArgumentException("clipGradNorm: max must be a finite number > 0, got " + max);
            }
            this.maxGradNorm = max;
            return me();
        }

        /**
         * Forces a backend by name ({@code "scalar"}, {@code "vector"}, …); by default the best one present is chosen
         * (see {@link Backends}).
         *
         * @param name the backend's name
         * @return this builder
         */
        public B backend(String name) {
            this.backendName = Objects.requireNonNull(name, "backend name is null");
            return me();
        }

        /**
         * Threads the backend may use; default the number of available processors. The step is memory-bound: more
         * threads than cores only add overhead, so at most {@value Optimizer#MAX_THREADS} are allowed. Results are
         * bit-identical for every thread count.
         *
         * @param threads from 1 to {@value Optimizer#MAX_THREADS}
         * @return this builder
         * @throws IllegalArgumentException if {@code threads} is out of range
         */
        public B threads(int threads) {
            if (threads < 1 || threads > MAX_THREADS) {
                throw new IllegalArgumentException("threads must be from 1 to " + MAX_THREADS + ", got " + threads
                        + (threads > MAX_THREADS ? " (this machine has " + Runtime.getRuntime().availableProcessors()
                        + " processors; the step is memory-bound and gains nothing from more threads than cores)" : ""));
            }
            this.threads = threads;
            return me();
        }

        /**
         * Validates everything and creates the optimizer (and its backend).
         *
         * @return the optimizer
         * @throws IllegalArgumentException naming the group or tensor at fault: bad hyperparameters, no lr, no tensors,
         *                                  duplicate names, storage registered twice or overlapping, or a backend that
         *                                  cannot run this configuration
         */
        public O build() {
            // Route the tensors added to the builder by the name rules (copies: build() changes no spec).
            NameRules routing = exhaustiveRules ? NameRules.of(rules).exhaustive() : NameRules.of(rules);
            List<GroupSpec<?>> specs = new ArrayList<>();
            List<List<GroupSpec.TensorSpec>> members = new ArrayList<>();
            List<GroupSpec.TensorSpec> unrouted = new ArrayList<>();
            List<List<GroupSpec.TensorSpec>> routed = new ArrayList<>();
            for (G g : ruleGroups) {
                routed.add(new ArrayList<>(g.tensors));
            }
            for (GroupSpec.TensorSpec ts : tensors) {
                int r = rules.isEmpty() ? -1 : routing.route(ts.name());
                (r < 0 ? unrouted : routed.get(r)).add(ts);
            }
            if (!unrouted.isEmpty()) {
                specs.add(this);
                members.add(unrouted);
            }
            for (G g : extraGroups) {
                int r = ruleGroups.indexOf(g);
                List<GroupSpec.TensorSpec> list = r < 0 ? g.tensors : routed.get(r);
                if (r >= 0 && list.isEmpty()) {
                    if (rules.get(r).isOptional() || optionalRules) {
                        continue;
                    }
                    throw new IllegalArgumentException("group of rule " + rules.get(r) + " matched no tensor (tensors "
                            + "added: " + names(tensors) + "); fix the rule, or make it optional with rule.optional() "
                            + "if the model may lack those names");
                }
                specs.add(g);
                members.add(list);
            }
            List<Group> groups = new ArrayList<>();
            Set<String> names = new HashSet<>();
            List<FloatSpan> storage = new ArrayList<>();
            List<String> owners = new ArrayList<>();
            GroupSpec.Values defaults = defaults();
            for (int si = 0; si < specs.size(); si++) {
                GroupSpec<?> spec = specs.get(si);
                String where = "group " + groups.size();
                if (members.get(si).isEmpty()) {
                    throw new IllegalArgumentException(where + ": has no tensors");
                }
                Group g = new Group(groups.size(), spec.resolve(where, this, defaults));
                for (GroupSpec.TensorSpec ts : members.get(si)) {
                    if (!names.add(ts.name())) {
                        throw new IllegalArgumentException("tensor '" + ts.name() + "': the name is used twice");
                    }
                    g.tensors.add(new Tensor(ts.name(), g, ts.param(), ts.grad(), blockSize(g, ts)));
                    storage.add(ts.param());
                    owners.add("parameter of tensor '" + ts.name() + "'");
                    storage.add(ts.grad());
                    owners.add("gradient of tensor '" + ts.name() + "'");
                }
                groups.add(g);
            }
            if (groups.isEmpty()) {
                throw new IllegalArgumentException("no tensors were added");
            }
            Overlaps.check(storage, owners);
            Backend backend = Backends.create(backendFor(members), new BackendOptions(threads));
            try {
                for (Group g : groups) {
                    for (Tensor t : g.tensors) {
                        String problem = backend.storageProblem(t.param, t.grad);
                        if (problem != null) {
                            throw new IllegalArgumentException("tensor '" + t.name + "': " + problem);
                        }
                    }
                }
                O opt = create(groups, backend);
                Set<Backend.Feature> needed = EnumSet.copyOf(opt.features());
                if (!Double.isNaN(maxGradNorm)) {
                    needed.add(Backend.Feature.GRADIENT_SCALE);
                }
                for (Backend.Feature f : needed) {
                    if (!backend.supports(f)) {
                        throw new IllegalArgumentException("backend '" + backend.name() + "' does not implement " + f
                                + ", which this " + opt.kind() + " configuration needs; ask for backend 'vector' or 'scalar'");
                    }
                }
                return opt;
            } catch (RuntimeException e) {
                backend.close();
                throw e;
            }
        }

        /**
         * The backend to create: the one whose device holds the tensors, if any are {@linkplain
         * FloatSpan#isDeviceResident() device-resident} (and then no other may be asked for), else the one asked for.
         */
        private String backendFor(List<List<GroupSpec.TensorSpec>> members) {
            String device = null;
            String first = null;
            for (List<GroupSpec.TensorSpec> list : members) {
                for (GroupSpec.TensorSpec ts : list) {
                    String pd = ts.param().residentBackend();
                    String gd = ts.grad().residentBackend();
                    if (!Objects.equals(pd, gd)) {
                        throw new IllegalArgumentException("tensor '" + ts.name() + "': its parameter lives " + place(pd)
                                + " but its gradient " + place(gd) + "; both must live in the same place");
                    }
                    if (pd != null && device != null && !device.equals(pd)) {
                        throw new IllegalArgumentException("tensor '" + ts.name() + "' lives " + place(pd) + " but tensor '"
                                + first + "' " + place(device) + "; one optimizer steps one device");
                    }
                    if (pd != null && device == null) {
                        device = pd;
                        first = ts.name();
                    }
                }
            }
            if (device == null) {
                return backendName;
            }
            String asked = backendName != null ? backendName : System.getProperty(Backends.PROPERTY);
            if (asked != null && !asked.isBlank() && !asked.trim().equalsIgnoreCase(device)) {
                throw new IllegalArgumentException("tensor '" + first + "' lives " + place(device) + ", which backend '"
                        + asked.trim() + "' cannot step; ask for backend '" + device + "' or for none");
            }
            return device;
        }

        /** The first names of {@code specs}, for a message. */
        private static String names(List<GroupSpec.TensorSpec> specs) {
            List<String> names = specs.stream().limit(8).map(GroupSpec.TensorSpec::name).toList();
            return specs.size() > names.size() ? names + " and " + (specs.size() - names.size()) + " more" : names.toString();
        }

        private static String place(String device) {
            return device == null ? "in host memory" : "on the '" + device + "' device";
        }
    }
}
