// SPDX-License-Identifier: Apache-2.0
/**
 * sgdsai's optimizers as Deep Java Library optimizers ({@link io.github.sgdsai.djl.DjlOptimizer}).
 */
module io.github.sgdsai.djl {
    requires io.github.sgdsai;
    requires ai.djl.api;

    exports io.github.sgdsai.djl;
}
