// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/** Validation of hyperparameters, shared by the builders, {@link Optimizer.Group#setLr} and checkpoint restore. */
final class Hyper {
    private Hyper() {
    }

    static double lr(String where, double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(where + ": lr must be a finite number >= 0, got " + lr);
        }
        return lr;
    }

    static double momentum(String where, double momentum) {
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException(where + ": momentum (beta1) must lie in [0, 1), got " + momentum);
        }
        return momentum;
    }

    static double beta2(String where, double beta2) {
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException(where + ": beta2 must lie in [0, 1), got " + beta2);
        }
        return beta2;
    }

    static double eps(String where, double eps) {
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException(where + ": eps must be a finite number >= 0, got " + eps);
        }
        return eps;
    }

    static double weightDecay(String where, double weightDecay) {
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException(where + ": weight decay must be a finite number >= 0, got " + weightDecay);
        }
        return weightDecay;
    }
}
