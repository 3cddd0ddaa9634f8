// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device-resident spans pick their backend and are never mixed up with host memory. The "device" here is the
 * scalar backend's (the host itself), so the optimizer's arithmetic can be checked without an accelerator.
 */
class DeviceResidentTest {

    private static FloatSpan onDevice(String backend, float... values) {
        MemorySegment seg = Arena.ofAuto().allocate(4L * values.length, 4);
        FloatSpan span = FloatSpan.deviceResident(seg, backend, new Object());
        span.copyFrom(values);
        return span;
    }

    @Test
    void aDeviceResidentSpanSaysWhereItLives() {
        FloatSpan s = onDevice("scalar", 1, 2, 3);
        assertTrue(s.isDeviceResident());
        assertEquals("scalar", s.residentBackend());
        assertEquals(3, s.length());
        assertTrue(s.toString().contains("on the 'scalar' device"), s.toString());
        assertFalse(FloatSpan.of(new float[1]).isDeviceResident());
        assertThrows(IllegalArgumentException.class,
                () -> FloatSpan.deviceResident(Arena.ofAuto().allocate(6), "scalar", new Object()));
    }

    @Test
    void theTensorsDeviceChoosesTheBackendAndStepsLikeHostMemory() {
        float[] p0 = {1, -2, 3, 0.5f};
        float[] g0 = {0.25f, 1, -3, 2};
        FloatSpan p = onDevice("scalar", p0);
        FloatSpan g = onDevice("scalar", g0);
        float[] hp = p0.clone();
        try (SgdSai dev = SgdSai.builder().lr(0.1).add("w", p, g).build();
             SgdSai host = SgdSai.builder().lr(0.1).backend("scalar").add("w", hp, g0.clone()).build()) {
            assertEquals("scalar", dev.backendName());
            for (int k = 0; k < 3; k++) {
                dev.step();
                host.step();
            }
            float[] got = new float[4];
            p.copyTo(got);
            assertArrayEquals(hp, got);
            assertEquals(host.tensor("w").gsnr(), dev.tensor("w").gsnr());
        }
    }

    @Test
    void theHostGsnrHelperRefusesDeviceData() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SgdSai.gsnr(onDevice("scalar", 1, 2), 1e-8));
        assertTrue(e.getMessage().startsWith("grad lives on the 'scalar' device"), e.getMessage());
    }

    @Test
    void anotherBackendCannotStepDeviceTensors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(1)
                .backend("vector").add("w", onDevice("scalar", 1), onDevice("scalar", 1)).build());
        assertEquals("tensor 'w' lives on the 'scalar' device, which backend 'vector' cannot step; ask for backend "
                + "'scalar' or for none", e.getMessage());
    }

    @Test
    void aTensorCannotSpanHostAndDevice() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(1)
                .add("w", onDevice("scalar", 1), FloatSpan.of(new float[1])).build());
        assertEquals("tensor 'w': its parameter lives on the 'scalar' device but its gradient in host memory; both "
                + "must live in the same place", e.getMessage());
    }

    @Test
    void oneOptimizerStepsOneDevice() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(1)
                .add("a", onDevice("scalar", 1), onDevice("scalar", 1))
                .add("b", onDevice("gpu", 1), onDevice("gpu", 1)).build());
        assertEquals("tensor 'b' lives on the 'gpu' device but tensor 'a' on the 'scalar' device; one optimizer steps "
                + "one device", e.getMessage());
    }

    @Test
    void aMissingDeviceBackendIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SgdSai.builder().lr(1)
                .add("w", onDevice("warp-drive", 1), onDevice("warp-drive", 1)).build());
        assertTrue(e.getMessage().contains("backend 'warp-drive' was requested but is not present"), e.getMessage());
    }
}
