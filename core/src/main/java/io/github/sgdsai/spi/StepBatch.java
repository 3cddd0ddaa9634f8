// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

import io.github.sgdsai.FloatSpan;

/**
 * All tensors taking part in one step, handed to a backend at once (PyTorch's "foreach" idea), so a backend
 * can spread work over threads or launch one device kernel per step. {@code core} owns and refills one batch
 * per optimizer; backends only read it.
 *
 * <h2>The arithmetic (normative for every backend)</h2>
 * With {@code fma} a fused multiply-add of floats (one rounding), {@code sqrt} the correctly rounded float
 * square root and every other operation in float, entry {@code i} with parameter p, gradient g and state
 * buffers is updated element by element, always starting from the scaled gradient {@code gs = g * gradScale}
 * ({@link #gradScale}: -1 or +1 for the direction, times the clipping coefficient when clipping is on):
 * <ul>
 *   <li>{@link Kind#SGD} (no momentum buffer): {@code p = fma(gs, negStep, p * decay)};</li>
 *   <li>{@link Kind#INIT} (first step, buffer present): {@code m = gs; p = fma(gs, negStep, p * decay)};</li>
 *   <li>{@link Kind#MOMENTUM}: {@code m = fma(gs, oneMinusMu, m * mu); p = fma(m, negStep, p * decay)};</li>
 *   <li>{@link Kind#ADAMW} (state m, v, and vmax when {@link #amsgrad}): {@code p = p * decay};
 *       {@code m = fma(b1c, gs - m, m)} when {@code b1c < 0.5}, else {@code m = fma(b1c - 1, gs - m, gs)}
 *       (torch's {@code lerp}); {@code v = fma(b2c * gs, gs, v * beta2)}; with amsgrad
 *       {@code vmax = max(vmax, v)} and {@code u = vmax}, else {@code u = v};
 *       {@code d = sqrt(u) / sqrtBc2 + eps}; {@code p = p + (negStepBc * m) / d};</li>
 *   <li>{@link Kind#ADAM_MINI} (state m, and v with one value per block of {@link #blockSize} consecutive
 *       elements): as {@link Kind#ADAMW} without amsgrad, except that each block's v is updated once from the
 *       block's mean square: {@code q = (float)(sumSquares(gs over the block) / blockSize)} (the sum as
 *       {@link ScalarBackend#sumSquares} defines it), {@code v = fma(b2c, q, v * beta2)}, and every element of
 *       the block uses that v in {@code d}.</li>
 * </ul>
 * The coefficients are rounded to float from double by {@code core}: {@code oneMinusMu = (float)(1 - μ)},
 * {@code mu = (float) μ}, {@code negStep = -((float) η * s)}, {@code decay = (float)(1 - λη)};
 * for the Adam kinds {@code b1c = (float)(1 - β₁)}, {@code beta2 = (float) β₂}, {@code b2c = (float)(1 - β₂)},
 * {@code sqrtBc2 = (float) sqrt(1 - β₂ᵗ)}, {@code eps = (float) ε}, {@code negStepBc = (float)(-η / (1 - β₁ᵗ))}
 * with t the tensor's own step count. The SGD kinds are exactly the official SGD-SaI package's
 * {@code m = g} (first step), {@code m = fma(g, 1 - μ, m * μ)}, {@code p = fma(m, -η s, p * (1 - λη))} applied
 * to the scaled gradient; the Adam kinds are {@code torch.optim.AdamW(fused=True)}'s vectorised arithmetic.
 *
 * <p>The older accessors {@link #sign}, {@link #gradCoef} describe the SGD kinds when {@code |gradScale| = 1}
 * (no clipping): then {@code fma(gs, c, x) = fma(g, sign * c, x)} exactly, since multiplying by ±1 is exact.
 */
public final class StepBatch {

