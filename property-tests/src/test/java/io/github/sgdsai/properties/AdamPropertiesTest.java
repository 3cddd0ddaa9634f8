// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import io.github.sgdsai.properties.AdamProperties.Admit;
import io.github.sgdsai.properties.Gens.Algo;
import io.github.sgdsai.properties.Properties.Restorer;
import io.github.sgdsai.properties.Runs.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

/**
 * Properties 9–13 of README's table (the optimizer family: AdamW, Adam-mini, clipping), each run against every backend
 * present (scalar; vector on 1, 2 and 3 threads; tornado when present, with fewer examples). Examples per property
 * follow {@code -Dsgdsai.properties.examples}; a failure prints QuickTheories' seed ({@code -DQT_SEED=<seed>}).
 */
class AdamPropertiesTest {

    static Stream<Target> targets() {
        return Runs.targets().stream();
    }

    /** One thread per backend: for properties whose result cannot depend on threads (tested by property 9). */
    static Stream<Target> backends() {
        return Runs.targets().stream().filter(t -> t.threads() == 1);
    }

    private static final int E = Properties.EXAMPLES;

    /**
     * Property 9's examples: E/5 on one thread; E/15 on 2 and 3 threads (half of them large enough to use the threads)
     * and on the scalar backend (which is its own reference: there they only show determinism).
     */
    private static int examples(Target t) {
        return t.threads() == 1 && !t.backend().equals("scalar") ? E / 5 : Math.max(10, E / 15);
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p9AdamWAgreesWithTheScalarReferenceOnEveryBackendAndThreadCount(Target t) {
        AdamProperties.agreeWithReference(t, Algo.ADAMW, examples(t));
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p9AdamMiniAgreesWithTheScalarReferenceOnEveryBackendAndThreadCount(Target t) {
        AdamProperties.agreeWithReference(t, Algo.ADAM_MINI, examples(t));
    }

    @ParameterizedTest
    @MethodSource("targets")
    void p9ClippedSgdSaiAgreesWithTheScalarReferenceOnEveryBackendAndThreadCount(Target t) {
        AdamProperties.agreeWithReference(t, Algo.SGD_SAI, examples(t));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p10NonFiniteGradientsChangeNothingInAdamW(Target t) {
        AdamProperties.allOrNothing(t, Algo.ADAMW, E / 5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p10NonFiniteGradientsChangeNothingInAdamMini(Target t) {
        AdamProperties.allOrNothing(t, Algo.ADAM_MINI, E / 5);
    }

    @ParameterizedTest
    @EnumSource(Algo.class)
    void p10InvalidHyperparametersAreRejectedAtBuildNamingTheGroup(Algo algo) {
        AdamProperties.invalidHyperparametersRejected(algo, Admit.AS_GIVEN);
    }

    @Test
    void p10PartitionsThatDoNotDivideTheTensorAreRejectedNamingIt() {
        AdamProperties.nonDividingPartitionRejected(false, Admit.AS_GIVEN);
    }

    @Test
    void p10HeadCountsThatDoNotDivideTheTensorAreRejectedNamingIt() {
        AdamProperties.nonDividingPartitionRejected(true, Admit.AS_GIVEN);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p11AdamWWithAmsgradCheckpointRoundTripIsBitIdentical(Target t) {
        AdamProperties.checkpointRoundTrip(t, Algo.ADAMW, Restorer.LOAD, E / 6);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p11AdamMiniCheckpointRoundTripIsBitIdentical(Target t) {
        AdamProperties.checkpointRoundTrip(t, Algo.ADAM_MINI, Restorer.LOAD, E / 6);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p12AdamMiniPartitionedPerElementIsAdamW(Target t) {
        AdamProperties.perElementMiniIsAdamW(t, t, E / 5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p13ClippedSgdSaiEqualsSgdSaiOnThePrescaledGradient(Target t) {
        AdamProperties.clippingIsAPrescaledGradient(t, Algo.SGD_SAI, E / 5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p13ClippedAdamWEqualsAdamWOnThePrescaledGradient(Target t) {
        AdamProperties.clippingIsAPrescaledGradient(t, Algo.ADAMW, E / 5);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void p13ClippedAdamMiniEqualsAdamMiniOnThePrescaledGradient(Target t) {
        AdamProperties.clippingIsAPrescaledGradient(t, Algo.ADAM_MINI, E / 5);
    }
}
