// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import java.io.Serializable;
import java.util.List;

/**
 * The model's parameters as the executors see them during a step: named float arrays, in the trainer's tensor
 * order. Read only: every task of an executor shares one copy (a Spark broadcast).
 */
public final class Parameters implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The tensors' names. */
    private final String[] names;
    /** Their values, in the same order. */
    private final float[][] values;

    Parameters(String[] names, float[][] values) {
        this.names = names;
        this.values = values;
    }

    /**
     * Number of tensors.
     *
     * @return the number of tensors
     */
    public int size() {
        return names.length;
    }

    /**
     * The tensors' names, in order.
     *
     * @return the tensors' names, in order
     */
    public List<String> names() {
        return List.of(names);
    }

    /**
     * Tensor {@code index}'s values (read only).
     *
     * @param index position in {@link #names()}
     * @return the values
     */
    public float[] get(int index) {
        return values[index];
    }

    /**
     * The values of the tensor called {@code name} (read only).
     *
     * @param name the tensor's name
     * @return the values
     * @throws IllegalArgumentException if there is no such tensor
     */
    public float[] get(String name) {
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return values[i];
            }
        }
        throw new IllegalArgumentException("no tensor named '" + name + "'; the tensors are " + names());
    }
}
