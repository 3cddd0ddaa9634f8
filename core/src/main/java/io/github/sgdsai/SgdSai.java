// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;

import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * SGD-SaI: SGD with momentum and decoupled weight decay in which every parameter tensor's learning rate is
 * scaled by a constant fixed at initialization, its gradient signal-to-noise ratio (g-SNR).
 * ("No More Adam: Learning Rate Scaling at Initialization is All You Need", arXiv 2412.11768; the official
 * PyTorch package {@code SGD-SaI} 1.0.3.)
 *
 * <h2>The update</h2>
 * For each tensor taking part in a step, with gradient g (−g when maximizing, times the clipping coefficient when
 * clipping), learning rate η, momentum μ, eps ε and weight decay λ of its group:
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
 * State: one float per parameter (the momentum), against AdamW's two.
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
 * }
 * }</pre>
 *
 * <p>Not thread-safe: call it from one thread at a time. It owns its backend (and the backend's threads):
 * {@link #close()} releases them.
 */
public final class SgdSai extends Optimizer {

    /**
     * A g-SNR above this at a tensor's first step logs a warning: it means a (nearly) constant or one-element first
     * gradient, whose scale {@code ‖g‖ / (σ + ε)} is about {@code ‖g‖ / ε}. A g-SNR of 0 (an all-zero first gradient,
     * which makes the scale 0 for good) logs one too. One warning per tensor, through {@link System.Logger} {@code
     * "io.github.sgdsai"}.
     */
    public static final double GSNR_WARN_THRESHOLD = 1e6;

    private static final System.Logger LOG = System.getLogger("io.github.sgdsai");

    private final double[] pendingGsnr;
    private final float[] pendingScale;
    private final double[] moments = new double[2];
    private double maxGsnr = Double.NaN;
    private double pendingMax = Double.NaN;

    private SgdSai(Builder b, List<Group> groups, Backend backend) {
        super(b, groups, backend);
        this.pendingGsnr = new double[active.length];
        this.pendingScale = new float[active.length];
    }

    /**
     * A new builder. Defaults: momentum 0.9, eps 1e-8, weight decay 1e-2, maximize false, {@link Scaling#GSNR}; lr
     * has none.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    Kind kind() {
        return Kind.SGD_SAI;
    }

    @Override
    Set<Backend.Feature> features() {
        return EnumSet.of(Backend.Feature.SGD_MOMENTUM);
    }

    /**
     * Computes into {@link #pendingGsnr} and {@link #pendingScale} the g-SNR and scale of every active tensor without
     * one, and the max to fix; then checks that every active tensor's scale and step size {@code (float) η · s} are
     * finite floats.
     */
    @Override
    Tensor prepare(int n, float clip) {
        double max = Double.NaN;
        boolean fixMax = Double.isNaN(maxGsnr);
        boolean sawMaxMode = false;
        for (int i = 0; i < n; i++) {
            Tensor t = active[i];
            if (t.hasGsnr()) {
                continue;
            }
            backend.moments(t.grad, clip, moments);
            double g = gsnr(t.length(), moments[0], moments[1], t.group.eps);
            if (!Double.isFinite(g)) {
                throw new ArithmeticException("tensor '" + t.name + "': g-SNR = ‖g‖ / (σ + eps) is not finite (‖g‖² = "
                        + moments[0] + ", Σ(g − mean)² = " + moments[1] + ", eps = " + t.group.eps + "); "
                        + (Double.isFinite(moments[0]) && Double.isFinite(moments[1])
                        ? "a constant gradient needs eps > 0" : "its first gradient holds NaN or infinite values, which "
                        + "NonFinitePolicy.UNCHECKED does not look for") + ". Nothing was changed");
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
        pendingMax = max;
        double maxNow = fixMax ? max : maxGsnr;
        for (int i = 0; i < n; i++) {
            Tensor t = active[i];
            float s = t.hasGsnr() ? t.scale : scale(t.group.scaling, pendingGsnr[i], maxNow);
            pendingScale[i] = s;
            // setEntry's step size; an overflow would write ±Inf into the parameters.
            if (!Float.isFinite((float) t.group.nextLr() * s)) {
                if (nonFinitePolicy() == NonFinitePolicy.SKIP_STEP) {
                    return t;
                }
                throw new ArithmeticException("tensor '" + t.name + "': g-SNR overflow: its learning-rate scale s = "
                        + s + " (g-SNR " + (t.hasGsnr() ? t.gsnr : pendingGsnr[i]) + ") times lr " + t.group.nextLr()
                        + " is not a finite float, so the step would write infinities into the parameters (a huge, "
                        + "nearly constant first gradient?). Nothing was changed");
            }
        }
        return null;
    }

    private static float scale(Scaling scaling, double gsnr, double max) {
        return switch (scaling) {
            case GSNR -> (float) gsnr;
            case GSNR_MAX_NORMALIZED -> (float) (gsnr / max);
            case NONE -> 1f;
        };
    }

    @Override
    void commit() {
        if (!Double.isNaN(pendingMax)) {
            maxGsnr = pendingMax;
        }
    }

    @Override
    void setEntry(StepBatch batch, int i, Tensor t, float gs) {
        Group g = t.group;
        if (!t.hasGsnr()) {
            t.gsnr = pendingGsnr[i];
            t.scale = pendingScale[i];
            warnIfSuspicious(t);
        }
        boolean fresh = t.momentum == null && g.momentum > 0;
        if (fresh) {
            t.momentum = backend.allocateMomentum(t.param);
            batch.setMomentum(i, t.momentum);
        }
        float sign = g.maximize ? -1f : 1f;
        float negStep = -((float) g.lr * t.scale);
        float decay = (float) (1.0 - g.weightDecay * g.lr);
        StepBatch.Kind kind = t.momentum == null ? StepBatch.Kind.SGD
                : fresh ? StepBatch.Kind.INIT : StepBatch.Kind.MOMENTUM;
        batch.setRule(i, kind, sign, sign * (float) (1.0 - g.momentum), (float) g.momentum, negStep, decay);
        batch.setGradScale(i, gs);
    }

    /** Logs one warning when a tensor's g-SNR, fixed now for good, is 0 or above {@link #GSNR_WARN_THRESHOLD}. */
    private static void warnIfSuspicious(Tensor t) {
        if (t.gsnr == 0) {
            LOG.log(System.Logger.Level.WARNING, "sgdsai: tensor ''{0}'': g-SNR is 0 (its first gradient is all zeros), "
                    + "so its learning-rate scale is 0 for good and SGD-SaI will never move it (only weight decay "
                    + "applies). Fill the gradients before the first step(), or freeze the tensor until they are real",
                    t.name);
        } else if (t.gsnr > GSNR_WARN_THRESHOLD) {
            LOG.log(System.Logger.Level.WARNING, "sgdsai: tensor ''{0}'': g-SNR is {1} (above {2}): its first gradient "
                    + "is (nearly) constant or has one element, so σ ≈ 0 and its learning-rate scale ‖g‖ / (σ + eps) is "
                    + "huge for good; the step η·s may be far too large. Consider Scaling.NONE or a group with a smaller "
                    + "lr for it", t.name, String.valueOf(t.gsnr), String.valueOf(GSNR_WARN_THRESHOLD));
        }
    }

    /**
     * Hook for trainers that hold a tensor in slices on several machines (the {@code sgdsai-spark} module, whose
     * shards are optimizers over slices): fixes the g-SNR of tensor {@code name} before its first step from the
     * moments of its <em>whole</em> gradient, computed elsewhere exactly as {@link io.github.sgdsai.spi.Backend#moments}
     * computes them ({@code sumSquares = Σg²}, {@code m2 = Σ(g − mean)²}, of the gradient the step will see, i.e. after
     * clipping). The g-SNR and scale are derived from them as a step would ({@link Scaling#GSNR} or {@link
     * Scaling#NONE}), so an optimizer over a slice of the tensor then updates it bit for bit as one holding the whole
     * tensor. Takes effect at once ({@link Tensor#gsnr()} reports it); the tensor's first step then computes nothing.
     *
     * @param name       the tensor's name
     * @param n          the whole tensor's length (at least the slice's)
     * @param sumSquares {@code Σg²} of the whole gradient
     * @param m2         {@code Σ(g − mean)²} of the whole gradient
     * @throws IllegalArgumentException if there is no such tensor or {@code n} is smaller than its length
     * @throws IllegalStateException    if the tensor already has a g-SNR, or its group is {@link
     *                                  Scaling#GSNR_MAX_NORMALIZED} (whose maximum is over every tensor at once)
     * @throws ArithmeticException      if the g-SNR is not finite (e.g. eps = 0 and a constant gradient); nothing is
     *                                  changed
     */
    public void presetMoments(String name, long n, double sumSquares, double m2) {
        Tensor t = tensor(name);
        if (n < t.length()) {
            throw new IllegalArgumentException("tensor '" + name + "': n = " + n + " is smaller than its length " + t.length());
        }
        if (t.hasGsnr()) {
            throw new IllegalStateException("tensor '" + name + "' already has its g-SNR (" + t.gsnr + ")");
        }
        if (t.group.scaling == Scaling.GSNR_MAX_NORMALIZED) {
            throw new IllegalStateException("tensor '" + name + "': GSNR_MAX_NORMALIZED takes a maximum over every "
                    + "tensor at once, which a preset of one tensor cannot give");
        }
        double g = gsnr(n, sumSquares, m2, t.group.eps);
        if (!Double.isFinite(g)) {
            throw new ArithmeticException("tensor '" + name + "': g-SNR = ‖g‖ / (σ + eps) is not finite (‖g‖² = "
                    + sumSquares + ", Σ(g − mean)² = " + m2 + ", eps = " + t.group.eps + "). Nothing was changed");
        }
        float s = scale(t.group.scaling, g, Double.NaN);
        if (!Float.isFinite(s)) {
            throw new ArithmeticException("tensor '" + name + "': g-SNR overflow: its learning-rate scale (float) " + g
                    + " is not a finite float. Nothing was changed");
        }
        t.gsnr = g;
        t.scale = s;
        warnIfSuspicious(t);
    }

    @Override
    double savedScalar() {
        return maxGsnr;
    }

    @Override
    void restoreScalars(double value) {
        maxGsnr = value;
    }

    double maxGsnr() {
        return maxGsnr;
    }

    /**
     * The g-SNR {@code ‖g‖₂ / (σ + ε)} of a gradient as the optimizer computes it at a tensor's first step
     * (σ the unbiased standard deviation, 0 for one element; in double, with the scalar reference kernels).
     * Modifies nothing. May return infinity or NaN (e.g. ε = 0 and a constant gradient).
     *
     * @param grad the gradient
     * @param eps  ε, finite and {@code >= 0}
     * @return the g-SNR
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

    /** Hyperparameters and tensors of a group added with {@link Builder#group}. */
    public static final class GroupBuilder extends GroupSpec<GroupBuilder> implements SgdSaiSettings<GroupBuilder> {
        private GroupBuilder() {
        }
    }

    /**
     * Builds an {@link SgdSai}. Hyperparameters set here are the defaults of every group; tensors added here form the
     * default group (group 0); {@link #group} adds further groups.
     */
    public static final class Builder extends Optimizer.Builder<Builder, GroupBuilder, SgdSai>
            implements SgdSaiSettings<Builder> {
        private static final GroupSpec.Values DEFAULTS = new GroupSpec.Values(Double.NaN, 0.9, Double.NaN, 1e-8, 1e-2,
                false, Scaling.GSNR, false, null, null, null);

        private Builder() {
        }

        @Override
        GroupBuilder newGroup() {
            return new GroupBuilder();
        }

        @Override
        GroupSpec.Values defaults() {
            return DEFAULTS;
        }

        @Override
        int blockSize(Group g, GroupSpec.TensorSpec t) {
            return 0;
        }

        @Override
        SgdSai create(List<Group> groups, Backend backend) {
            return new SgdSai(this, groups, backend);
        }
    }
}
