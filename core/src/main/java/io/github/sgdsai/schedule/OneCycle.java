// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.schedule;

import java.util.Objects;

/**
 * The one-cycle policy of torch {@code OneCycleLR} (Smith and Topin, "Super-Convergence", 2017): a learning
 * rate schedule and the momentum schedule that cycles inversely to it.
 *
 * <p>With {@code initial = maxLr / divFactor}, {@code min = initial / finalDivFactor}, T = {@code totalSteps}
 * and p = {@code pctStart}, the phases end at (torch's float arithmetic, kept here exactly):
 * <ul>
 *   <li>two phases (default): {@code e_1 = p*T - 1}, lr {@code initial → maxLr}, momentum
 *       {@code maxMomentum → baseMomentum}; {@code e_2 = T - 1}, lr {@code maxLr → min}, momentum
 *       {@code baseMomentum → maxMomentum};</li>
 *   <li>three phases: {@code e_1 = p*T - 1}, lr {@code initial → maxLr}, momentum
 *       {@code maxMomentum → baseMomentum}; {@code e_2 = 2p*T - 2}, lr {@code maxLr → initial}, momentum
 *       {@code baseMomentum → maxMomentum}; {@code e_3 = T - 1}, lr {@code initial → min}, momentum stays at
 *       {@code maxMomentum}.</li>
 * </ul>
 * At step t in the phase from {@code s} (0, or the previous phase's end) to {@code e}, with
 * {@code q = (t - s) / (e - s)}, a phase from a to b gives {@code b + (a - b) * (1 + cos(π q)) / 2}
 * ({@link Anneal#COS}, the default) or {@code a + (b - a) * q} ({@link Anneal#LINEAR}).
 *
 * <p>Difference from torch: torch raises an error past step T and at step T itself gives a value slightly
 * past the end of the last phase (q above 1); here every step from {@code T - 1} on gives the last phase's end
 * value, {@code min} (and {@code maxMomentum}). torch cycles {@code momentum} for SGD-like optimizers and
 * {@code betas[0]} for Adam-like ones; {@link #momentum()} is meant for either.
 *
 * <pre>{@code
 * OneCycle oc = OneCycle.builder(0.1, 10_000).threePhase(true).build();
 * Schedule lr = oc.lr(), momentum = oc.momentum();
 * }</pre>
 */
public final class OneCycle {

    /** How a phase goes from its start value to its end value. */
    public enum Anneal {
        /** Half a cosine: {@code b + (a - b) * (1 + cos(π q)) / 2} (torch {@code anneal_strategy='cos'}). */
        COS,
        /** A straight line: {@code a + (b - a) * q} (torch {@code anneal_strategy='linear'}). */
        LINEAR
    }

    private final double maxLr;
    private final long totalSteps;
    private final double pctStart;
    private final Anneal anneal;
    private final double divFactor;
    private final double finalDivFactor;
    private final boolean threePhase;
    private final double baseMomentum;
    private final double maxMomentum;
    private final double[] phaseEnds;
    private final double[] lrValues;
    private final double[] momentumValues;
    private final Schedule lr;
    private final Schedule momentum;

    private OneCycle(Builder b) {
        this.maxLr = b.maxLr;
        this.totalSteps = b.totalSteps;
        this.pctStart = b.pctStart;
        this.anneal = b.anneal;
        this.divFactor = b.divFactor;
        this.finalDivFactor = b.finalDivFactor;
        this.threePhase = b.threePhase;
        this.baseMomentum = b.baseMomentum;
        this.maxMomentum = b.maxMomentum;
        double initial = maxLr / divFactor;
        double min = initial / finalDivFactor;
        double e1 = pctStart * totalSteps - 1;
        double last = totalSteps - 1;
        if (threePhase) {
            phaseEnds = new double[] {e1, 2 * pctStart * totalSteps - 2, last};
            lrValues = new double[] {initial, maxLr, initial, min};
            momentumValues = new double[] {maxMomentum, baseMomentum, maxMomentum, maxMomentum};
        } else {
            phaseEnds = new double[] {e1, last};
            lrValues = new double[] {initial, maxLr, min};
            momentumValues = new double[] {maxMomentum, baseMomentum, maxMomentum};
        }
        double start = 0;
        for (int i = 0; i < phaseEnds.length; i++) {
            if (!(phaseEnds[i] > start)) {
                throw new IllegalArgumentException("pctStart " + pctStart + " with totalSteps " + totalSteps
                        + (threePhase ? " and threePhase" : "") + " leaves phase " + (i + 1) + " of "
                        + phaseEnds.length + " no steps (it would run from step " + start + " to " + phaseEnds[i]
                        + "); phase 1 ends at pctStart*totalSteps - 1"
                        + (threePhase ? ", phase 2 at 2*pctStart*totalSteps - 2" : "") + ", the last at totalSteps - 1");
            }
            start = phaseEnds[i];
        }
        this.lr = new Phased(this, lrValues, "lr");
        this.momentum = new Phased(this, momentumValues, "momentum");
    }

    /**
     * A builder with torch's defaults: {@code pctStart} 0.3, {@link Anneal#COS}, {@code divFactor} 25,
     * {@code finalDivFactor} 1e4, two phases, momentum from 0.85 to 0.95.
     *
     * @param maxLr      the peak learning rate, finite and at least 0
     * @param totalSteps T, the length of the cycle, at least 2
     * @return the builder
     */
    public static Builder builder(double maxLr, long totalSteps) {
        return new Builder(maxLr, totalSteps);
    }

    /**
     * The learning-rate schedule: {@code maxLr / divFactor} at step 0, {@code maxLr} at the end of phase 1,
     * {@code maxLr / divFactor / finalDivFactor} from step {@code totalSteps - 1} on.
     *
     * @return the schedule
     */
    public Schedule lr() {
        return lr;
    }

