// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Misuse that used to get through: concurrent calls, a g-SNR that overflows float, a g-SNR of 0 or huge. */
class MisuseTest {

    private static byte[] save(Optimizer opt) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        opt.save(out);
        return out.toByteArray();
    }

    @Test
    void aCallWhileAStepRunsFailsFastAndChangesNothing() throws Exception {
        float[] w = new float[64], g = new float[64], w2 = new float[64];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) Math.sin(i);
        }
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        // The lr schedule runs inside step(): it holds the step open while the main thread tries every other call.
        try (SgdSai opt = SgdSai.builder().lr(step -> {
                    if (step == 1) {
                        inside.countDown();
                        try {
                            release.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return 0.1;
                }).backend("scalar").add("w", w, g).build();
             SgdSai twin = SgdSai.builder().lr(0.1).backend("scalar").add("w", w2, g.clone()).build()) {
            opt.step();
            byte[] ckpt = save(opt);
            Thread stepper = new Thread(opt::step);
            stepper.start();
            assertTrue(inside.await(10, TimeUnit.SECONDS));
            List<String> messages = new ArrayList<>();
            for (Runnable call : List.<Runnable>of(opt::step, () -> {
                try {
                    opt.save(new ByteArrayOutputStream());
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }, () -> {
                try {
                    opt.load(new ByteArrayInputStream(ckpt));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }, opt::close)) {
                messages.add(assertThrows(IllegalStateException.class, call::run).getMessage());
            }
            release.countDown();
            stepper.join(10_000);
            assertTrue(messages.get(0).startsWith("step() was called while another step(), save(), load() or close()"),
                    messages.get(0));
            assertTrue(messages.get(3).startsWith("close() was called"), messages.get(3));
            // exactly two steps happened, as in a twin stepped twice from one thread
            twin.step();
            twin.step();
            assertEquals(2, opt.steps());
            assertArrayEquals(w2, w);
            opt.step(); // usable again
        }
    }

    @Test
    void aGsnrOverflowIsSkippedAndReportedUnderSkipStep() throws IOException {
        float[] w = {1, 2, 3, 4}, g = new float[4];
        Arrays.fill(g, 1e31f); // g-SNR 2e39: finite in double, infinite as a float
        try (SgdSai opt = SgdSai.builder().lr(0.1).nonFinite(NonFinitePolicy.SKIP_STEP).backend("scalar").add("w", w, g)
                .build()) {
            assertFalse(opt.step());
            assertArrayEquals(new float[] {1, 2, 3, 4}, w);
            assertEquals(0, opt.steps());
            assertEquals(0, opt.stateBufferBytes());
            assertEquals(1, opt.skippedSteps());
            assertEquals(new Optimizer.Skip(0, "w", -1, Float.POSITIVE_INFINITY), opt.lastSkip());
            assertTrue(opt.lastSkip().reason().contains("overflows float"), opt.lastSkip().reason());
            assertFalse(opt.tensor("w").hasGsnr());
            for (int i = 0; i < g.length; i++) {
                g[i] = i - 1.5f;
            }
            assertTrue(opt.step());
            assertEquals(1, opt.steps());
        }
    }

    /**
     * The warnings core logs through {@code System.getLogger("io.github.sgdsai")}, which the JDK routes to
     * java.util.logging; read through a {@code java.util.logging.Filter} proxy, because core's module (which the tests
     * are patched into) does not read java.logging.
     */
    private static List<String> warningsDuring(Runnable r) throws ReflectiveOperationException {
        Class<?> loggerClass = Class.forName("java.util.logging.Logger");
        Class<?> filterClass = Class.forName("java.util.logging.Filter");
        Object logger = loggerClass.getMethod("getLogger", String.class).invoke(null, "io.github.sgdsai");
        List<String> warnings = new ArrayList<>();
        Object filter = java.lang.reflect.Proxy.newProxyInstance(MisuseTest.class.getClassLoader(),
                new Class<?>[] {filterClass}, (proxy, method, args) -> {
                    if (!method.getName().equals("isLoggable")) {
                        return method.getName().equals("hashCode") ? 0 : method.getName().equals("equals") ? proxy == args[0]
                                : "filter";
                    }
                    Object rec = args[0];
                    Object level = rec.getClass().getMethod("getLevel").invoke(rec);
                    if (level.toString().equals("WARNING")) {
                        String msg = (String) rec.getClass().getMethod("getMessage").invoke(rec);
                        Object[] params = (Object[]) rec.getClass().getMethod("getParameters").invoke(rec);
                        warnings.add(java.text.MessageFormat.format(msg, params));
                    }
                    return false; // keep the test output quiet
                });
        Method setFilter = loggerClass.getMethod("setFilter", filterClass);
        setFilter.invoke(logger, filter);
        try {
            r.run();
        } finally {
            setFilter.invoke(logger, (Object) null);
        }
        return warnings;
    }

    @Test
    void aZeroOrHugeGsnrLogsOneWarningPerTensor() throws ReflectiveOperationException {
        float[] z = new float[8], gz = new float[8], c = new float[8], gc = new float[8], ok = new float[8], gok = new float[8];
        Arrays.fill(gc, 0.5f);
        for (int i = 0; i < gok.length; i++) {
            gok[i] = (float) Math.cos(i);
        }
        List<String> warnings = warningsDuring(() -> {
            try (SgdSai opt = SgdSai.builder().lr(0.1).backend("scalar").add("zero", z, gz).add("const", c, gc)
                    .add("fine", ok, gok).build()) {
                for (int k = 0; k < 3; k++) {
                    opt.step();
                }
            }
        });
        assertEquals(2, warnings.size(), warnings::toString);
        assertTrue(warnings.get(0).contains("tensor 'zero': g-SNR is 0"), warnings.get(0));
        assertTrue(warnings.get(1).contains("tensor 'const': g-SNR is 1.41421356") && warnings.get(1).contains("(above 1000000.0)"),
                warnings.get(1));
    }
}
