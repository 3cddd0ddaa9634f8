// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/** A gradient taking part in a step holds a NaN or an infinity; nothing was changed. */
public final class NonFiniteGradientException extends ArithmeticException {
    private static final long serialVersionUID = 1L;

    /** Name of the tensor whose gradient is bad. */
    private final String tensor;
    /** Index, within the tensor, of the first bad value. */
    private final int index;
    /** The first bad value (NaN or an infinity). */
    private final float value;

    /**
     * An exception for a bad gradient value (public so that trainers which check gradients held on several machines,
     * such as {@code sgdsai-spark}, report them as the optimizer does).
     *
     * @param tensor name of the tensor whose gradient is bad
     * @param index  index, within the tensor, of the first bad value
     * @param value  that value
     */
    public NonFiniteGradientException(String tensor, int index, float value) {
        this(tensor, index, value, "");
    }

    private NonFiniteGradientException(String tensor, int index, float value, String where) {
        super("gradient of tensor '" + tensor + "' holds " + value + " at index " + index + where
                + "; the step was not applied and nothing was changed");
        this.tensor = tensor;
        this.index = index;
        this.value = value;
    }

    /**
     * The same bad value, with where in training it happened added to the message, e.g.
     * {@code e.withContext("epoch 0, step 2")} gives "gradient of tensor 'w' holds NaN at index 3 (epoch 0, step 2);
     * …": for trainers that know the step ({@code sgdsai-spark}'s trainers).
     *
     * @param context where the step was, in words
     * @return a new exception with the same tensor, index and value, and this one as its cause
     */
    public NonFiniteGradientException withContext(String context) {
        NonFiniteGradientException e = new NonFiniteGradientException(tensor, index, value, " (" + context + ")");
        e.initCause(this);
        return e;
    }

    /**
     * Name of the tensor whose gradient is bad.
     *
     * @return the name of the tensor whose gradient is bad
     */
    public String tensor() {
        return tensor;
    }

    /**
     * Index, within the tensor, of the first bad value.
     *
     * @return the index, within the tensor, of the first bad value
     */
    public int index() {
        return index;
    }

    /**
     * The first bad value (NaN or an infinity).
     *
     * @return the first bad value (NaN or an infinity)
     */
    public float value() {
        return value;
    }
}
