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

    /** Creates the scalar backend (it has no settings and no state). */
    public ScalarBackend() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Every feature: this backend defines them. */
    @Override
    public boolean supports(Feature feature) {
        return true;
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

    /**
     * Applies entry {@code t} of {@code batch} to elements {@code [from, to)} (for {@link StepBatch.Kind#ADAM_MINI},
     * {@code from} and {@code to} must be multiples of the block size, or {@code to} the tensor's end). Modifies
     * its parameter and state.
     *
     * @param batch the batch
     * @param t index of the entry in the batch
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void update(StepBatch batch, int t, int from, int to) {
        FloatSpan p = batch.param(t);
        FloatSpan g = batch.grad(t);
        FloatSpan m = batch.momentum(t);
        float gs = batch.gradScale(t);
        float decay = batch.decay(t);
        switch (batch.kind(t)) {
            case SGD -> scaledSgd(p, g, gs, batch.negStep(t), decay, from, to);
            case INIT -> scaledInit(p, g, m, gs, batch.negStep(t), decay, from, to);
            case MOMENTUM -> scaledMomentum(p, g, m, gs, batch.oneMinusMu(t), batch.mu(t), batch.negStep(t), decay, from, to);
            case ADAMW -> adamw(batch, t, from, to);
            case ADAM_MINI -> {
                int b = batch.blockSize(t);
                for (int f = from; f < to; f += b) {
                    adamMiniBlock(batch, t, f, f + b);
                }
            }
        }
    }

    /**
     * {@code p = fma(g * gs, negStep, p * decay)} on {@code [from, to)}. Modifies p; g not modified.
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param gs the gradient scale (the sign times the clipping coefficient)
     * @param negStep {@code -((float) η * s)}
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void scaledSgd(FloatSpan p, FloatSpan g, float gs, float negStep, float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            p.set(i, Math.fma(g.get(i) * gs, negStep, p.get(i) * decay));
        }
    }

    /**
     * {@code m = g * gs; p = fma(m, negStep, p * decay)} on {@code [from, to)}. Modifies p and m; g not modified.
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param m the momentum buffer; modified
     * @param gs the gradient scale (the sign times the clipping coefficient)
     * @param negStep {@code -((float) η * s)}
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void scaledInit(FloatSpan p, FloatSpan g, FloatSpan m, float gs, float negStep, float decay,
                                  int from, int to) {
        for (int i = from; i < to; i++) {
            float gi = g.get(i) * gs;
            m.set(i, gi);
            p.set(i, Math.fma(gi, negStep, p.get(i) * decay));
        }
    }

    /**
     * {@code m = fma(g * gs, oneMinusMu, m * mu); p = fma(m, negStep, p * decay)} on {@code [from, to)}.
     * Modifies p and m; g not modified.
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param m the momentum buffer; modified
     * @param gs the gradient scale (the sign times the clipping coefficient)
     * @param oneMinusMu {@code (float)(1 - μ)}
     * @param mu {@code (float) μ}
     * @param negStep {@code -((float) η * s)}
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void scaledMomentum(FloatSpan p, FloatSpan g, FloatSpan m, float gs, float oneMinusMu, float mu,
                                      float negStep, float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            float mi = Math.fma(g.get(i) * gs, oneMinusMu, m.get(i) * mu);
            m.set(i, mi);
            p.set(i, Math.fma(mi, negStep, p.get(i) * decay));
        }
    }

    /**
     * AdamW on elements {@code [from, to)} of entry {@code t}, torch's fused arithmetic (see {@link StepBatch}):
     * {@code p = p·decay; m = lerp(m, gs, b1c); v = fma(b2c·gs, gs, v·beta2); p = p + (negStepBc·m) / (sqrt(v) / sqrtBc2 + eps)}.
     * Modifies p, m, v (and vmax with amsgrad); g not modified.
     *
     * @param b the batch
     * @param t index of the entry in the batch
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void adamw(StepBatch b, int t, int from, int to) {
        FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t), v = b.second(t), vmax = b.maxSecond(t);
        float gs = b.gradScale(t), decay = b.decay(t), b1c = b.b1c(t), beta2 = b.beta2(t), b2c = b.b2c(t);
        float sqrtBc2 = b.sqrtBc2(t), eps = b.eps(t), negStepBc = b.negStepBc(t);
        for (int i = from; i < to; i++) {
            float gi = g.get(i) * gs;
            float mi = lerp(m.get(i), gi, b1c);
            float vi = Math.fma(b2c * gi, gi, v.get(i) * beta2);
            m.set(i, mi);
            v.set(i, vi);
            if (vmax != null) {
                vi = Math.max(vmax.get(i), vi);
                vmax.set(i, vi);
            }
            float d = (float) Math.sqrt(vi) / sqrtBc2 + eps;
            p.set(i, p.get(i) * decay + (negStepBc * mi) / d);
        }
    }

    /**
     * Adam-mini on the block {@code [from, to)} of entry {@code t} (one value of v, at index
     * {@code from / blockSize}): {@code q = (float)(sumSquares(gs) / (to - from))}, {@code v = fma(b2c, q, v·beta2)},
     * then AdamW's m and p updates with that v. Modifies p, m and the block's v; g not modified.
     *
     * @param b the batch
     * @param t index of the entry in the batch
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void adamMiniBlock(StepBatch b, int t, int from, int to) {
        FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t), v = b.second(t);
        float gs = b.gradScale(t), decay = b.decay(t), b1c = b.b1c(t);
        float sqrtBc2 = b.sqrtBc2(t), eps = b.eps(t), negStepBc = b.negStepBc(t);
        int block = from / b.blockSize(t);
        float q = (float) (sumSquares(g, gs, from, to) / (to - from));
        float vb = Math.fma(b.b2c(t), q, v.get(block) * b.beta2(t));
        v.set(block, vb);
        float d = (float) Math.sqrt(vb) / sqrtBc2 + eps;
        for (int i = from; i < to; i++) {
            float mi = lerp(m.get(i), g.get(i) * gs, b1c);
            m.set(i, mi);
            p.set(i, p.get(i) * decay + (negStepBc * mi) / d);
        }
    }

    /**
     * torch's float {@code lerp(a, x, w)}: {@code fma(w, x - a, a)} when {@code w < 0.5}, else {@code fma(w - 1, x - a, x)}.
     *
     * @param a the start value
     * @param x the end value
     * @param w the interpolation weight
     * @return {@code a + w·(x − a)} with torch's rounding
     */
    public static float lerp(float a, float x, float w) {
        return w < 0.5f ? Math.fma(w, x - a, a) : Math.fma(w - 1f, x - a, x);
    }

    /**
     * {@code Σ (g_i · scale)²} over {@code [from, to)}, each product rounded to float and squared exactly in double,
     * added in an order fixed for every backend: the range is cut into blocks of {@link StepBatch#SUM_BLOCK} elements
     * from {@code from}; within a block, element {@code j} (counted from the block's start) is added to accumulator
     * {@code j mod }{@link StepBatch#SUM_LANES}, each accumulator in index order from 0.0; a block's sum is its
     * accumulators added in lane order from 0.0, and the result is the blocks' sums added in block order from 0.0.
     * (So vector backends keep 16 double lanes per block, and may read several blocks at once.) Modifies nothing.
     *
     * @param g the gradient; not modified
     * @param scale the factor each gradient element is multiplied by, rounded to float, before it is used
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @return {@code Σ (g_i · scale)²} over {@code [from, to)}
     */
    public static double sumSquares(FloatSpan g, float scale, int from, int to) {
        double total = 0;
        for (int b = from; b < to; b += StepBatch.SUM_BLOCK) {
            int e = Math.min(to, b + StepBatch.SUM_BLOCK);
            double block = 0;
            for (int lane = 0; lane < StepBatch.SUM_LANES; lane++) {
                double acc = 0; // accumulator 'lane': elements b + lane, b + lane + 16, ... in index order
                for (int i = b + lane; i < e; i += StepBatch.SUM_LANES) {
                    double x = g.get(i) * scale;
                    acc += x * x;
                }
                block += acc;
            }
            total += block;
        }
        return total;
    }

    /**
     * {@code p = fma(g, c, p * decay)} on {@code [from, to)}. Modifies p; g not modified.
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param c the coefficient of the gradient in the parameter update
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void sgd(FloatSpan p, FloatSpan g, float c, float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            p.set(i, Math.fma(g.get(i), c, p.get(i) * decay));
        }
    }

    /**
     * {@code m = sign * g; p = fma(g, c, p * decay)} on {@code [from, to)}. Modifies p and m; g not modified.
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param m the momentum buffer; modified
     * @param sign -1 when maximizing, else +1
     * @param c the coefficient of the gradient in the parameter update ({@code sign * -((float) η * s)})
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
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
     *
     * @param p the parameters; modified
     * @param g the gradient; not modified
     * @param m the momentum buffer; modified
     * @param gradCoef {@code sign * (float)(1 - μ)}
     * @param mu {@code (float) μ}
     * @param negStep {@code -((float) η * s)}
     * @param decay {@code (float)(1 - λη)}
     * @param from first element of the range
     * @param to end of the range (exclusive)
     */
    public static void momentum(FloatSpan p, FloatSpan g, FloatSpan m, float gradCoef, float mu, float negStep,
                                float decay, int from, int to) {
        for (int i = from; i < to; i++) {
            float mi = Math.fma(g.get(i), gradCoef, m.get(i) * mu);
            m.set(i, mi);
            p.set(i, Math.fma(mi, negStep, p.get(i) * decay));
        }
    }

    /**
     * Index of the first NaN or infinity in {@code g[from, to)}, or -1. Modifies nothing.
     *
     * @param g the values to check; not modified
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @return the index of the first NaN or infinity in {@code g[from, to)}, or -1
     */
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
     *
     * @param g the values; not modified
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @return the compensated sum {@code Σ g_i} over {@code [from, to)}
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
     *
     * @param g the values; not modified
     * @param mean the mean the deviations are taken from
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @param acc the three sums at indices 0, 1 and 2, added to
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
     * {@code Σ x[first + stride·k]} for {@code k = 0 … count − 1}, added in that order and compensated as in
     * {@link #sum}: how chunked backends merge per-chunk partial sums (see {@link Backend#momentsChunk()}).
     * Modifies nothing.
     *
     * @param x the partial sums; not modified
     * @param first index of the first partial sum
     * @param stride distance between consecutive partial sums
     * @param count number of partial sums
     * @return the compensated sum of the selected partial sums, in order
     */
    public static double mergeInOrder(double[] x, int first, int stride, int count) {
        double sum = 0;
        double comp = 0;
        for (int k = 0; k < count; k++) {
            double v = x[first + stride * k];
            double t = sum + v;
            double bp = t - sum;
            comp += (sum - (t - bp)) + (v - bp); // TwoSum error of sum + v
            sum = t;
        }
        return sum + comp;
    }

    /**
     * The corrected two-pass sum of squared deviations {@code Σd² − (Σd)²/n} (Björck; Chan, Golub and LeVeque),
     * which cancels the first-order error of the computed mean; never negative.
     *
     * @param sumD {@code Σd}, the sum of the deviations
     * @param sumD2 {@code Σd²}, the sum of their squares
     * @param n number of elements
     * @return {@code Σd² − (Σd)²/n}, never negative
     */
    public static double correctedM2(double sumD, double sumD2, long n) {
        return Math.max(0.0, sumD2 - sumD * sumD / n);
    }
}
