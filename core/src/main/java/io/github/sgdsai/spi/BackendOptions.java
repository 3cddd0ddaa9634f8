// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

/**
 * Settings a backend is created with.
 *
 * @param threads number of worker threads a backend may use for one step ({@code >= 1}); backends that
 *                do not parallelise ignore it
 */
public record BackendOptions(int threads) {
    /** Validates the options. */
    public BackendOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }
}
