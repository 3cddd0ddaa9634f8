// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

/** Provides {@link ScalarBackend}, which runs everywhere; it is the lowest-priority choice and the fallback. */
public final class ScalarBackendProvider implements BackendProvider {

    /** Creates the provider (for {@link java.util.ServiceLoader}). */
    public ScalarBackendProvider() {
    }

    @Override
    public String name() {
        return ScalarBackend.NAME;
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public String unavailableReason() {
        return null;
    }

    @Override
    public Backend create(BackendOptions options) {
        return new ScalarBackend();
    }
}
