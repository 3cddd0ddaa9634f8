// SPDX-License-Identifier: Apache-2.0
/**
 * Runnable examples of the sgdsai optimizers: the README's quickstart ({@code quickstart.Quickstart}) and an MLP
 * trained on the UCI optical digits ({@code io.github.sgdsai.examples.Digits}).
 */
module io.github.sgdsai.examples {
    exports quickstart;
    requires io.github.sgdsai;
}
