// SPDX-License-Identifier: Apache-2.0
/**
 * The "vector" backend: SGD-SaI kernels written with the incubating Vector API, spread deterministically over
 * an owned pool of threads. Putting this module on the module path (or its jar on the class path, with
 * {@code --add-modules jdk.incubator.vector}) is all it takes for {@code io.github.sgdsai} to choose it.
 */
module io.github.sgdsai.cpu {
    requires io.github.sgdsai;
    requires jdk.incubator.vector;
    requires java.management;

    exports io.github.sgdsai.cpu;

    provides io.github.sgdsai.spi.BackendProvider with io.github.sgdsai.cpu.VectorBackendProvider;
}
