// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/**
 * An independent, textbook SGD-SaI on plain arrays, following the documented float arithmetic line by line;
 * the optimizer's results are checked against it.
 */
final class Reference {
    final float[] p;
    float[] m;
    final double momentum;
    final double weightDecay;
    final boolean maximize;
    float scale = Float.NaN;

    Reference(float[] p, double momentum, double weightDecay, boolean maximize) {
        this.p = p.clone();
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.maximize = maximize;
    }

    /** One step with gradient {@code grad} and learning rate {@code lr}; the scale must have been set. */
    void step(float[] grad, double lr) {
        float[] g = grad.clone();
        if (maximize) {
            for (int i = 0; i < g.length; i++) {
                g[i] = -g[i];
            }
        }
        if (momentum == 0) {
            m = g;
        } else if (m == null) {
            m = g.clone();
        } else {
            for (int i = 0; i < g.length; i++) {
                m[i] = Math.fma(g[i], (float) (1 - momentum), m[i] * (float) momentum);
            }
        }
        float step = (float) lr * scale;
        float decay = (float) (1 - weightDecay * lr);
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.fma(m[i], -step, p[i] * decay);
        }
    }

    /** The g-SNR in double: ‖g‖ / (σ + eps), σ the unbiased standard deviation by a plain two-pass formula. */
    static double gsnr(float[] g, double eps) {
        double sum = 0;
        double sq = 0;
        for (float x : g) {
            sum += x;
            sq += (double) x * x;
        }
        double mean = sum / g.length;
        double m2 = 0;
        for (float x : g) {
            m2 += (x - mean) * (x - mean);
        }
        double sigma = g.length > 1 ? Math.sqrt(m2 / (g.length - 1)) : 0;
        return Math.sqrt(sq) / (sigma + eps);
    }
}
