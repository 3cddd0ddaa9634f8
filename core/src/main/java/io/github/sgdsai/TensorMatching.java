// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

/**
 * How {@link Optimizer#load(java.io.InputStream, TensorMatching)} pairs the tensors of a checkpoint with the
 * optimizer's.
 *
 * <pre>{@code
 * opt.load(in);                               // by name: what a refactor that reorders tensors needs
 * opt.load(in, TensorMatching.BY_POSITION);   // the model's tensors were renamed, not reordered
 * }</pre>
 */
public enum TensorMatching {
    /**
     * Each tensor receives the state saved under its own name, wherever it stood in the checkpoint (the default).
     * Every tensor must be in the checkpoint, in the same group and with the same length, and the checkpoint may hold
     * no other tensor; otherwise the load is refused with every mismatch listed.
     */
    BY_NAME,
    /**
     * The i-th tensor (in {@link Optimizer#tensors()} order) receives the checkpoint's i-th tensor's state, whatever
     * its name: for a model whose tensors were renamed but not reordered. Counts, groups and lengths must still match.
     */
    BY_POSITION
}