    /**
     * The momentum schedule (torch's {@code cycle_momentum}): {@code maxMomentum} at step 0, falling to
     * {@code baseMomentum} as the learning rate rises, and back to {@code maxMomentum} as it falls.
     *
     * @return the schedule
     */
    public Schedule momentum() {
        return momentum;
    }

    @Override
    public String toString() {
        return "OneCycle[maxLr=" + maxLr + ", totalSteps=" + totalSteps + ", pctStart=" + pctStart + ", anneal="
                + anneal + ", divFactor=" + divFactor + ", finalDivFactor=" + finalDivFactor + ", threePhase="
                + threePhase + ", baseMomentum=" + baseMomentum + ", maxMomentum=" + maxMomentum + "]";
    }

    private double value(double[] values, long step) {
        Schedules.checkStep(step);
        double start = 0;
        int last = phaseEnds.length - 1;
        for (int i = 0; i <= last; i++) {
            double end = phaseEnds[i];
            if (step <= end || i == last) {
                if (i == last && step >= end) {
                    return values[i + 1];
                }
                double q = (step - start) / (end - start);
                double a = values[i];
                double b = values[i + 1];
                return anneal == Anneal.COS ? b + (a - b) / 2.0 * (Math.cos(Math.PI * q) + 1) : (b - a) * q + a;
            }
            start = end;
        }
        throw new AssertionError("unreachable");
    }

    private record Phased(OneCycle cycle, double[] values, String what) implements Schedule {
        @Override
        public double at(long step) {
            return cycle.value(values, step);
        }

        @Override
        public String toString() {
            return cycle + "." + what + "()";
        }

        @Override
        public boolean equals(Object o) {
            return this == o;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(this);
        }
    }

    /** Settings of a {@link OneCycle}; {@link #build()} checks them. */
    public static final class Builder {
        private final double maxLr;
        private final long totalSteps;
        private double pctStart = 0.3;
        private Anneal anneal = Anneal.COS;
        private double divFactor = 25;
        private double finalDivFactor = 1e4;
        private boolean threePhase;
        private double baseMomentum = 0.85;
        private double maxMomentum = 0.95;

        private Builder(double maxLr, long totalSteps) {
            this.maxLr = maxLr;
            this.totalSteps = totalSteps;
        }

        /**
         * The fraction of the cycle spent raising the learning rate; default 0.3.
         *
         * @param pctStart p, in (0, 1); {@link #build()} also checks that every phase gets steps
         * @return this builder
         */
        public Builder pctStart(double pctStart) {
            this.pctStart = pctStart;
            return this;
        }

        /**
         * The annealing strategy; default {@link Anneal#COS}.
         *
         * @param anneal the strategy
         * @return this builder
         * @throws NullPointerException if {@code anneal} is null
         */
        public Builder anneal(Anneal anneal) {
            this.anneal = Objects.requireNonNull(anneal, "anneal is null");
            return this;
        }

        /**
         * The initial learning rate is {@code maxLr / divFactor}; default 25.
         *
         * @param divFactor a finite number greater than 0
         * @return this builder
         */
        public Builder divFactor(double divFactor) {
            this.divFactor = divFactor;
            return this;
        }

        /**
         * The final learning rate is {@code maxLr / divFactor / finalDivFactor}; default 1e4.
         *
         * @param finalDivFactor a finite number greater than 0
         * @return this builder
         */
        public Builder finalDivFactor(double finalDivFactor) {
            this.finalDivFactor = finalDivFactor;
            return this;
        }

        /**
         * Whether to use torch's three-phase variant (down to the initial rate symmetrically, then annihilate);
         * default false.
         *
         * @param threePhase true for three phases
         * @return this builder
         */
        public Builder threePhase(boolean threePhase) {
            this.threePhase = threePhase;
            return this;
        }

        /**
         * The momentum range; default 0.85 and 0.95. The momentum is {@code maxMomentum} when the learning rate
         * is lowest and {@code baseMomentum} at its peak.
         *
         * @param baseMomentum the momentum at the learning rate's peak, in [0, 1)
         * @param maxMomentum  the momentum at the start and the end, in [0, 1)
         * @return this builder
         */
        public Builder momentum(double baseMomentum, double maxMomentum) {
            this.baseMomentum = baseMomentum;
            this.maxMomentum = maxMomentum;
            return this;
        }

        /**
         * Checks the settings and builds the cycle.
         *
         * @return the one-cycle policy
         * @throws IllegalArgumentException naming the setting, if {@code maxLr} is negative, NaN or infinite,
         *                                  {@code totalSteps} is below 2, {@code pctStart} lies outside (0, 1) or
         *                                  leaves a phase without steps, a factor is not a finite number above 0,
         *                                  or a momentum lies outside [0, 1)
         */
        public OneCycle build() {
            Schedules.nonNegative("maxLr", maxLr);
            if (totalSteps < 2) {
                throw new IllegalArgumentException("totalSteps must be >= 2, got " + totalSteps);
            }
            if (!(pctStart > 0 && pctStart < 1)) {
                throw new IllegalArgumentException("pctStart must lie in (0, 1), got " + pctStart);
            }
            Schedules.positive("divFactor", divFactor);
            Schedules.positive("finalDivFactor", finalDivFactor);
            momentumInRange("baseMomentum", baseMomentum);
            momentumInRange("maxMomentum", maxMomentum);
            return new OneCycle(this);
        }

        private static void momentumInRange(String name, double m) {
            if (!(m >= 0 && m < 1)) {
                throw new IllegalArgumentException(name + " must lie in [0, 1), got " + m);
            }
        }
    }
}
