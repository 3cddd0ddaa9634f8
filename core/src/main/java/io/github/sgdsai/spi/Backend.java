// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

import io.github.sgdsai.FloatSpan;

/**
 * The kernels the optimizer needs, for one kind of hardware. Backends see only storage, lengths and a few
 * floats: never groups, names or flags. Arguments are validated by {@code core} before a backend is called,
 * so kernels check nothing.
 *
 * <p>Every backend must compute {@link #update} bit for bit like {@link ScalarBackend}, the reference, and
 * {@link #moments} to within 1e-12 relative, identically from run to run and for any thread count.
 */
public interface Backend extends AutoCloseable {

    /** Short name, as in {@link BackendProvider#name()}. */
    String name();

    /**
     * Index in {@code batch} of the first tensor whose gradient holds a NaN or an infinity, or -1 if all are
     * finite. Modifies nothing.
     */
    int firstNonFiniteTensor(StepBatch batch);

    /**
     * The two moments g-SNR is made of, computed in double without overflow, underflow or cancellation:
     * {@code out[0] = Σ g_i²} and {@code out[1] = Σ (g_i − ḡ)²}, where ḡ is the mean. Modifies {@code out} only.
     */
    void moments(FloatSpan grad, double[] out);

    /** Applies one step to every tensor of {@code batch}, following the arithmetic documented on {@link StepBatch}. */
    void update(StepBatch batch);

    /** A new zero-filled momentum buffer for {@code param}, on the same kind of storage. */
    default FloatSpan allocateMomentum(FloatSpan param) {
        return FloatSpan.allocateLike(param, param.length());
    }

    /** Makes the host copy of a momentum buffer current (backends that keep state on a device copy it back). */
    default void stateToHost(FloatSpan momentum) {
    }

    /**
     * Makes the host view of {@code span} current. Only {@linkplain FloatSpan#isDeviceResident() device-resident}
     * spans need it: the optimizer calls it before it reads one (e.g. to report which gradient value is NaN).
     * Modifies host mirrors only (a backend may refresh those of other spans of the same device data too).
     */
    default void syncToHost(FloatSpan span) {
    }

    /**
     * Why {@code param} and {@code grad} cannot be the storage of one tensor on this backend (one line, e.g. spans of
     * two different device tensors), or {@code null} if they can. Called once per tensor when an optimizer is built.
     */
    default String storageProblem(FloatSpan param, FloatSpan grad) {
        return null;
    }

    /** Tells the backend that the host copy of a momentum buffer was overwritten (e.g. by a checkpoint restore). */
    default void stateFromHost(FloatSpan momentum) {
    }

    /** Releases threads or device memory the backend owns. Idempotent. */
    @Override
    default void close() {
    }
}
