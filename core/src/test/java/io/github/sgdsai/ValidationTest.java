// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input: a clear exception naming the culprit, and nothing changed. */
class ValidationTest {

    private static void assertRejected(Class<? extends Throwable> type, String fragment, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(e.getMessage().contains(fragment), () -> "message '" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    private static SgdSai.Builder one() {
        return SgdSai.builder().lr(0.1).add("w", new float[4], new float[4]);
    }

    @Test
    void badHyperparametersAreRejectedAtBuildNamingTheGroup() {
        assertRejected(IllegalArgumentException.class, "group 0: lr", () -> one().lr(Double.NaN).build());
        assertRejected(IllegalArgumentException.class, "group 0: lr", () -> one().lr(-1).build());
        assertRejected(IllegalArgumentException.class, "group 0: lr", () -> one().lr(Double.POSITIVE_INFINITY).build());
        assertRejected(IllegalArgumentException.class, "group 0: lr is required",
                () -> SgdSai.builder().add("w", new float[1], new float[1]).build());
        assertRejected(IllegalArgumentException.class, "group 0: momentum", () -> one().momentum(1).build());
        assertRejected(IllegalArgumentException.class, "group 0: momentum", () -> one().momentum(-0.1).build());
        assertRejected(IllegalArgumentException.class, "group 0: momentum", () -> one().momentum(Double.NaN).build());
        assertRejected(IllegalArgumentException.class, "group 0: eps", () -> one().eps(-1e-8).build());
        assertRejected(IllegalArgumentException.class, "group 0: eps", () -> one().eps(Double.NaN).build());
        assertRejected(IllegalArgumentException.class, "group 0: weight decay", () -> one().weightDecay(-1).build());
        assertRejected(IllegalArgumentException.class, "group 0: weight decay", () -> one().weightDecay(Double.NaN).build());
        assertRejected(IllegalArgumentException.class, "group 1: momentum",
                () -> one().group(g -> g.momentum(2).add("b", new float[1], new float[1])).build());
        assertRejected(IllegalArgumentException.class, "group 1: has no tensors", () -> one().group(g -> g.lr(1)).build());
        assertRejected(IllegalArgumentException.class, "no tensors", () -> SgdSai.builder().lr(1).build());
        assertRejected(IllegalArgumentException.class, "threads", () -> one().threads(0));
    }

    @Test
    void setLrRejectsBadValuesAndKeepsTheOldOne() {
        try (SgdSai opt = one().build()) {
            assertRejected(IllegalArgumentException.class, "group 0: lr", () -> opt.group(0).setLr(Double.NaN));
            assertRejected(IllegalArgumentException.class, "group 0: lr", () -> opt.group(0).setLr(-0.5));
            assertEquals(0.1, opt.group(0).lr());
        }
    }

    @Test
    void badStorageIsRejectedNamingTheTensor() {
        SgdSai.Builder b = SgdSai.builder().lr(1);
        assertRejected(NullPointerException.class, "tensor 'p': parameter array is null", () -> b.add("p", null, new float[1]));
        assertRejected(NullPointerException.class, "tensor 'g': gradient array is null", () -> b.add("g", new float[1], null));
        assertRejected(NullPointerException.class, "tensor 'b': parameter buffer is null",
                () -> b.add("b", (FloatBuffer) null, FloatBuffer.allocate(1)));
        assertRejected(IllegalArgumentException.class, "tensor 'n': parameter has 3 elements but gradient has 2",
                () -> b.add("n", new float[3], new float[2]));
        assertRejected(IllegalArgumentException.class, "tensor 'o': gradient range",
                () -> b.add("o", new float[4], 0, new float[4], 2, 3));
        assertRejected(IllegalArgumentException.class, "tensor 'o': parameter range",
                () -> b.add("o", new float[4], -1, new float[4], 0, 3));
        assertRejected(IllegalArgumentException.class, "tensor 'e': is empty", () -> b.add("e", new float[0], new float[0]));
        assertRejected(IllegalArgumentException.class, "tensor 'r': parameter buffer is read-only",
                () -> b.add("r", FloatBuffer.allocate(2).asReadOnlyBuffer(), FloatBuffer.allocate(2)));
    }

    @Test
    void readOnlyGradientIsFine() {
        float[] p = new float[3];
        try (SgdSai opt = SgdSai.builder().lr(1).add("w", FloatBuffer.wrap(p),
                FloatBuffer.wrap(new float[] {1, 2, 3}).asReadOnlyBuffer()).build()) {
            opt.step();
            assertTrue(p[0] != 0);
        }
    }

    @Test
    void sameOrOverlappingStorageIsRejected() {
        float[] a = new float[10];
        float[] g = new float[10];
        assertRejected(IllegalArgumentException.class, "the parameter of tensor 'x' overlaps the parameter of tensor 'y'",
                () -> SgdSai.builder().lr(1).add("x", a, 0, g, 0, 5).add("y", a, 4, g, 5, 5).build());
        assertRejected(IllegalArgumentException.class, "overlaps",
                () -> SgdSai.builder().lr(1).add("x", a, a).build());
        assertRejected(IllegalArgumentException.class, "tensor 'x': the name is used twice",
                () -> SgdSai.builder().lr(1).add("x", a, 0, g, 0, 5).add("x", a, 5, g, 5, 5).build());
        ByteBuffer direct = ByteBuffer.allocateDirect(80);
        FloatBuffer d1 = direct.asFloatBuffer();
        FloatBuffer d2 = direct.position(36).slice().asFloatBuffer();
        assertRejected(IllegalArgumentException.class, "overlaps",
                () -> SgdSai.builder().lr(1).add("x", d1.limit(10), FloatBuffer.allocate(10))
                        .add("y", d2.limit(10), FloatBuffer.allocate(10)).build());
        ByteBuffer heap = ByteBuffer.allocate(80);
        assertRejected(IllegalArgumentException.class, "overlaps",
                () -> SgdSai.builder().lr(1).add("x", heap.asFloatBuffer().limit(10), FloatBuffer.allocate(10))
                        .add("y", heap.position(4).slice().asFloatBuffer().limit(10), FloatBuffer.allocate(10)).build());
        // disjoint slices of one array are fine
        try (SgdSai ok = SgdSai.builder().lr(1).add("x", a, 0, g, 0, 5).add("y", a, 5, g, 5, 5).build()) {
            assertEquals(2, ok.tensors().size());
        }
    }

    @Test
    void nonFiniteGradientThrowsBeforeAnythingIsTouched() throws IOException {
        float[] p1 = {1f, 2f, 3f};
        float[] g1 = {0.5f, 1.5f, -1f};
        float[] p2 = {4f, 5f, 6f, 7f};
        float[] g2 = {1f, 2f, 3f, 4f};
        try (SgdSai opt = SgdSai.builder().lr(0.1).add("first", p1, g1).add("second", p2, g2).build()) {
            opt.step();
            float[] p1Before = p1.clone();
            float[] p2Before = p2.clone();
            ByteArrayOutputStream state = new ByteArrayOutputStream();
            opt.save(state);
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                g2[2] = bad;
                NonFiniteGradientException e = assertThrows(NonFiniteGradientException.class, opt::step);
                assertEquals("second", e.tensor());
                assertEquals(2, e.index());
                assertTrue(e.getMessage().contains("tensor 'second'") && e.getMessage().contains("index 2"), e.getMessage());
                assertArrayEquals(p1Before, p1);
                assertArrayEquals(p2Before, p2);
                assertArrayEquals(new float[] {0.5f, 1.5f, -1f}, g1);
                ByteArrayOutputStream after = new ByteArrayOutputStream();
                opt.save(after);
                assertArrayEquals(state.toByteArray(), after.toByteArray(), "state unchanged");
            }
        }
    }
}
