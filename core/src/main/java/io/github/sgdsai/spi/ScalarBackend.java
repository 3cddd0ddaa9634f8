// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

import io.github.sgdsai.FloatSpan;

/**
 * The portable reference backend: plain Java, one element at a time, one thread. It defines the results
 * every other backend must reproduce, and its static range kernels double as the scalar tails and test
 * oracles of faster backends. Kernels check nothing; {@code core} validates first.
 */
public final class ScalarBackend implements Backend {

    /** The backend's name, {@value}. */
    public static final String NAME = "scalar";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int firstNonFiniteTensor(StepBatch batch) {
        for (int t = 0; t < batch.size(); t++) {
            FloatSpan g = batch.grad(t);
            if (firstNonFinite(g, 0, g.length()) >= 0) {
                return t;
            }
        }
        return -1;
    }

    @Override
    public void moments(FloatSpan grad, double[] out) {
        int n = grad.length();
        double mean = sum(grad, 0, n) / n;
        double[] acc = new double[3];
        centeredSums(grad, mean, 0, n, acc);
        out[0] = acc[0];
        out[1] = correctedM2(acc[1], acc[2], n);
    }

    @Override
    public void update(StepBatch batch) {
        for (int t = 0; t < batch.size(); t++) {
            update(batch, t, 0, batch.param(t).length());
        }
    }

    /** Applies entry {@code t} of {@code batch} to elements {@code [from, to)}. Modifies its parameter and momentum. */
    public static void update(StepBatch batch, int t, int from, int to) {
        FloatSpan p = batch.param(t);
        FloatSpan g = batch.grad(t);
        float decay = batch.decay(t);
        switch (batch.kind(t)) {
            case SGD -> sgd(p, g, batch.sign(t) * batch.negStep(t), decay, from, to);
            case INIT -> init(p, g, batch.momentum(t), batch.sign(t), batch.sign(t) * batch.negStep(t), decay, from, to);
            case MOMENTUM -> momentum(p, g, batch.momentum(t), batch.gradCoef(t), batch.mu(t), batch.negStep(t),
                    decay, from, to);
        }
    }

    /**
     * {@code p = fma(g, c, p * decay)} on {@code [from, to)}. Modifies p; g not modified.
     */
    public static void sgd(FloatSpan p, FloatSpan g, float c, float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            p.set(i, Math.fma(g.get(i), c, p.get(i) * decay));
        }
    }

    /**
     * {@code m = sign * g; p = fma(g, c, p * decay)} on {@code [from, to)}. Modifies p and m; g not modified.
     */
    public static void init(FloatSpan p, FloatSpan g, FloatSpan m, float sign, float c, float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            float gi = g.get(i);
            m.set(i, sign * gi);
            p.set(i, Math.fma(gi, c, p.get(i) * decay));
        }
    }

    /**
     * {@code m = fma(g, gradCoef, m * mu); p = fma(m, negStep, p * decay)} on {@code [from, to)}.
     * Modifies p and m; g not modified.
     */
    public static void momentum(FloatSpan p, FloatSpan g, FloatSpan m, float gradCoef, float mu, float negStep,
                                float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            float mi = Math.fma(g.get(i), gradCoef, m.get(i) * mu);
            m.set(i, mi);
            p.set(i, Math.fma(mi, negStep, p.get(i) * decay));
        }
    }

    /** Index of the first NaN or infinity in {@code g[from, to)}, or -1. Modifies nothing. */
    public static int firstNonFinite(FloatSpan g, int from, int to) {
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(g.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /**
     * {@code Σ g_i} over {@code [from, to)} in double, in index order, compensated (each addition's rounding error
     * is kept by Knuth's TwoSum and added back at the end), so the result is within a few ulp of the exact sum
     * whatever the magnitudes: different backends' summation orders then agree to far better than 1e-12.
     */
    public static double sum(FloatSpan g, int from, int to) {
        double s = 0;
        double c = 0;
        for (int i = from; i < to; i++) {
            double x = g.get(i);
            double t = s + x;
            double bp = t - s;
            c += (s - (t - bp)) + (x - bp); // TwoSum error of s + x
            s = t;
        }
        return s + c;
    }

    /**
     * Adds {@code Σ g_i²}, {@code Σ d_i} and {@code Σ d_i²} over {@code [from, to)}, with {@code d_i = g_i − mean},
     * to {@code acc[0..2]}, in double, in index order, each sum compensated as in {@link #sum}. Modifies
     * {@code acc} only.
     */
    public static void centeredSums(FloatSpan g, double mean, int from, int to, double[] acc) {
        double sq = 0, sqc = 0;
        double sd = 0, sdc = 0;
        double sd2 = 0, sd2c = 0;
        for (int i = from; i < to; i++) {
            double gi = g.get(i);
            double d = gi - mean;
            double x = gi * gi;
            double t = sq + x;
            double bp = t - sq;
            sqc += (sq - (t - bp)) + (x - bp);
            sq = t;
            t = sd + d;
            bp = t - sd;
            sdc += (sd - (t - bp)) + (d - bp);
            sd = t;
            x = d * d;
            t = sd2 + x;
            bp = t - sd2;
            sd2c += (sd2 - (t - bp)) + (x - bp);
            sd2 = t;
        }
        acc[0] += sq + sqc;
        acc[1] += sd + sdc;
        acc[2] += sd2 + sd2c;
    }

    /**
     * The corrected two-pass sum of squared deviations {@code Σd² − (Σd)²/n} (Björck; Chan, Golub and LeVeque),
     * which cancels the first-order error of the computed mean; never negative.
     */
    public static double correctedM2(double sumD, double sumD2, long n) {
        return Math.max(0.0, sumD2 - sumD * sumD / n);
    }
}
