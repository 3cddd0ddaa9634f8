// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.io.ByteArrayInputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * No property is vacuous: each one, run against a deliberately broken implementation ({@link Mutants}, or a
 * broken way of restoring a checkpoint), is falsified by QuickTheories.
 */
class NonVacuityTest {

    private static void falsified(Executable property) {
        AssertionError e = assertThrows(AssertionError.class, property);
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
    }

    @Test
    void p1FailsWhenTheMomentsAreKeptInFloat() {
        falsified(() -> Properties.scaleInvarianceExact(new Target("mutant-float", 1)));
    }

    @Test
    void p2FailsWithoutFusedMultiplyAdds() {
        falsified(() -> Properties.trajectory(new Target("mutant-nofma", 1), Scaling.NONE, Properties.EXAMPLES));
    }

    @Test
    void p3FailsWithoutFusedMultiplyAdds() {
        falsified(() -> Properties.trajectory(new Target("mutant-nofma", 1), Scaling.GSNR, Properties.EXAMPLES));
    }

    @Test
    void p4FailsWithABiasedStandardDeviation() {
        falsified(() -> Properties.accuracy(new Target("mutant-biased", 1)));
    }

    @Test
    void p5FailsForAKernelThatDiffersFromTheReference() {
        falsified(() -> Properties.backendsAgree(new Target("mutant-nofma", 1), Properties.EXAMPLES));
    }

    @Test
    void p6FailsWhenNonFiniteGradientsAreNotLookedFor() {
        falsified(() -> Properties.allOrNothing(new Target("mutant-nocheck", 1), NonFinitePolicy.THROW));
        falsified(() -> Properties.allOrNothing(new Target("mutant-nocheck", 1), NonFinitePolicy.SKIP_STEP));
    }

    @Test
    void p7FailsWhenTheStateIsNotRestoredOrCorruptionIsIgnored() {
        falsified(() -> Properties.checkpointRoundTrip(new Target("scalar", 1), (target, bytes) -> { }));
        falsified(() -> Properties.checkpointCorruptionRejected(new Target("scalar", 1), (target, bytes) -> {
            try {
                target.load(new ByteArrayInputStream(bytes));
            } catch (IOException ignored) {
                // a loader that swallows errors
            }
        }));
    }

    @Test
    void p8FailsForAnOptimizerThatClimbs() {
        falsified(() -> Properties.sanity(new Target("mutant-ascent", 1)));
    }
}
