// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The properties of README's table, each run against every backend present (scalar always; vector when
 * backend-cpu is on the class path; tornado, with fewer examples, when a TornadoVM SDK is present) and, where threads matter, on 1, 2 and 3 threads. A failure prints
 * QuickTheories' seed; rerun with {@code -DQT_SEED=<seed>} to reproduce it.
 */
class PropertiesTest {

    static Stream<Target> targets() {
        return Runs.targets().stream();
    }

    /** One thread per backend: for properties whose result cannot depend on threads (tested separately). */
    static Stream<Target> backends() {
        return Runs.targets().stream().filter(t -> t.threads() == 1);
    }

    @Test
    void theVectorBackendIsAmongTheTargets() {
        List<Target> all = Runs.targets();
        assertTrue(all.contains(new Target("scalar", 1)) && all.contains(new Target("vector", 2)), all.toString());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p1GsnrIsExactlyScaleInvariantForPowersOfTwoAndSignFlips(Target t) {
        Properties.scaleInvarianceExact(t);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p1GsnrIsScaleInvariantForAnyFactorAndPermutation(Target t) {
        Properties.scaleInvarianceApproximate(t);
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p2WithEveryScaleOneTheOptimizerIsTextbookSgdm(Target t) {
        Properties.trajectory(t, Scaling.NONE, t.threads() == 1 ? Properties.EXAMPLES : Properties.EXAMPLES / 5);
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p3SgdSaiIsSgdmWithAPerTensorStepSize(Target t) {
        Properties.trajectory(t, Scaling.GSNR, t.threads() == 1 ? Properties.EXAMPLES : Properties.EXAMPLES / 5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p4GsnrIsWithinOneUlpOfExact(Target t) {
        Properties.accuracy(t);
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p5BackendsAgreeWithTheScalarReference(Target t) {
        Properties.backendsAgree(t, t.threads() == 1 ? Properties.EXAMPLES : Properties.EXAMPLES / 3);
    }

    @Test
    void p5ResultsDoNotDependOnTheThreadCount() {
        backends().filter(t -> !t.backend().equals("scalar") && !t.backend().equals("tornado")).forEach(t -> Properties.threadCountsAgree(t.backend()));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p6NonFiniteGradientsChangeNothingUnderThrow(Target t) {
        Properties.allOrNothing(t, NonFinitePolicy.THROW);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p6NonFiniteGradientsSkipAndReportUnderSkipStep(Target t) {
        Properties.allOrNothing(t, NonFinitePolicy.SKIP_STEP);
    }

    @Test
    void p6InvalidHyperparametersAreRejectedAtBuild() {
        Properties.invalidHyperparametersRejected();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p7CheckpointRoundTripIsBitIdentical(Target t) {
        Properties.checkpointRoundTrip(t, Properties.Restorer.LOAD);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p7CorruptedOrTruncatedCheckpointsAreRejectedAndChangeNothing(Target t) {
        Properties.checkpointCorruptionRejected(t, Properties.Restorer.LOAD);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p8SmallStepsDecreaseAConvexLossAndLrZeroChangesNothing(Target t) {
        Properties.sanity(t);
    }
}
