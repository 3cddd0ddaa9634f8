// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.AdamMini.Partition;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.properties.Gens.Algo;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
    /** QuickTheories' shrink budget here: a falsification is all this class needs; shrinking it costs minutes. */
    private static final String SHRINKS = "QT_SHRINKS";
    private static String shrinksBefore;

    @BeforeAll
    static void limitShrinking() {
        shrinksBefore = System.getProperty(SHRINKS);
        if (shrinksBefore == null) {
            System.setProperty(SHRINKS, "20");
        }
    }

    @AfterAll
    static void restoreShrinking() {
        if (shrinksBefore == null) {
            System.clearProperty(SHRINKS);
        }
    }

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

    // The optimizer family (AdamProperties) ----------------------------------------------------------------------

    @Test
    void p9FailsForAnAdamWWithAnUnfusedSecondMoment() {
        falsified(() -> AdamProperties.agreeWithReference(new Target("mutant-unfused-v", 1), Algo.ADAMW, Properties.EXAMPLES));
    }

    @Test
    void p9FailsForAnAdamMiniThatUsesTheBlockSumInsteadOfTheMean() {
        falsified(() -> AdamProperties.agreeWithReference(new Target("mutant-mini-sum", 1), Algo.ADAM_MINI, Properties.EXAMPLES));
    }

    @Test
    void p9FailsForAClipAppliedAfterTheMomentum() {
        falsified(() -> AdamProperties.agreeWithReference(new Target("mutant-late-clip", 1), Algo.SGD_SAI, Properties.EXAMPLES));
    }

    @Test
    void p10FailsWhenNonFiniteGradientsAreNotLookedFor() {
        falsified(() -> AdamProperties.allOrNothing(new Target("mutant-nocheck", 1), Algo.ADAMW, Properties.EXAMPLES));
        falsified(() -> AdamProperties.allOrNothing(new Target("mutant-nocheck", 1), Algo.ADAM_MINI, Properties.EXAMPLES));
    }

    /** A library that repairs bad values (clamps betas into [0, 1), takes |eps|, ...) instead of refusing them. */
    private static final AdamProperties.Admit LENIENT = new AdamProperties.Admit() {
        @Override
        public double value(String what, double value) {
            double v = Double.isNaN(value) ? 0 : Math.abs(value);
            return what.startsWith("beta") ? Math.min(v, 0.999) : Math.min(v, 1.0);
        }

        @Override
        public Partition partition(Partition p, int n) {
            return Partition.whole();
        }
    };

    @Test
    void p10FailsForABuilderThatRepairsBadValues() {
        for (Algo algo : Algo.values()) {
            falsified(() -> AdamProperties.invalidHyperparametersRejected(algo, LENIENT));
        }
        falsified(() -> AdamProperties.nonDividingPartitionRejected(false, LENIENT));
    }

    @Test
    void p11FailsWhenTheStateIsNotRestored() {
        falsified(() -> AdamProperties.checkpointRoundTrip(new Target("scalar", 1), Algo.ADAMW, (target, bytes) -> { }, Properties.EXAMPLES));
        falsified(() -> AdamProperties.checkpointRoundTrip(new Target("scalar", 1), Algo.ADAM_MINI, (target, bytes) -> { }, Properties.EXAMPLES));
    }

    @Test
    void p12FailsForPerElementBlocksThroughTheBlockKernel() {
        falsified(() -> AdamProperties.perElementMiniIsAdamW(new Target("scalar", 1), new Target("mutant-mini-blocks-of-one", 1), Properties.EXAMPLES));
    }

    @Test
    void p13FailsForAClipAppliedAfterTheMomentsForEveryOptimizer() {
        for (Algo algo : Algo.values()) {
            falsified(() -> AdamProperties.clippingIsAPrescaledGradient(new Target("mutant-late-clip", 1), algo, Properties.EXAMPLES));
        }
    }
}