    /** Which form of the update an entry takes. */
    public enum Kind {
        /** Momentum 0: no buffer, the gradient is the direction. */
        SGD,
        /** First step of a tensor with a momentum buffer: the buffer is set to the signed gradient. */
        INIT,
        /** Every later step of a tensor with a momentum buffer. */
        MOMENTUM,
        /** AdamW (torch's fused arithmetic), with amsgrad when {@link StepBatch#amsgrad} is set. */
        ADAMW,
        /** Adam-mini: AdamW with one second-moment value per block of {@link StepBatch#blockSize} elements. */
        ADAM_MINI
    }

    /**
     * Elements per partial sum in {@link ScalarBackend#sumSquares}: fixed, so that every backend and thread count
     * adds the same numbers in the same order.
     */
    public static final int SUM_BLOCK = 4096;
    /** Interleaved accumulators per partial sum in {@link ScalarBackend#sumSquares}. */
    public static final int SUM_LANES = 16;

    private final FloatSpan[] params;
    private final FloatSpan[] grads;
    private final FloatSpan[] momenta;
    private final Kind[] kinds;
    private final float[] signs;
    private final float[] gradCoefs;
    private final float[] mus;
    private final float[] negSteps;
    private final float[] decays;
    private final float[] gradScales;
    private final FloatSpan[] seconds;
    private final FloatSpan[] maxSeconds;
    private final float[] b1cs;
    private final float[] beta2s;
    private final float[] b2cs;
    private final float[] sqrtBc2s;
    private final float[] epss;
    private final float[] negStepBcs;
    private final int[] blockSizes;
    private int size;
    private long elements;

    /**
     * A batch with room for {@code capacity} entries.
     *
     * @param capacity the most entries the batch will hold
     */
    public StepBatch(int capacity) {
        params = new FloatSpan[capacity];
        grads = new FloatSpan[capacity];
        momenta = new FloatSpan[capacity];
        kinds = new Kind[capacity];
        signs = new float[capacity];
        gradCoefs = new float[capacity];
        mus = new float[capacity];
        negSteps = new float[capacity];
        decays = new float[capacity];
        gradScales = new float[capacity];
        seconds = new FloatSpan[capacity];
        maxSeconds = new FloatSpan[capacity];
        b1cs = new float[capacity];
        beta2s = new float[capacity];
        b2cs = new float[capacity];
        sqrtBc2s = new float[capacity];
        epss = new float[capacity];
        negStepBcs = new float[capacity];
        blockSizes = new int[capacity];
    }

    /** Empties the batch (keeps its capacity). */
    public void clear() {
        size = 0;
        elements = 0;
    }

    /**
     * Appends an entry with only storage set (enough for {@link Backend#firstNonFiniteTensor}); returns its index.
     *
     * @param param the parameter
     * @param grad the gradient
     * @param momentum the momentum buffer, or {@code null}
     * @return the entry's index
     */
    public int add(FloatSpan param, FloatSpan grad, FloatSpan momentum) {
        int i = size++;
        params[i] = param;
        grads[i] = grad;
        momenta[i] = momentum;
        kinds[i] = null;
        seconds[i] = null;
        maxSeconds[i] = null;
        elements += param.length();
        return i;
    }

    /**
     * Sets the coefficients of an entry of an SGD kind (see the class documentation for their meaning), with
     * {@code gradScale = sign} (no clipping; {@link #setGradScale} changes it).
     *
     * @param i index of the entry
     * @param kind the update form
     * @param sign -1 when maximizing, else +1
     * @param gradCoef {@code sign * (float)(1 - μ)}
     * @param mu {@code (float) μ}
     * @param negStep {@code -((float) η * s)}
     * @param decay {@code (float)(1 - λη)}
     */
    public void setRule(int i, Kind kind, float sign, float gradCoef, float mu, float negStep, float decay) {
        kinds[i] = kind;
        signs[i] = sign;
        gradCoefs[i] = gradCoef;
        mus[i] = mu;
        negSteps[i] = negStep;
        decays[i] = decay;
        gradScales[i] = sign;
    }

