// SPDX-License-Identifier: Apache-2.0
/**
 * SGD-SaI for the JVM: the optimizer ({@link io.github.sgdsai.SgdSai}), its backend SPI
 * ({@link io.github.sgdsai.spi}) and the scalar reference backend every other backend must agree with.
 */
module io.github.sgdsai {
    exports io.github.sgdsai;
    exports io.github.sgdsai.spi;
    exports io.github.sgdsai.schedule;

    uses io.github.sgdsai.spi.BackendProvider;

    provides io.github.sgdsai.spi.BackendProvider with io.github.sgdsai.spi.ScalarBackendProvider;
}
