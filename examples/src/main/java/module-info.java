// SPDX-License-Identifier: Apache-2.0
/** Runnable examples of the sgdsai optimizer: an MLP trained on the UCI optical digits. */
module io.github.sgdsai.examples {
    requires io.github.sgdsai;
}
