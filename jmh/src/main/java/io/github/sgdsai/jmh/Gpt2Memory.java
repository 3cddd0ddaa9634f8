// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.Optimizer;

import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Optimizer-state memory of the GPT-2 benchmarks, reported by the optimizer and measured on the heap: for each model
 * and optimizer, the heap in use after a full GC is read before {@code build()} and again after the first
 * {@code step()} (which allocates the state), and the difference set beside {@code stateBufferBytes()}. One model's
 * parameters and gradients are alive at a time; one optimizer at a time over them. The first model is measured twice
 * and the first round dropped: first use of the classes moves the heap by a few MB either way.
 *
 * <p>Usage: {@code java --add-modules jdk.incubator.vector -Xmx20g -Xmn1g -XX:+UseParallelGC -XX:-UseTLAB
 * -cp jmh/target/benchmarks.jar io.github.sgdsai.jmh.Gpt2Memory OUT.csv [small,medium,large
 * [sgd-sai,sgdm,adamw,adam-mini]]}. After a full GC, ParallelGC's used heap is the bytes of live objects (G1 counts
 * whole regions for large arrays), except for the allocating thread's new TLAB, which can be megabytes:
 * {@code -XX:-UseTLAB} removes that noise; {@code -Xmn1g} leaves the old generation room for GPT-2 large with AdamW
 * (12.4 GB). The CSV is what {@link Gpt2Report} plots.
 */
public final class Gpt2Memory {
    private Gpt2Memory() {
    }

    /** Entry point; see the class documentation. */
    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length < 1) {
            System.err.println("usage: Gpt2Memory OUT.csv [small,medium,large [sgd-sai,sgdm,adamw,adam-mini]]");
            System.exit(2);
        }
        String[] models = (args.length > 1 ? args[1] : "small,medium,large").split(",");
        List<String> optimizers = args.length > 2 ? List.of(args[2].split(",")) : Gpt2Model.OPTIMIZERS;
        List<String> csv = new ArrayList<>();
        csv.add("model,parameters,optimizer,stateBufferBytes,stateBytes,heapDeltaBytes");
        String gcs = String.join("+", ManagementFactory.getGarbageCollectorMXBeans().stream()
                .map(GarbageCollectorMXBean::getName).toList());
        System.out.printf(Locale.ROOT, "collector: %s, max heap %.1f GiB%n%n", gcs, Runtime.getRuntime().maxMemory() / 1073741824.0);
        System.out.println("| model | parameters | optimizer | stateBufferBytes | B/param | heap delta (build + first step) "
                + "| heap B/param | heap − stateBufferBytes |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        for (String name : models) {
            Gpt2Shapes.Model model = Gpt2Shapes.Model.of(name.trim());
            Gpt2Model data = new Gpt2Model(model);
            long n = data.parameters();
            if (name.equals(models[0])) { // unrecorded: first use loads classes and fills caches (a few MB either way)
                for (String optimizer : optimizers) {
                    measure(data, optimizer);
                }
            }
            for (String optimizer : optimizers) {
                long[] r = measure(data, optimizer);
                long state = r[0];
                long all = r[1];
                long delta = r[2];
                csv.add(String.join(",", model.label(), Long.toString(n), optimizer, Long.toString(state), Long.toString(all),
                        Long.toString(delta)));
                System.out.printf(Locale.ROOT, "| %s | %,d | %s | %,d | %.4f | %,d | %.4f | %,d |%n", model.label(), n, optimizer,
                        state, (double) state / n, delta, (double) delta / n, delta - state);
            }
            Reference.reachabilityFence(data);
        }
        Path out = Path.of(args[0]);
        Files.writeString(out, String.join("\n", csv) + "\n");
        System.out.println("\nwrote " + out);
    }

    /** stateBufferBytes, stateBytes, and the heap delta of building {@code optimizer} over {@code data} and one step. */
    private static long[] measure(Gpt2Model data, String optimizer) throws InterruptedException {
        long before = usedAfterGc();
        Optimizer opt = data.build(optimizer, 1, true);
        opt.step();
        long after = usedAfterGc();
        long[] r = {opt.stateBufferBytes(), opt.stateBytes(), after - before};
        Reference.reachabilityFence(opt);
        opt.close();
        return r;
    }

    /** Heap bytes in use after full collections (repeated until the figure settles). */
    private static long usedAfterGc() throws InterruptedException {
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(50);
            long used = mx.getHeapMemoryUsage().getUsed();
            if (used == last) {
                return used;
            }
            last = used;
        }
        return last;
    }
}
