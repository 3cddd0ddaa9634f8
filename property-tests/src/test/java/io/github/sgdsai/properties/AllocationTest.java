// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.SgdSai;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * After warm-up, a step allocates nothing, on the caller's thread or the backend's own threads (measured with
 * HotSpot's per-thread allocation counters, so JMH's background allocations do not blur it).
 */
class AllocationTest {

    /** Ids of the calling thread and of the backends' own threads (named {@code sgdsai-…}). */
    private static long[] threadsToWatch() {
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

    @Test
    void aStepAllocatesNothingOnAnyBackendOrThreadCount() {
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (Target target : Runs.targets()) {
            if (target.backend().equals("tornado")) {
                continue; // TornadoVM's runtime allocates in every execute(); only the CPU backends can promise zero
            }
            Random r = new Random(1);
            SgdSai.Builder b = SgdSai.builder().lr(1e-6).backend(target.backend()).threads(target.threads())
                    .nonFinite(NonFinitePolicy.THROW);
            int[] sizes = {1, 17, 1000, 70_000, 300_000};
            for (int t = 0; t < sizes.length; t++) {
                float[] g = new float[sizes[t]];
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) r.nextGaussian();
                }
                b.add("t" + t, new float[sizes[t]], g);
            }
            try (SgdSai opt = b.build()) {
                for (int k = 0; k < 3000; k++) { // warm-up: until C2 has compiled (and scalar-replaced) the kernels
                    opt.step();
                }
                long[] ids = threadsToWatch();
                long before = allocatedBytes(mx, ids);
                for (int k = 0; k < 100; k++) {
                    opt.step();
                }
                long after = allocatedBytes(mx, ids);
                assertEquals(0, after - before, "bytes allocated by 100 steps on " + target);
            }
        }
    }
}
