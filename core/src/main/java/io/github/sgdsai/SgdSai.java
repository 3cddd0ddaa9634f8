// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * SGD-SaI: SGD with momentum and decoupled weight decay in which every parameter tensor's learning rate is
 * scaled by a constant fixed at initialization, its gradient signal-to-noise ratio (g-SNR).
 * ("No More Adam: Learning Rate Scaling at Initialization is All You Need", arXiv 2412.11768; the official
 * PyTorch package {@code SGD-SaI} 1.0.3.)
 *
 * <h2>The update</h2>
 * For each tensor taking part in a step, with gradient g (−g when maximizing), learning rate η, momentum μ,
 * eps ε and weight decay λ of its group:
 * <ol>
 *   <li>at the tensor's first step only: {@code gsnr = ‖g‖₂ / (σ + ε)}, σ the unbiased standard deviation of
 *       g (σ = 0 for one element), computed in double; its scale s follows from {@link Scaling};</li>
 *   <li>momentum: {@code m = g} at the first step, then {@code m = μ·m + (1 − μ)·g}; with μ = 0 no buffer
 *       is kept and m = g;</li>
 *   <li>{@code p ← p·(1 − λη) − η·s·m}.</li>
 * </ol>
 * The float arithmetic is the official package's, so that for the same g-SNR the update is bit-identical to
 * it: {@code m = g} (a copy), then {@code m = fma(g, (float)(1 − μ), m * (float)μ)};
 * {@code step = (float)η * s} with {@code s = (float) scale}; {@code decay = (float)(1 − λη)};
 * {@code p = fma(m, −step, p * decay)}. {@link StepBatch} spells out how backends compute it.
 *
 * <h2>Example</h2>
 * <pre>{@code
 * float[] w = new float[784 * 10], dw = new float[784 * 10];
 * float[] b = new float[10], db = new float[10];
 * try (SgdSai opt = SgdSai.builder().lr(1e-2)            // defaults for every group
 *         .add("w", w, dw)                               // the default group
 *         .group(g -> g.weightDecay(0).add("b", b, db))  // a second group
 *         .build()) {
 *     // ... fill dw, db by backprop ...
 *     opt.step();
 *     opt.group(0).setLr(5e-3);                           // e.g. a schedule
 * }
 * }</pre>
 *
 * <p>Not thread-safe: call it from one thread at a time. It owns its backend (and the backend's threads):
 * {@link #close()} releases them.
 */
public final class SgdSai implements AutoCloseable {

    /** Bytes of per-tensor scalar state counted by {@link #stateBytes()}: g-SNR (double) and step count (long). */
    public static final int SCALAR_STATE_BYTES_PER_TENSOR = 16;

    private final Backend backend;
    private final NonFinitePolicy policy;
    private final List<Group> groups;
    private final List<Tensor> tensors;
    private final Tensor[] all;
    private final Tensor[] active;
    private final double[] pendingGsnr;
    private final double[] moments = new double[2];
    private final StepBatch batch;
    private long steps;
    private long skippedSteps;
    private double maxGsnr = Double.NaN;
    private Skip lastSkip;
    private boolean closed;

    private SgdSai(Builder b, List<Group> groups, Backend backend) {
        this.backend = backend;
        this.policy = b.policy;
        this.groups = Collections.unmodifiableList(groups);
        List<Tensor> list = new ArrayList<>();
        for (Group g : groups) {
            list.addAll(g.tensors);
        }
        this.tensors = Collections.unmodifiableList(list);
        this.all = list.toArray(new Tensor[0]);
        this.active = new Tensor[all.length];
        this.pendingGsnr = new double[all.length];
        this.batch = new StepBatch(all.length);
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Applies one step to every tensor that is not {@linkplain Tensor#setFrozen frozen}, reading the gradients
     * as they are now.
     *
     * <p>Before anything is changed, gradients are checked under the {@link NonFinitePolicy} and the g-SNR
     * of each tensor taking part for the first time is computed; if any of this fails, every parameter,
     * gradient and state buffer is left bit-identical.
     *
     * @return {@code true} if the step was applied, {@code false} if it was skipped under
     *         {@link NonFinitePolicy#SKIP_STEP} (see {@link #lastSkip()})
     * @throws NonFiniteGradientException under {@link NonFinitePolicy#THROW}, naming the tensor and index
     * @throws ArithmeticException if a first-step g-SNR is not finite (e.g. ε = 0 and a constant gradient)
     * @throws IllegalStateException if the optimizer was closed
     */
    public boolean step() {
        ensureOpen();
        int n = collectActive();
        if (policy != NonFinitePolicy.UNCHECKED && n > 0) {
            int bad = backend.firstNonFiniteTensor(batch);
            if (bad >= 0) {
                Tensor t = active[bad];
                backend.syncToHost(t.grad);
                int index = ScalarBackend.firstNonFinite(t.grad, 0, t.length());
                float value = t.grad.get(index);
                if (policy == NonFinitePolicy.THROW) {
                    throw new NonFiniteGradientException(t.name, index, value);
                }
                skippedSteps++;
                lastSkip = new Skip(steps, t.name, index, value);
                return false;
            }
        }
        double newMax = firstStepGsnrs(n);
        // Nothing has been modified up to here; from here on nothing can fail.
        if (!Double.isNaN(newMax)) {
            maxGsnr = newMax;
        }
        for (int i = 0; i < n; i++) {
            Tensor t = active[i];
            if (!t.hasGsnr()) {
                t.fixScale(pendingGsnr[i], maxGsnr);
            }
            boolean fresh = t.momentum == null && t.group.momentum > 0;
            if (fresh) {
                t.momentum = backend.allocateMomentum(t.param);
                batch.setMomentum(i, t.momentum);
            }
            setRule(i, t, fresh);
        }
        if (n > 0) {
            backend.update(batch);
        }
        for (int i = 0; i < n; i++) {
            active[i].steps++;
        }
        steps++;
        return true;
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

    /**
     * Computes into {@link #pendingGsnr} the g-SNR of every active tensor without one, modifying nothing else.
     * Returns the max-normalization denominator to fix now, or NaN if none is to be fixed.
     */
    private double firstStepGsnrs(int n) {
        double max = Double.NaN;
        boolean fixMax = Double.isNaN(maxGsnr);
        boolean sawMaxMode = false;
        for (int i = 0; i < n; i++) {
            Tensor t = active[i];
            if (t.hasGsnr()) {
                continue;
            }
            backend.moments(t.grad, moments);
            double g = gsnr(t.length(), moments[0], moments[1], t.group.eps);
            if (!Double.isFinite(g)) {
                throw new ArithmeticException("tensor '" + t.name + "': g-SNR = ‖g‖ / (σ + eps) is not finite (‖g‖² = "
                        + moments[0] + ", Σ(g − mean)² = " + moments[1] + ", eps = " + t.group.eps
                        + "); a constant gradient needs eps > 0. Nothing was changed");
            }
            pendingGsnr[i] = g;
            if (fixMax && t.group.scaling == Scaling.GSNR_MAX_NORMALIZED) {
                max = sawMaxMode ? Math.max(max, g) : g;
                sawMaxMode = true;
            }
        }
        if (sawMaxMode && !(max > 0)) {
            throw new ArithmeticException("the largest g-SNR of the GSNR_MAX_NORMALIZED tensors at their first step is "
                    + max + "; cannot normalize by it. Nothing was changed");
        }
        return max;
    }

    /**
     * The g-SNR {@code ‖g‖₂ / (σ + ε)} of a gradient as the optimizer computes it at a tensor's first step
     * (σ the unbiased standard deviation, 0 for one element; in double, with the scalar reference kernels).
     * Modifies nothing. May return infinity or NaN (e.g. ε = 0 and a constant gradient).
     *
     * @throws IllegalArgumentException if {@code grad} is empty or {@linkplain FloatSpan#isDeviceResident()
     *                                  device-resident}, or {@code eps} is negative, NaN or infinite
     */
    public static double gsnr(FloatSpan grad, double eps) {
        Objects.requireNonNull(grad, "grad is null");
        if (grad.length() == 0) {
            throw new IllegalArgumentException("grad is empty");
        }
        if (grad.isDeviceResident()) {
            throw new IllegalArgumentException("grad lives on the '" + grad.residentBackend() + "' device, which this "
                    + "host helper cannot read; an optimizer stepping it computes its g-SNR there (Tensor.gsnr())");
        }
        Hyper.eps("gsnr", eps);
        double[] m = new double[2];
        new ScalarBackend().moments(grad, m);
        return gsnr(grad.length(), m[0], m[1], eps);
    }

    /**
     * g-SNR = ‖g‖₂ / (σ + ε) from {@code sumSq = Σg²} and {@code m2 = Σ(g − mean)²} of {@code n} values, with σ the
     * unbiased standard deviation (0 when n = 1).
     */
    static double gsnr(long n, double sumSq, double m2, double eps) {
        double sigma = n > 1 ? Math.sqrt(m2 / (n - 1)) : 0.0;
        return Math.sqrt(sumSq) / (sigma + eps);
    }

    private void setRule(int i, Tensor t, boolean freshMomentum) {
        Group g = t.group;
        float sign = g.maximize ? -1f : 1f;
        float negStep = -((float) g.lr * t.scale);
        float decay = (float) (1.0 - g.weightDecay * g.lr);
        StepBatch.Kind kind = t.momentum == null ? StepBatch.Kind.SGD
                : freshMomentum ? StepBatch.Kind.INIT : StepBatch.Kind.MOMENTUM;
        batch.setRule(i, kind, sign, sign * (float) (1.0 - g.momentum), (float) g.momentum, negStep, decay);
    }

    /** The parameter groups, in the order they were given (the default group, if used, first). */
    public List<Group> groups() {
        return groups;
    }

    /** Group {@code index}. */
    public Group group(int index) {
        return groups.get(index);
    }

    /** Every tensor, group by group, in the order they were added. */
    public List<Tensor> tensors() {
        return tensors;
    }

    /**
     * The tensor called {@code name}.
     *
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

    /** Number of steps applied (skipped steps not counted). */
    public long steps() {
        return steps;
    }

    /** Number of steps skipped under {@link NonFinitePolicy#SKIP_STEP}. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** The most recent skipped step, or {@code null} if none was skipped. */
    public Skip lastSkip() {
        return lastSkip;
    }

    /** The non-finite gradient policy. */
    public NonFinitePolicy nonFinitePolicy() {
        return policy;
    }

    /** Name of the backend running the kernels, e.g. {@code "scalar"} or {@code "vector"}. */
    public String backendName() {
        return backend.name();
    }

    /**
     * Bytes of optimizer state held now: 4 bytes per element of every allocated momentum buffer (exactly
     * 4·n for each tensor of a group with momentum > 0 once it has stepped) plus
     * {@value #SCALAR_STATE_BYTES_PER_TENSOR} bytes of scalars per tensor.
     */
    public long stateBytes() {
        long bytes = 0;
        for (Tensor t : tensors) {
            bytes += SCALAR_STATE_BYTES_PER_TENSOR + (t.momentum != null ? 4L * t.length() : 0);
        }
        return bytes;
    }

    /**
     * Writes the complete state (hyperparameters, step counts, g-SNRs and scales, momentum buffers) to
     * {@code out} in the versioned, checksummed format described in {@link Checkpoint}. Does not close the stream.
     */
    public void save(OutputStream out) throws IOException {
        ensureOpen();
        for (Tensor t : tensors) {
            if (t.momentum != null) {
                backend.stateToHost(t.momentum);
            }
        }
        Checkpoint.write(this, out);
    }

    /**
     * Replaces the state with one written by {@link #save}: continuing then gives a trajectory bit-identical to
     * never having stopped. The whole checkpoint is read and checked first; if it is truncated, corrupted, of
     * another version or does not fit (other group or tensor counts or sizes), a {@link CheckpointException}
     * is thrown and this optimizer is left as it was. Reads {@code in} to its end; does not close it.
     */
    public void load(InputStream in) throws IOException {
        ensureOpen();
        Checkpoint.State s = Checkpoint.read(in, this);
        steps = s.steps();
        skippedSteps = s.skippedSteps();
        maxGsnr = s.maxGsnr();
        for (int gi = 0; gi < groups.size(); gi++) {
            Checkpoint.GroupState gs = s.groups().get(gi);
            Group g = groups.get(gi);
            g.lr = gs.lr();
            g.momentum = gs.momentum();
            g.eps = gs.eps();
            g.weightDecay = gs.weightDecay();
            g.maximize = gs.maximize();
            g.scaling = gs.scaling();
            for (int ti = 0; ti < g.tensors.size(); ti++) {
                Checkpoint.TensorState ts = gs.tensors().get(ti);
                Tensor t = g.tensors.get(ti);
                t.steps = ts.steps();
                t.gsnr = ts.gsnr();
                t.scale = ts.scale();
                if (ts.momentum() == null) {
                    t.momentum = null;
                } else {
                    if (t.momentum == null) {
                        t.momentum = backend.allocateMomentum(t.param);
                    }
                    t.momentum.copyFrom(ts.momentum());
                    backend.stateFromHost(t.momentum);
                }
            }
        }
        lastSkip = null;
    }

    /** Releases the backend's threads or device memory. Idempotent; the optimizer cannot step afterwards. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            backend.close();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the optimizer is closed");
        }
    }

    double maxGsnr() {
        return maxGsnr;
    }

    /**
     * A step skipped under {@link NonFinitePolicy#SKIP_STEP}.
     *
     * @param step   number of applied steps before it
     * @param tensor name of the first tensor with a non-finite gradient
     * @param index  index of the first non-finite value in it
     * @param value  that value
     */
    public record Skip(long step, String tensor, int index, float value) {
    }

    /** A parameter group: tensors sharing hyperparameters. */
    public static final class Group {
        private final int index;
        private final List<Tensor> tensors = new ArrayList<>();
        private double lr;
        private double momentum;
        private double eps;
        private double weightDecay;
        private boolean maximize;
        private Scaling scaling;

        private Group(int index, double lr, double momentum, double eps, double weightDecay, boolean maximize,
                      Scaling scaling) {
            this.index = index;
            this.lr = lr;
            this.momentum = momentum;
            this.eps = eps;
            this.weightDecay = weightDecay;
            this.maximize = maximize;
            this.scaling = scaling;
        }

        /** Position in {@link SgdSai#groups()}. */
        public int index() {
            return index;
        }

        /** The group's tensors. */
        public List<Tensor> tensors() {
            return Collections.unmodifiableList(tensors);
        }

        /** Learning rate η. */
        public double lr() {
            return lr;
        }

        /**
         * Changes the learning rate from the next step on (e.g. from a schedule).
         *
         * @throws IllegalArgumentException if {@code lr} is NaN, infinite or negative (nothing is changed)
         */
        public void setLr(double lr) {
            this.lr = Hyper.lr("group " + index, lr);
        }

        /** Momentum μ. */
        public double momentum() {
            return momentum;
        }

        /** ε of the g-SNR denominator. */
        public double eps() {
            return eps;
        }

        /** Decoupled weight decay λ. */
        public double weightDecay() {
            return weightDecay;
        }

        /** Whether the group maximizes. */
        public boolean maximize() {
            return maximize;
        }

        /** The scaling mode. */
        public Scaling scaling() {
            return scaling;
        }
    }

    /** A parameter tensor with its gradient and state. */
    public static final class Tensor {
        private final String name;
        private final Group group;
        private final FloatSpan param;
        private final FloatSpan grad;
        private FloatSpan momentum;
        private boolean frozen;
        private long steps;
        private double gsnr = Double.NaN;
        private float scale = Float.NaN;

        private Tensor(String name, Group group, FloatSpan param, FloatSpan grad) {
            this.name = name;
            this.group = group;
            this.param = param;
            this.grad = grad;
        }

        private void fixScale(double g, double max) {
            gsnr = g;
            scale = switch (group.scaling) {
                case GSNR -> (float) g;
                case GSNR_MAX_NORMALIZED -> (float) (g / max);
                case NONE -> 1f;
            };
        }

        /** The tensor's name (unique within the optimizer). */
        public String name() {
            return name;
        }

        /** The group it belongs to. */
        public Group group() {
            return group;
        }

        /** Number of elements n. */
        public int length() {
            return param.length();
        }

        /** The parameter storage (modified by {@link SgdSai#step()}). */
        public FloatSpan param() {
            return param;
        }

        /** The gradient storage (never modified by the optimizer). */
        public FloatSpan grad() {
            return grad;
        }

        /** Whether the tensor sits out steps. */
        public boolean isFrozen() {
            return frozen;
        }

        /**
         * Makes the tensor sit out (or take part in) the following steps, like a PyTorch parameter whose
         * {@code grad} is {@code None}: a frozen tensor is left untouched, and its g-SNR is computed the first
         * time it takes part.
         */
        public void setFrozen(boolean frozen) {
            this.frozen = frozen;
        }

        /** Number of steps this tensor took part in. */
        public long steps() {
            return steps;
        }

        /** Whether the g-SNR has been computed (the tensor has taken part in a step). */
        public boolean hasGsnr() {
            return !Double.isNaN(gsnr);
        }

        /** The g-SNR from the tensor's first step, or NaN before it. */
        public double gsnr() {
            return gsnr;
        }

        /** The learning-rate scale s used in every step (see {@link Scaling}), or NaN before the first step. */
        public float scale() {
            return scale;
        }

        FloatSpan momentumBuffer() {
            return momentum;
        }

        @Override
        public String toString() {
            return "Tensor[" + name + ", n=" + length() + ", group=" + group.index + "]";
        }
    }

    /** Hyperparameters and tensors of a group added with {@link Builder#group}. */
    public static final class GroupBuilder extends GroupSpec<GroupBuilder> {
        private GroupBuilder() {
        }
    }

    /**
     * Builds an {@link SgdSai}. Hyperparameters set here are the defaults of every group; tensors added here
     * form the default group (group 0); {@link #group} adds further groups.
     */
    public static final class Builder extends GroupSpec<Builder> {
        private final List<GroupBuilder> extraGroups = new ArrayList<>();
        private NonFinitePolicy policy = NonFinitePolicy.THROW;
        private String backendName;
        private int threads = Runtime.getRuntime().availableProcessors();

        private Builder() {
        }

        /** Adds a parameter group configured by {@code config} (unset hyperparameters come from this builder). */
        public Builder group(Consumer<GroupBuilder> config) {
            GroupBuilder g = new GroupBuilder();
            config.accept(g);
            extraGroups.add(g);
            return this;
        }

        /** What a step does with NaN or infinite gradients; default {@link NonFinitePolicy#THROW}. */
        public Builder nonFinite(NonFinitePolicy policy) {
            this.policy = Objects.requireNonNull(policy, "nonFinite policy is null");
            return this;
        }

        /**
         * Forces a backend by name ({@code "scalar"}, {@code "vector"}, …); by default the best one present is
         * chosen (see {@link Backends}).
         */
        public Builder backend(String name) {
            this.backendName = Objects.requireNonNull(name, "backend name is null");
            return this;
        }

        /** Threads the backend may use; default the number of available processors. */
        public Builder threads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            }
            this.threads = threads;
            return this;
        }

        /**
         * Validates everything and creates the optimizer (and its backend).
         *
         * @throws IllegalArgumentException naming the group or tensor at fault: bad hyperparameters, no lr,
         *                                  no tensors, duplicate names, or storage registered twice / overlapping
         */
        public SgdSai build() {
            List<GroupSpec<?>> specs = new ArrayList<>();
            if (!tensors.isEmpty()) {
                specs.add(this);
            }
            specs.addAll(extraGroups);
            List<Group> groups = new ArrayList<>();
            Set<String> names = new HashSet<>();
            List<FloatSpan> storage = new ArrayList<>();
            List<String> owners = new ArrayList<>();
            for (GroupSpec<?> spec : specs) {
                String where = "group " + groups.size();
                if (spec.tensors.isEmpty()) {
                    throw new IllegalArgumentException(where + ": has no tensors");
                }
                Double lrValue = spec.lr != null ? spec.lr : lr;
                if (lrValue == null) {
                    throw new IllegalArgumentException(where + ": lr is required (set it on the builder or the group)");
                }
                Group g = new Group(groups.size(),
                        Hyper.lr(where, lrValue),
                        Hyper.momentum(where, pick(spec.momentum, momentum, 0.9)),
                        Hyper.eps(where, pick(spec.eps, eps, 1e-8)),
                        Hyper.weightDecay(where, pick(spec.weightDecay, weightDecay, 1e-2)),
                        spec.maximize != null ? spec.maximize : maximize != null && maximize,
                        spec.scaling != null ? spec.scaling : scaling != null ? scaling : Scaling.GSNR);
                for (GroupSpec.TensorSpec ts : spec.tensors) {
                    if (!names.add(ts.name())) {
                        throw new IllegalArgumentException("tensor '" + ts.name() + "': the name is used twice");
                    }
                    g.tensors.add(new Tensor(ts.name(), g, ts.param(), ts.grad()));
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
            Backend backend = Backends.create(backendFor(specs), new BackendOptions(threads));
            for (Group g : groups) {
                for (Tensor t : g.tensors) {
                    String problem = backend.storageProblem(t.param, t.grad);
                    if (problem != null) {
                        backend.close();
                        throw new IllegalArgumentException("tensor '" + t.name + "': " + problem);
                    }
                }
            }
            return new SgdSai(this, groups, backend);
        }

        /**
         * The backend to create: the one whose device holds the tensors, if any are {@linkplain
         * FloatSpan#isDeviceResident() device-resident} (and then no other may be asked for), else the one asked for.
         */
        private String backendFor(List<GroupSpec<?>> specs) {
            String device = null;
            String first = null;
            for (GroupSpec<?> spec : specs) {
                for (GroupSpec.TensorSpec ts : spec.tensors) {
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

        private static String place(String device) {
            return device == null ? "in host memory" : "on the '" + device + "' device";
        }

        private static double pick(Double groupValue, Double builderValue, double dflt) {
            return groupValue != null ? groupValue : builderValue != null ? builderValue : dflt;
        }
    }
}
