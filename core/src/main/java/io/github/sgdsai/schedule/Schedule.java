package io.github.sgdsai.schedule;

/**
 * A hyperparameter as a pure function of the optimizer's step count: the value used by the step that follows
 * {@code step} applied steps. Being a function of the step count alone, a schedule has no state of its own and
 * survives a checkpoint by construction.
 */
@FunctionalInterface
public interface Schedule {
    /**
     * The value after {@code step} applied steps.
     *
     * @param step number of steps applied so far, {@code >= 0}
     * @return the value (the optimizer rejects NaN, infinite or out-of-range values at the step that uses them)
     */
    double at(long step);
}
