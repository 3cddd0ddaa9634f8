// SPDX-License-Identifier: Apache-2.0
/**
 * Generators for the property-based tests of sgdsai: edge-biased floats, vector-tail lengths, every storage
 * kind, hyperparameters and whole training scenarios, written once so each property reads like its statement.
 */
module io.github.sgdsai.properties {
    requires transitive io.github.sgdsai;
    requires transitive quicktheories;

    exports io.github.sgdsai.properties;
}
