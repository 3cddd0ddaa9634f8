// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.BackendProvider;
import io.github.sgdsai.spi.ScalarBackendProvider;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Finds and chooses backends. The choice is never silent: every backend found but unable to run logs one
 * line at {@code WARNING} (logger {@code io.github.sgdsai}) saying why and how to enable it, and the first
 * automatic choice in a JVM is logged at {@code INFO} (later ones, and choices by name, at {@code DEBUG}).
 *
 * <p>Order of choice: the backend whose device holds the tensors, if any are
 * {@linkplain FloatSpan#isDeviceResident() device-resident}; else the name passed to {@link SgdSai.Builder#backend(String)}, else the system property
 * {@value #PROPERTY}, else the runnable backend of highest {@link BackendProvider#priority()}. A backend chosen
 * by name that cannot run is an error, not a fallback.
 */
public final class Backends {

    /** System property that forces a backend by name, e.g. {@code -Dsgdsai.backend=scalar}. */
    public static final String PROPERTY = "sgdsai.backend";

    private static final System.Logger LOG = System.getLogger("io.github.sgdsai");
    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

    private Backends() {
    }

    /**
     * Every provider found on the module path or class path, the built-in scalar one included, best first.
     *
     * @return every provider found, the built-in scalar one included, best first
     */
    public static List<BackendProvider> providers() {
        List<BackendProvider> found = new ArrayList<>();
        found.add(new ScalarBackendProvider());
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
            if (found.stream().noneMatch(q -> q.name().equals(p.name()))) {
                found.add(p);
            }
        }
        found.sort(Comparator.comparingInt(BackendProvider::priority).reversed());
        return found;
    }

    /**
     * Creates the backend named {@code name}, or the best runnable one when {@code name} is {@code null}
     * (after consulting {@value #PROPERTY}).
     *
     * @param name the backend's name, or {@code null} for the best runnable one
     * @param options the settings to create it with
     * @return the backend
     * @throws IllegalArgumentException if a backend was asked for by name and is not present or cannot run
     */
    public static Backend create(String name, BackendOptions options) {
        String wanted = name != null ? name : System.getProperty(PROPERTY);
        List<BackendProvider> providers = providers();
        if (wanted != null && !wanted.isBlank()) {
            String w = wanted.trim().toLowerCase(Locale.ROOT);
            for (BackendProvider p : providers) {
                if (p.name().equals(w)) {
                    String why = p.unavailableReason();
                    if (why != null) {
                        throw new IllegalArgumentException("backend '" + w + "' was requested but cannot run: " + why);
                    }
                    LOG.log(System.Logger.Level.DEBUG, "sgdsai: using backend ''{0}'' (requested)", w);
                    return p.create(options);
                }
            }
            throw new IllegalArgumentException("backend '" + w + "' was requested but is not present; found "
                    + providers.stream().map(BackendProvider::name).toList()
                    + " (put its module on the module path or class path)");
        }
        for (BackendProvider p : providers) {
            String why = p.unavailableReason();
            if (why == null) {
                LOG.log(ANNOUNCED.getAndSet(true) ? System.Logger.Level.DEBUG : System.Logger.Level.INFO,
                        "sgdsai: using backend ''{0}''", p.name());
                return p.create(options);
            }
            LOG.log(System.Logger.Level.WARNING, "sgdsai: backend ''{0}'' unavailable, falling back: {1}", p.name(), why);
        }
        throw new AssertionError("the scalar backend is always available");
    }
}
