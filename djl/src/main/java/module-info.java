// SPDX-License-Identifier: Apache-2.0
/**
 * sgdsai's optimizers as Deep Java Library optimizers ({@link io.github.sgdsai.djl.DjlOptimizer}), and the
 * character-level language-model experiment that compares them with DJL's own AdamW
 * ({@code io.github.sgdsai.djl.lm}).
 */
module io.github.sgdsai.djl {
    requires io.github.sgdsai;
    requires ai.djl.api;
    requires static org.knowm.xchart;
    requires static me.tongfei.progressbar;

    exports io.github.sgdsai.djl;
    exports io.github.sgdsai.djl.lm;
}
