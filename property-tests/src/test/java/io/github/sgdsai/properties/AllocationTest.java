// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.GroupSpec;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * After warm-up, a step allocates nothing, on the caller's thread or the backend's own threads (measured with
 * HotSpot's per-thread allocation counters, so JMH's background allocations do not blur it).
 * The optimizer family runs first, so that plain SGD-SaI is then measured in a JVM where every kernel has run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AllocationTest {

    /** Ids of the calling thread and of the backends' own threads (named {@code sgdsai-…}), after a first step. */
    private static long[] threadsToWatch(Optimizer opt) {
        opt.step();
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t == Thread.currentThread() || t.getName().startsWith("sgdsai-"))
                .mapToLong(Thread::threadId).toArray();
    }

    /** Bytes allocated so far by {@code ids}, read one thread at a time (this itself allocates nothing). */
    private static long allocatedBytes(com.sun.management.ThreadMXBean mx, long[] ids) {
        long total = 0;
        for (long id : ids) {
            total += mx.getThreadAllocatedBytes(id);
        }
        return total;
    }

    /** Gaussian gradients for tensors of the given sizes. */
    private static float[][] gradients(int[] sizes) {
        Random r = new Random(1);
        float[][] g = new float[sizes.length][];
        for (int t = 0; t < sizes.length; t++) {
            g[t] = new float[sizes[t]];
            for (int i = 0; i < g[t].length; i++) {
                g[t][i] = (float) r.nextGaussian();
            }
        }
        return g;
    }

    /**
     * Steps {@code opt} in windows of {@code window} steps until one window allocates nothing, and fails if none has
     * within {@code maxSteps}; closes it. A step that allocates allocates in every window, so this asserts the
     * steady state; the JIT's own one-off events (a recompilation, a deoptimisation rematerialising an object) may
     * fall in some window but not in all, and warm-up takes as long as C2 needs, however the JVM was used before.
     */
    private static void assertStepsAllocateNothing(Optimizer opt, int window, int maxSteps, String what) {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (opt) {
            long[] ids = threadsToWatch(opt);
            long last = -1;
            for (int steps = 0; steps < maxSteps; steps += window) {
                long before = allocatedBytes(mx, ids);
                for (int k = 0; k < window; k++) {
                    opt.step();
                }
                last = allocatedBytes(mx, ids) - before;
                if (last == 0) {
                    return;
                }
            }
            fail("every window of " + window + " steps of " + what + " allocated, up to " + maxSteps
                    + " steps; the last " + last + " bytes");
        }
    }

    /** The CPU targets: TornadoVM's runtime allocates in every execute(); only the CPU backends can promise zero. */
    private static List<Target> cpuTargets() {
        return Runs.targets().stream().filter(t -> !t.backend().equals("tornado")).toList();
    }

    @Test
    @Order(2)
    void aStepAllocatesNothingOnAnyBackendOrThreadCount() {
        int[] sizes = {1, 17, 1000, 70_000, 300_000};
        float[][] g = gradients(sizes);
        for (Target target : cpuTargets()) {
            SgdSai.Builder b = SgdSai.builder().lr(1e-6).backend(target.backend()).threads(target.threads())
                    .nonFinite(NonFinitePolicy.THROW);
            for (int t = 0; t < sizes.length; t++) {
                b.add("t" + t, new float[sizes[t]], g[t]);
            }
            assertStepsAllocateNothing(b.build(), WINDOW, MAX_STEPS, "SGD-SaI on " + target);
        }
    }

    /**
     * The optimizer family after its first steps: clipped SGD-SaI, AdamW with amsgrad, and clipped Adam-mini with every
     * kind of partition (blocks over 4096, a whole tensor over one vector chunk), on tensors of 269 210 elements in
     * all (more than the 262 144 below which the vector backend stays on the caller), so its threads take part. All
     * of them run in one JVM, one after another, as a user comparing optimizers would run them: kernels on several
     * vector species once made C2 keep SGD-SaI's vectors boxed after Adam-mini had run (see VectorKernels).
     */
    @Test
    @Order(1)
    void aStepOfAdamWAdamMiniOrAClippedStepAllocatesNothing() {
        int[] sizes = {1, 17, 1000, 8192, 70_000, 190_000};
        AdamMini.Partition[] partitions = {AdamMini.Partition.whole(), AdamMini.Partition.perElement(),
                AdamMini.Partition.perRow(100), AdamMini.Partition.perHead(2), AdamMini.Partition.whole(),
                AdamMini.Partition.perRow(5000)};
        float[][] g = gradients(sizes);
        for (Target target : cpuTargets()) {
            SgdSai.Builder sgd = SgdSai.builder().lr(1e-6);
            AdamW.Builder adamw = AdamW.builder().lr(1e-6).amsgrad(true);
            AdamMini.Builder mini = AdamMini.builder().lr(1e-6);
            for (int t = 0; t < sizes.length; t++) {
                sgd.add("t" + t, new float[sizes[t]], g[t]);
                adamw.add("t" + t, new float[sizes[t]], g[t]);
                mini.add("t" + t, new float[sizes[t]], g[t]).partition("t" + t, partitions[t]);
            }
            assertStepsAllocateNothing(configure(sgd, target, true).build(), WINDOW, MAX_STEPS, "clipped SGD-SaI on " + target);
            assertStepsAllocateNothing(configure(adamw, target, false).build(), WINDOW, MAX_STEPS, "AdamW (amsgrad) on " + target);
            assertStepsAllocateNothing(configure(mini, target, true).build(), WINDOW, MAX_STEPS, "clipped Adam-mini on " + target);
        }
    }

    /** Steps per measured window, and the most steps a configuration may take to reach a window that allocates nothing. */
    private static final int WINDOW = 50;
    private static final int MAX_STEPS = Integer.getInteger("sgdsai.allocation.maxSteps", 8000);

    private static <B extends Optimizer.Builder<B, G, O>, G extends GroupSpec<G>, O extends Optimizer> B configure(
            B b, Target target, boolean clip) {
        b.backend(target.backend()).threads(target.threads()).nonFinite(NonFinitePolicy.THROW);
        return clip ? b.clipGradNorm(1.0) : b;
    }
}