    /**
     * Sets the coefficients of an entry of kind {@link Kind#ADAMW} or {@link Kind#ADAM_MINI} (see the class
     * documentation); {@code second} is v (one value per block for Adam-mini) and {@code maxSecond} the amsgrad
     * maximum or {@code null}. {@code blockSize} is 1 for AdamW.
     *
     * @param i index of the entry
     * @param kind the update form
     * @param gradScale the gradient scale: the sign times the clipping coefficient
     * @param decay {@code (float)(1 - λη)}
     * @param b1c {@code (float)(1 - β₁)}
     * @param beta2 {@code (float) β₂}
     * @param b2c {@code (float)(1 - β₂)}
     * @param sqrtBc2 {@code (float) sqrt(1 - β₂ᵗ)}
     * @param eps {@code (float) ε}
     * @param negStepBc {@code (float)(-η / (1 - β₁ᵗ))}
     * @param second the second moment v (one value per block for Adam-mini)
     * @param maxSecond the amsgrad maximum of v, or {@code null} without amsgrad
     * @param blockSize elements per second-moment block: 1 for AdamW, the partition's block for Adam-mini
     */
    public void setAdam(int i, Kind kind, float gradScale, float decay, float b1c, float beta2, float b2c,
                        float sqrtBc2, float eps, float negStepBc, FloatSpan second, FloatSpan maxSecond,
                        int blockSize) {
        kinds[i] = kind;
        signs[i] = Math.copySign(1f, gradScale);
        gradScales[i] = gradScale;
        decays[i] = decay;
        b1cs[i] = b1c;
        beta2s[i] = beta2;
        b2cs[i] = b2c;
        sqrtBc2s[i] = sqrtBc2;
        epss[i] = eps;
        negStepBcs[i] = negStepBc;
        seconds[i] = second;
        maxSeconds[i] = maxSecond;
        blockSizes[i] = blockSize;
    }

    /**
     * Sets the gradient scale of entry {@code i}: its sign times the clipping coefficient.
     *
     * @param i index of the entry
     * @param gradScale the gradient scale: the sign times the clipping coefficient
     */
    public void setGradScale(int i, float gradScale) {
        gradScales[i] = gradScale;
    }

    /**
     * Sets the momentum buffer of entry {@code i}.
     *
     * @param i index of the entry
     * @param momentum the momentum buffer
     */
    public void setMomentum(int i, FloatSpan momentum) {
        momenta[i] = momentum;
    }

    /**
     * Number of entries.
     *
     * @return the number of entries
     */
    public int size() {
        return size;
    }

    /**
     * Total number of parameter elements over all entries.
     *
     * @return the total number of parameter elements over all entries
     */
    public long elements() {
        return elements;
    }

    /**
     * Parameter of entry {@code i}. Modified by {@link Backend#update}.
     *
     * @param i index of the entry
     * @return the parameter of entry {@code i}
     */
    public FloatSpan param(int i) {
        return params[i];
    }

    /**
     * Gradient of entry {@code i}. Not modified.
     *
     * @param i index of the entry
     * @return the gradient of entry {@code i}
     */
    public FloatSpan grad(int i) {
        return grads[i];
    }

    /**
     * Momentum buffer (the first moment m for the Adam kinds) of entry {@code i}, {@code null} for {@link Kind#SGD}.
     * Modified by {@link Backend#update}.
     *
     * @param i index of the entry
     * @return the momentum buffer (the first moment m for the Adam kinds) of entry {@code i}, {@code null} for {@link Kind#SGD}
     */
    public FloatSpan momentum(int i) {
        return momenta[i];
    }

    /**
     * Update form of entry {@code i}.
     *
     * @param i index of the entry
     * @return the update form of entry {@code i}
     */
    public Kind kind(int i) {
        return kinds[i];
    }

