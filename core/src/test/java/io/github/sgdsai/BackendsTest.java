// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.BackendProvider;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {

    @Test
    void scalarIsAlwaysPresentAndCanBeForced() {
        assertTrue(Backends.providers().stream().map(BackendProvider::name).anyMatch("scalar"::equals));
        try (Backend b = Backends.create("scalar", new BackendOptions(1))) {
            assertEquals("scalar", b.name());
        }
        try (SgdSai opt = SgdSai.builder().lr(1).backend("SCALAR").add("w", new float[1], new float[1]).build()) {
            assertEquals("scalar", opt.backendName());
        }
    }

    @Test
    void anUnknownBackendIsAnErrorNotAFallback() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SgdSai.builder().lr(1).backend("warp-drive").add("w", new float[1], new float[1]).build());
        assertTrue(e.getMessage().contains("backend 'warp-drive' was requested but is not present"), e.getMessage());
    }

    @Test
    void theSystemPropertyForcesABackend() {
        String old = System.getProperty(Backends.PROPERTY);
        System.setProperty(Backends.PROPERTY, "nonexistent");
        try {
            assertThrows(IllegalArgumentException.class, () -> Backends.create(null, new BackendOptions(1)));
        } finally {
            if (old == null) {
                System.clearProperty(Backends.PROPERTY);
            } else {
                System.setProperty(Backends.PROPERTY, old);
            }
        }
    }
}
