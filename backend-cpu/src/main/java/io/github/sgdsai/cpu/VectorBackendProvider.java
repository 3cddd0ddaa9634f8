// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.BackendOptions;
import io.github.sgdsai.spi.BackendProvider;

import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.util.List;

/**
 * Provides the {@code "vector"} backend. This class never touches Vector API classes itself: it checks the JVM
 * first and loads the implementation by name only when it can run, so a JVM without
 * {@code jdk.incubator.vector} gets a logged fallback, not a linkage error.
 */
public final class VectorBackendProvider implements BackendProvider {

    /** The backend's name, {@value}. */
    public static final String NAME = "vector";
    private static final String IMPL = "io.github.sgdsai.cpu.VectorBackend";

    /** Creates the provider (for {@link java.util.ServiceLoader}). */
    public VectorBackendProvider() {
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int priority() {
        return 10;
    }

    @Override
    public String unavailableReason() {
        return unavailableReason(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                ManagementFactory.getRuntimeMXBean().getInputArguments());
    }

    /**
     * The checklist, in order: incubator module present, C2 available, preferred vectors at least 128 bits.
     * Package-private for tests.
     */
    static String unavailableReason(boolean incubatorPresent, List<String> jvmArgs) {
        if (!incubatorPresent) {
            return "module jdk.incubator.vector is not enabled; run java with --add-modules jdk.incubator.vector";
        }
        for (String a : jvmArgs) {
            if (a.equals("-Xint") || a.equals("-XX:-UseCompiler") || a.matches("-XX:TieredStopAtLevel=[0-3]")) {
                return "the C2 compiler is off (" + a + "), so Vector API code would run slower than scalar; "
                        + "remove that JVM option";
            }
        }
        int bits = preferredBits();
        if (bits < 128) {
            return "the preferred vector size on this CPU is " + bits + " bits (< 128); the scalar backend is faster";
        }
        return null;
    }

    private static int preferredBits() {
        try {
            return (int) Class.forName(IMPL).getMethod("preferredBits").invoke(null);
        } catch (ReflectiveOperationException | LinkageError e) {
            return 0;
        }
    }

    @Override
    public Backend create(BackendOptions options) {
        try {
            return (Backend) Class.forName(IMPL).getConstructor(int.class).newInstance(options.threads());
        } catch (InvocationTargetException e) {
            // The constructor itself failed (e.g. its threads could not start): its exception is the news.
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException("cannot create the vector backend: " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot create the vector backend", e);
        }
    }
}