    /**
     * -1 when maximizing, else +1.
     *
     * @param i index of the entry
     * @return -1 when maximizing, else +1
     */
    public float sign(int i) {
        return signs[i];
    }

    /**
     * {@code sign * (float)(1 - μ)}.
     *
     * @param i index of the entry
     * @return {@code sign * (float)(1 - μ)}
     */
    public float gradCoef(int i) {
        return gradCoefs[i];
    }

    /**
     * {@code (float) μ}.
     *
     * @param i index of the entry
     * @return {@code (float) μ}
     */
    public float mu(int i) {
        return mus[i];
    }

    /**
     * {@code -((float) η * s)}.
     *
     * @param i index of the entry
     * @return {@code -((float) η * s)}
     */
    public float negStep(int i) {
        return negSteps[i];
    }

    /**
     * {@code (float)(1 - λη)}.
     *
     * @param i index of the entry
     * @return {@code (float)(1 - λη)}
     */
    public float decay(int i) {
        return decays[i];
    }

    /**
     * The factor every gradient element is multiplied by first: the sign times the clipping coefficient.
     *
     * @param i index of the entry
     * @return the factor every gradient element is multiplied by first: the sign times the clipping coefficient
     */
    public float gradScale(int i) {
        return gradScales[i];
    }

    /**
     * {@code (float)(1 - μ)} (SGD kinds).
     *
     * @param i index of the entry
     * @return {@code (float)(1 - μ)} (SGD kinds)
     */
    public float oneMinusMu(int i) {
        return signs[i] * gradCoefs[i];
    }

    /**
     * The second moment v of an Adam entry (one value per block for Adam-mini). Modified by {@link Backend#update}.
     *
     * @param i index of the entry
     * @return the second moment v of an Adam entry (one value per block for Adam-mini)
     */
    public FloatSpan second(int i) {
        return seconds[i];
    }

    /**
     * The amsgrad maximum of v, or {@code null} without amsgrad. Modified by {@link Backend#update}.
     *
     * @param i index of the entry
     * @return the amsgrad maximum of v, or {@code null} without amsgrad
     */
    public FloatSpan maxSecond(int i) {
        return maxSeconds[i];
    }

    /**
     * Whether an {@link Kind#ADAMW} entry uses amsgrad.
     *
     * @param i index of the entry
     * @return whether an {@link Kind#ADAMW} entry uses amsgrad
     */
    public boolean amsgrad(int i) {
        return maxSeconds[i] != null;
    }

    /**
     * {@code (float)(1 - β₁)} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float)(1 - β₁)} (Adam kinds)
     */
    public float b1c(int i) {
        return b1cs[i];
    }

    /**
     * {@code (float) β₂} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float) β₂} (Adam kinds)
     */
    public float beta2(int i) {
        return beta2s[i];
    }

    /**
     * {@code (float)(1 - β₂)} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float)(1 - β₂)} (Adam kinds)
     */
    public float b2c(int i) {
        return b2cs[i];
    }

    /**
     * {@code (float) sqrt(1 - β₂ᵗ)} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float) sqrt(1 - β₂ᵗ)} (Adam kinds)
     */
    public float sqrtBc2(int i) {
        return sqrtBc2s[i];
    }

    /**
     * {@code (float) ε} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float) ε} (Adam kinds)
     */
    public float eps(int i) {
        return epss[i];
    }

    /**
     * {@code (float)(-η / (1 - β₁ᵗ))} (Adam kinds).
     *
     * @param i index of the entry
     * @return {@code (float)(-η / (1 - β₁ᵗ))} (Adam kinds)
     */
    public float negStepBc(int i) {
        return negStepBcs[i];
    }

    /**
     * Elements per second-moment block: 1 for AdamW, the partition's block for Adam-mini.
     *
     * @param i index of the entry
     * @return the elements per second-moment block: 1 for AdamW, the partition's block for Adam-mini
     */
    public int blockSize(int i) {
        return blockSizes[i];
    }
}
