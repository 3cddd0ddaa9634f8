// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.BackendProvider;

/**
 * Provides the {@code "tornado"} backend. It runs only in a JVM started with a TornadoVM SDK's
 * {@code tornado-argfile} (which puts the TornadoVM runtime in the boot layer); otherwise it refuses with
 * one line saying so, and the CPU backends are used. The device is TornadoVM's default, or the one named
 * by {@value #DEVICE_PROPERTY} as {@code backendIndex:deviceIndex} (as listed by {@code tornado --devices}).
 */
public final class TornadoBackendProvider implements BackendProvider {

    /** The backend's name, {@value}. */
    public static final String NAME = "tornado";
    /** System property choosing the TornadoVM device, e.g. {@code -Dsgdsai.tornado.device=0:1}. */
    public static final String DEVICE_PROPERTY = "sgdsai.tornado.device";
    private static final String IMPL = "io.github.sgdsai.tornado.TornadoBackend";

    /** Creates the provider (for {@link java.util.ServiceLoader}). */
    public TornadoBackendProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Below the CPU backends: a GPU is chosen by name ({@code -Dsgdsai.backend=tornado}), never by surprise. */
    @Override
    public int priority() {
        return 5;
    }

    @Override
    public String unavailableReason() {
        if (ModuleLayer.boot().findModule("tornado.runtime").isEmpty()) {
            return "the TornadoVM runtime is not loaded; start java with @$TORNADOVM_HOME/tornado-argfile";
        }
        try {
            Object reason = Class.forName(IMPL).getMethod("deviceProblem").invoke(null);
            return (String) reason;
        } catch (ReflectiveOperationException | LinkageError e) {
            return "TornadoVM could not be initialised: " + e;
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        try {
            return (Backend) Class.forName(IMPL).getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create the TornadoVM backend", e);
        }
    }
}
