// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

import io.github.sgdsai.FloatSpan;

/**
 * All tensors taking part in one step, handed to a backend at once (PyTorch's "foreach" idea), so a backend
 * can spread work over threads or launch one device kernel per step. {@code core} owns and refills one batch
 * per optimizer; backends only read it.
 *
 * <h2>The arithmetic (normative for every backend)</h2>
 * With {@code fma} a fused multiply-add of floats (one rounding) and every other operation in float, entry
 * {@code i} with parameter p, gradient g and momentum m is updated element by element as
 * <ul>
 *   <li>{@link Kind#SGD} (no momentum buffer): {@code p = fma(g, c, p * decay)} with {@code c = sign * negStep};</li>
 *   <li>{@link Kind#INIT} (first step, buffer present): {@code m = sign * g; p = fma(g, c, p * decay)};</li>
 *   <li>{@link Kind#MOMENTUM}: {@code m = fma(g, gradCoef, m * mu); p = fma(m, negStep, p * decay)}.</li>
 * </ul>
 * where {@code sign} is -1 when maximizing and +1 otherwise, {@code gradCoef = sign * (float)(1 - μ)},
 * {@code mu = (float) μ}, {@code negStep = -((float) η * s)} and {@code decay = (float)(1 - λη)}. Since
 * multiplying by ±1 is exact, these are exactly the official package's {@code m = g} (first step),
 * {@code m = fma(g, 1 - μ, m * μ)}, {@code p = fma(m, -η s, p * (1 - λη))} applied to the signed gradient.
 */
public final class StepBatch {

    /** Which form of the update an entry takes. */
    public enum Kind {
        /** Momentum 0: no buffer, the gradient is the direction. */
        SGD,
        /** First step of a tensor with a momentum buffer: the buffer is set to the signed gradient. */
        INIT,
        /** Every later step of a tensor with a momentum buffer. */
        MOMENTUM
    }

    private final FloatSpan[] params;
    private final FloatSpan[] grads;
    private final FloatSpan[] momenta;
    private final Kind[] kinds;
    private final float[] signs;
    private final float[] gradCoefs;
    private final float[] mus;
    private final float[] negSteps;
    private final float[] decays;
    private int size;
    private long elements;

    /** A batch with room for {@code capacity} entries. */
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
    }

    /** Empties the batch (keeps its capacity). */
    public void clear() {
        size = 0;
        elements = 0;
    }

    /** Appends an entry with only storage set (enough for {@link Backend#firstNonFiniteTensor}); returns its index. */
    public int add(FloatSpan param, FloatSpan grad, FloatSpan momentum) {
        int i = size++;
        params[i] = param;
        grads[i] = grad;
        momenta[i] = momentum;
        kinds[i] = null;
        elements += param.length();
        return i;
    }

    /** Sets the update coefficients of entry {@code i} (see the class documentation for their meaning). */
    public void setRule(int i, Kind kind, float sign, float gradCoef, float mu, float negStep, float decay) {
        kinds[i] = kind;
        signs[i] = sign;
        gradCoefs[i] = gradCoef;
        mus[i] = mu;
        negSteps[i] = negStep;
        decays[i] = decay;
    }

    /** Sets the momentum buffer of entry {@code i}. */
    public void setMomentum(int i, FloatSpan momentum) {
        momenta[i] = momentum;
    }

    /** Number of entries. */
    public int size() {
        return size;
    }

    /** Total number of parameter elements over all entries. */
    public long elements() {
        return elements;
    }

    /** Parameter of entry {@code i}. Modified by {@link Backend#update}. */
    public FloatSpan param(int i) {
        return params[i];
    }

    /** Gradient of entry {@code i}. Not modified. */
    public FloatSpan grad(int i) {
        return grads[i];
    }

    /** Momentum buffer of entry {@code i}, {@code null} for {@link Kind#SGD}. Modified by {@link Backend#update}. */
    public FloatSpan momentum(int i) {
        return momenta[i];
    }

    /** Update form of entry {@code i}. */
    public Kind kind(int i) {
        return kinds[i];
    }

    /** -1 when maximizing, else +1. */
    public float sign(int i) {
        return signs[i];
    }

    /** {@code sign * (float)(1 - μ)}. */
    public float gradCoef(int i) {
        return gradCoefs[i];
    }

    /** {@code (float) μ}. */
    public float mu(int i) {
        return mus[i];
    }

    /** {@code -((float) η * s)}. */
    public float negStep(int i) {
        return negSteps[i];
    }

    /** {@code (float)(1 - λη)}. */
    public float decay(int i) {
        return decays[i];
    }
}
