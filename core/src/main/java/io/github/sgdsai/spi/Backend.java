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

    /** What a backend can do beyond the SGD kinds of {@link StepBatch}; see {@link #supports}. */
    enum Feature {
        /** {@link StepBatch.Kind#SGD}, {@link StepBatch.Kind#INIT} and {@link StepBatch.Kind#MOMENTUM} with {@code |gradScale| = 1}. */
        SGD_MOMENTUM,
        /**
         * Any {@link StepBatch#gradScale} (gradient clipping), and the per-entry sums of squares of
         * {@link #firstNonFiniteTensor(StepBatch, double[])} exactly as {@link ScalarBackend#sumSquares} defines them.
         */
        GRADIENT_SCALE,
        /** {@link StepBatch.Kind#ADAMW}, amsgrad included. */
        ADAMW,
        /** {@link StepBatch.Kind#ADAM_MINI}. */
        ADAM_MINI
    }

    /**
     * Whether this backend implements {@code feature} bit for bit like {@link ScalarBackend}. The optimizer refuses,
     * at build time and with a message naming the backend, a configuration that needs a feature its backend lacks.
     * The default claims {@link Feature#SGD_MOMENTUM} only.
     *
     * @param feature the feature asked about
     * @return whether this backend implements {@code feature} bit for bit like {@link ScalarBackend}
     */
    default boolean supports(Feature feature) {
        return feature == Feature.SGD_MOMENTUM;
    }

    /**
     * Short name, as in {@link BackendProvider#name()}.
     *
     * @return the short name, as in {@link BackendProvider#name()}
     */
    String name();

    /**
     * Index in {@code batch} of the first tensor whose gradient holds a NaN or an infinity, or -1 if all are
     * finite. Modifies nothing.
     *
     * @param batch the batch of tensors
     * @return the index in {@code batch} of the first tensor whose gradient holds a NaN or an infinity, or -1 if all are finite
     */
    int firstNonFiniteTensor(StepBatch batch);

    /**
     * {@link #firstNonFiniteTensor(StepBatch)}, and when {@code sumSquares} is not {@code null} also
     * {@code sumSquares[i] = Σ g²} of every entry's gradient, computed exactly as
     * {@link ScalarBackend#sumSquares}{@code (g, 1, 0, n)} (NaN or infinite where the gradient is), so that
     * the global gradient norm for clipping comes from the same read-only pass as the check. Modifies
     * {@code sumSquares} only. Needs {@link Feature#GRADIENT_SCALE} when {@code sumSquares} is not null; the
     * default reads host storage with the scalar kernels.
     *
     * @param batch the batch of tensors
     * @param sumSquares receives each entry's {@code Σ g²}, or {@code null} to check only
     * @return the index of the first entry whose gradient holds a NaN or an infinity, or -1 if all are finite
     */
    default int firstNonFiniteTensor(StepBatch batch, double[] sumSquares) {
        if (sumSquares == null) {
            return firstNonFiniteTensor(batch);
        }
        int bad = -1;
        for (int t = 0; t < batch.size(); t++) {
            FloatSpan g = batch.grad(t);
            sumSquares[t] = ScalarBackend.sumSquares(g, 1f, 0, g.length());
            if (bad < 0 && !Double.isFinite(sumSquares[t])) { // squares of finite floats cannot overflow a double sum
                bad = t;
            }
        }
        return bad;
    }

    /**
     * The two moments g-SNR is made of, computed in double without overflow, underflow or cancellation:
     * {@code out[0] = Σ g_i²} and {@code out[1] = Σ (g_i − ḡ)²}, where ḡ is the mean. Modifies {@code out} only.
     *
     * @param grad the gradient; not modified
     * @param out receives {@code Σ g_i²} at index 0 and {@code Σ (g_i − ḡ)²} at index 1
     */
    void moments(FloatSpan grad, double[] out);

    /**
     * {@link #moments(FloatSpan, double[])} of the scaled gradient {@code g * scale} (each product rounded to
     * float, as the update sees it). Used at a tensor's first step when clipping is on. The default copies the
     * scaled values into a temporary array (first steps only, so the hot path still allocates nothing).
     *
     * @param grad the gradient; not modified
     * @param scale the factor each gradient element is multiplied by, rounded to float, before it is used
     * @param out receives {@code Σ g_i²} at index 0 and {@code Σ (g_i − ḡ)²} at index 1
     */
    default void moments(FloatSpan grad, float scale, double[] out) {
        if (scale == 1f) {
            moments(grad, out);
            return;
        }
        float[] scaled = new float[grad.length()];
        for (int i = 0; i < scaled.length; i++) {
            scaled[i] = grad.get(i) * scale;
        }
        moments(FloatSpan.of(scaled), out);
    }

    /**
     * For trainers that hold one tensor in slices on several machines (the {@code sgdsai-spark} module): the chunk
     * size {@code C > 0} such that {@link #moments(FloatSpan, double[])} of a tensor of {@code n} elements equals, bit
     * for bit, a merge of per-chunk partials over the chunks {@code [kC, min(n, (k + 1)C))}:
     * {@code mean = merge(chunkSum of every chunk) / n}; with {@code acc_k} the {@link #chunkCenteredSums} of chunk k
     * at that mean, {@code out[0] = merge(acc_k[0])} and
     * {@code out[1] = ScalarBackend.correctedM2(merge(acc_k[1]), merge(acc_k[2]), n)}, where {@code merge} is
     * {@link ScalarBackend#mergeInOrder} in chunk order. A chunk's partials depend only on its values, not on where
     * they are stored, so a machine holding a chunk-aligned slice computes them on its own. The default, 0, says
     * {@code moments} is no such merge: a tensor must then be held whole.
     *
     * @return the chunk size C, or 0 if this backend computes moments some other way
     */
    default int momentsChunk() {
        return 0;
    }

    /**
     * The first-pass partial of {@link #momentsChunk()}: {@code Σ g_i} over {@code [from, to)}, computed exactly as
     * {@link #moments} computes it for a chunk. Modifies nothing.
     *
     * @param grad the gradient; not modified
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @return {@code Σ g_i} over {@code [from, to)}
     * @throws UnsupportedOperationException if {@link #momentsChunk()} is 0
     */
    default double chunkSum(FloatSpan grad, int from, int to) {
        throw new UnsupportedOperationException("backend '" + name() + "' has no chunked moments");
    }

    /**
     * The second-pass partials of {@link #momentsChunk()}: sets {@code acc[0..2]} to {@code Σ g²}, {@code Σ d} and
     * {@code Σ d²} with {@code d = g − mean} over {@code [from, to)}, exactly as {@link #moments} computes them for
     * a chunk. Modifies {@code acc} only.
     *
     * @param grad the gradient; not modified
     * @param mean the mean the deviations are taken from
     * @param from first element of the range
     * @param to end of the range (exclusive)
     * @param acc receives {@code Σ g²}, {@code Σ d} and {@code Σ d²} at indices 0, 1 and 2
     * @throws UnsupportedOperationException if {@link #momentsChunk()} is 0
     */
    default void chunkCenteredSums(FloatSpan grad, double mean, int from, int to, double[] acc) {
        throw new UnsupportedOperationException("backend '" + name() + "' has no chunked moments");
    }

    /**
     * Applies one step to every tensor of {@code batch}, following the arithmetic documented on {@link StepBatch}.
     *
     * @param batch the batch of tensors
     */
    void update(StepBatch batch);

    /**
     * A new zero-filled momentum buffer for {@code param}, on the same kind of storage.
     *
     * @param param the parameter the buffer is for
     * @return a new zero-filled momentum buffer on the same kind of storage as {@code param}
     */
    default FloatSpan allocateMomentum(FloatSpan param) {
        return FloatSpan.allocateLike(param, param.length());
    }

    /**
     * A new zero-filled state buffer of {@code length} floats for {@code param} (an Adam second moment, its amsgrad
     * maximum, or Adam-mini's per-block values), on the same kind of storage.
     *
     * @param param the parameter the buffer is for
     * @param length number of floats
     * @return a new zero-filled buffer of {@code length} floats on the same kind of storage as {@code param}
     */
    default FloatSpan allocateState(FloatSpan param, int length) {
        return FloatSpan.allocateLike(param, length);
    }

    /**
     * Makes the host copy of a momentum buffer current (backends that keep state on a device copy it back).
     *
     * @param momentum the momentum buffer to copy back
     */
    default void stateToHost(FloatSpan momentum) {
    }

    /**
     * Makes the host view of {@code span} current. Only {@linkplain FloatSpan#isDeviceResident() device-resident}
     * spans need it: the optimizer calls it before it reads one (e.g. to report which gradient value is NaN).
     * Modifies host mirrors only (a backend may refresh those of other spans of the same device data too).
     *
     * @param span the span whose host view is read next
     */
    default void syncToHost(FloatSpan span) {
    }

    /**
     * Why {@code param} and {@code grad} cannot be the storage of one tensor on this backend (one line, e.g. spans of
     * two different device tensors), or {@code null} if they can. Called once per tensor when an optimizer is built.
     *
     * @param param the tensor's parameter storage
     * @param grad the tensor's gradient storage
     * @return the reason, in one line, or {@code null} if the two spans can be one tensor's storage
     */
    default String storageProblem(FloatSpan param, FloatSpan grad) {
        return null;
    }

    /**
     * Tells the backend that the host copy of a momentum buffer was overwritten (e.g. by a checkpoint restore).
     *
     * @param momentum the momentum buffer whose host copy changed
     */
    default void stateFromHost(FloatSpan momentum) {
    }

    /** Releases threads or device memory the backend owns. Idempotent. */
    @Override
    default void close() {
    }
}
