// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.properties;

import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;

/** The generators reach what the properties need: vector tails, subnormals, huge values, every storage kind. */
class GeneratorCoverageTest {
    private static final int SAMPLES = 2000;

    /** Counts, over SAMPLES draws of {@code gen}, how many fall in each category that {@code classify} names. */
    private static <T> Map<String, Integer> sample(Gen<T> gen, Function<T, String[]> classify) {
        Map<String, Integer> counts = new TreeMap<>();
        qt().withExamples(SAMPLES).forAll(gen).check(x -> {
            for (String c : classify.apply(x)) {
                counts.merge(c, 1, Integer::sum);
            }
            return true;
        });
        return counts;
    }

    private static void assertReached(Map<String, Integer> counts, String... categories) {
        System.out.println(counts);
        for (String c : categories) {
            assertTrue(counts.getOrDefault(c, 0) > 0, "never generated: " + c + " in " + counts);
        }
    }

    @Test
    void lengthsHitEveryVectorTail() {
        assertReached(sample(Gens.length(), n -> new String[] {
                n == 1 ? "one" : "more",
                n % 16 == 15 ? "16k-1" : n % 16 == 0 ? "16k" : n % 16 == 1 ? "16k+1" : "other",
                n % 8 == 7 ? "8k-1" : "x", n > 1000 ? "over 1000" : "small"}),
                "one", "16k-1", "16k", "16k+1", "8k-1", "over 1000");
    }

    @Test
    void floatsReachZerosSubnormalsAndHugeValues() {
        assertReached(sample(Gens.edgyFloat(), f -> new String[] {
                Float.floatToRawIntBits(f) == 0x80000000 ? "-0" : f == 0 ? "+0" : Math.abs(f) < Float.MIN_NORMAL ? "subnormal"
                        : Math.abs(f) > 1e30f ? "huge" : Math.abs(f) < 1e-30f ? "tiny normal" : "ordinary",
                f < 0 ? "negative" : "non-negative"}),
                "-0", "+0", "subnormal", "huge", "tiny normal", "ordinary", "negative");
    }

    @Test
    void everyStorageKindIsGenerated() {
        Map<String, Integer> counts = sample(Gens.storage(), s -> new String[] {s.name()});
        Map<Gens.Storage, Boolean> seen = new EnumMap<>(Gens.Storage.class);
        for (Gens.Storage s : Gens.Storage.values()) {
            seen.put(s, counts.containsKey(s.name()));
        }
        assertReached(counts, java.util.Arrays.stream(Gens.Storage.values()).map(Enum::name).toArray(String[]::new));
        assertTrue(seen.values().stream().allMatch(b -> b));
    }

    @Test
    void scenariosCoverGroupsMomentumZeroMaximizeAndFrozenSteps() {
        assertReached(sample(Gens.scenario(50), sc -> {
            boolean frozen = false;
            for (int t = 0; t < sc.tensors().size(); t++) {
                for (int k = 0; k < sc.steps(); k++) {
                    frozen |= sc.frozen(t, k);
                }
            }
            return new String[] {sc.groups().size() == 2 ? "two groups" : "one group",
                    sc.groups().stream().anyMatch(h -> h.momentum() == 0) ? "momentum 0" : "momentum > 0",
                    sc.groups().stream().anyMatch(Gens.Hyper::maximize) ? "maximize" : "minimize",
                    frozen ? "a tensor sits a step out" : "all step", sc.steps() >= 40 ? "40+ steps" : "few steps"};
        }), "two groups", "one group", "momentum 0", "momentum > 0", "maximize", "a tensor sits a step out", "40+ steps");
    }

    @Test
    void optimizerFamilyScenariosCoverPartitionsLerpBranchesAmsgradClippingAndEdges() {
        assertReached(sample(Gens.optScenario(Gens.Algo.ADAMW, 6, Gens.clipFraction()), sc -> {
            java.util.List<String> seen = new java.util.ArrayList<>();
            for (Gens.OptHyper h : sc.groups()) {
                seen.add((float) (1 - h.beta1()) < 0.5f ? "lerp w < 0.5" : "lerp w >= 0.5");
                seen.add(h.amsgrad() ? "amsgrad" : "no amsgrad");
                seen.add(h.eps() == 0 ? "eps 0" : "eps > 0");
            }
            for (Gens.BlockTensor t : sc.tensors()) {
                int block = t.partition().blockSize("t", t.length());
                seen.add(t.partition().kind().name());
                seen.add(block > 4096 ? "block > 4096" : "block <= 4096");
                seen.add(t.partition().kind() == io.github.sgdsai.AdamMini.Partition.Kind.WHOLE && t.length() > 65_536
                        ? "whole > 65536" : "other");
            }
            seen.add(sc.clips() ? "clipped" : "not clipped");
            seen.add(sc.edgy() ? "edge gradients" : "plain gradients");
            return seen.toArray(String[]::new);
        }), "lerp w < 0.5", "lerp w >= 0.5", "amsgrad", "no amsgrad", "eps 0", "ELEMENTS", "ROWS", "HEADS", "WHOLE",
                "block > 4096", "whole > 65536", "clipped", "not clipped", "edge gradients");
    }
}
