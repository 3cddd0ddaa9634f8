// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spi;

/**
 * Service-provider interface through which {@code core} finds backends with {@link java.util.ServiceLoader}
 * (module {@code provides}, or a {@code META-INF/services} entry on the class path).
 *
 * <p>A provider must be cheap to instantiate and must not touch the classes of the technology it wraps
 * (Vector API, TornadoVM) until {@link #unavailableReason()} or {@link #create} is called, so that a backend
 * that cannot run becomes a logged fallback rather than a linkage error.
 */
public interface BackendProvider {

    /**
     * Short lower-case name used by the {@code sgdsai.backend} system property, e.g. {@code "scalar"}.
     *
     * @return the short lower-case name used by the {@code sgdsai.backend} system property, e.g. {@code "scalar"}
     */
    String name();

    /**
     * Preference when several backends can run; the highest wins. The scalar reference has 0.
     *
     * @return the preference when several backends can run; the highest wins
     */
    int priority();

    /**
     * Why this backend cannot run in this JVM (one line that says how to fix it), or {@code null} if it can.
     *
     * @return why this backend cannot run in this JVM (one line that says how to fix it), or {@code null} if it can
     */
    String unavailableReason();

    /**
     * Creates a backend; only called when {@link #unavailableReason()} returned {@code null}.
     *
     * @param options the settings the optimizer was built with
     * @return the new backend
     */
    Backend create(BackendOptions options);
}
