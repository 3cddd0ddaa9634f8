// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An ordered list of {@link NameRule}s that routes each tensor name to the one rule it matches, e.g. to the
 * parameter group of that rule. A name must match at most one rule (two matching rules are an error, not a
 * silent first-wins, so that overlapping rules are noticed); with {@link #exhaustive()} it must match exactly
 * one.
 *
 * <pre>{@code
 * NameRules rules = NameRules.of(NameRule.biasesAndNorms().withLabel("no decay"));
 * int group = rules.route("transformer.h.0.ln_1.weight") + 1;   // 1: no decay; 0: the default group
 * }</pre>
 *
 * <p>A builder can route as tensors are added, with {@link #tryRoute(String)}, keep the {@link Route}, and
 * raise its problem at {@code build()} with {@link Route#orThrow()}; or call {@link #route(String)}, which
 * throws at once. Immutable and thread-safe if the rules' predicates are.
 */
public final class NameRules {
    private final List<NameRule> rules;
    private final boolean exhaustive;

    private NameRules(List<NameRule> rules, boolean exhaustive) {
        this.rules = rules;
        this.exhaustive = exhaustive;
    }

    /**
     * Rules in order; rule i has index i. Not exhaustive: a name matching no rule routes to -1.
     *
     * @param rules the rules, none null, with distinct labels (none at all is allowed: every name then
     *              routes to -1)
     * @return the rule list
     * @throws IllegalArgumentException if two rules have the same label
     * @throws NullPointerException     if the array or a rule is null
     */
    public static NameRules of(NameRule... rules) {
        Objects.requireNonNull(rules, "rules is null");
        return of(List.of(checkNonNull(rules)));
    }

    /**
     * Rules in order; rule i has index i. Not exhaustive: a name matching no rule routes to -1.
     *
     * @param rules the rules, none null, with distinct labels
     * @return the rule list
     * @throws IllegalArgumentException if two rules have the same label
     * @throws NullPointerException     if the list or a rule is null
     */
    public static NameRules of(List<NameRule> rules) {
        Objects.requireNonNull(rules, "rules is null");
        List<NameRule> copy = new ArrayList<>(rules.size());
        Map<String, Integer> labels = new HashMap<>();
        for (int i = 0; i < rules.size(); i++) {
            int index = i;
            NameRule r = Objects.requireNonNull(rules.get(i), () -> "rule " + index + " is null");
            Integer previous = labels.putIfAbsent(r.label(), i);
            if (previous != null) {
                throw new IllegalArgumentException("rules " + previous + " and " + i + " have the same label '"
                        + r.label() + "'; labels must differ so that errors can say which rule matched");
            }
            copy.add(r);
        }
        return new NameRules(List.copyOf(copy), false);
    }

    private static NameRule[] checkNonNull(NameRule[] rules) {
        for (int i = 0; i < rules.length; i++) {
            if (rules[i] == null) {
                throw new NullPointerException("rule " + i + " is null");
            }
        }
        return rules;
    }

    /**
     * The same rules, exhaustive: every name must match exactly one rule, and a name matching none is an
     * error naming the tensor.
     *
     * @return the exhaustive rule list
     */
    public NameRules exhaustive() {
        return new NameRules(rules, true);
    }

    /**
     * Whether every name must match a rule.
     *
     * @return true if exhaustive
     */
    public boolean isExhaustive() {
        return exhaustive;
    }

    /**
     * The rules, in order.
     *
     * @return an unmodifiable list
     */
    public List<NameRule> rules() {
        return rules;
    }

    /**
     * The index of the one rule {@code tensorName} matches, or -1 if it matches none.
     *
     * @param tensorName the tensor's name
     * @return the rule's index, or -1 (never when exhaustive)
     * @throws IllegalArgumentException if two or more rules match (the message names the tensor and every
     *                                  matching rule's index and label), or none does and the rules are
     *                                  exhaustive (the message names the tensor and lists the labels)
     * @throws NullPointerException     if {@code tensorName} is null
     */
    public int route(String tensorName) {
        return tryRoute(tensorName).orThrow();
    }

    /**
     * Routes {@code tensorName} without throwing: the result holds the rule index, and a problem message
     * where {@link #route(String)} would throw.
     *
     * @param tensorName the tensor's name
     * @return the route
     * @throws NullPointerException if {@code tensorName} is null
     */
    public Route tryRoute(String tensorName) {
        Objects.requireNonNull(tensorName, "tensor name is null");
        int first = -1;
        List<Integer> more = null;
        for (int i = 0; i < rules.size(); i++) {
            if (rules.get(i).matches(tensorName)) {
                if (first < 0) {
                    first = i;
                } else {
                    if (more == null) {
                        more = new ArrayList<>();
                    }
                    more.add(i);
                }
            }
        }
        if (more != null) {
            StringBuilder sb = new StringBuilder("tensor '").append(tensorName).append("' matches ");
            sb.append(more.size() == 1 ? "both " : (more.size() + 1) + " rules: ").append(describe(first));
            for (int k = 0; k < more.size(); k++) {
                sb.append(k == more.size() - 1 ? " and " : ", ").append(describe(more.get(k)));
            }
            sb.append("; a tensor may match only one rule, so narrow one of them (e.g. with NameRule.except)");
            return new Route(tensorName, first, sb.toString());
        }
        if (first < 0 && exhaustive) {
            List<String> labels = rules.stream().map(r -> "'" + r.label() + "'").toList();
            return new Route(tensorName, -1, "tensor '" + tensorName + "' matches none of the rules " + labels
                    + ", but every tensor must match one (the rules are exhaustive)");
        }
        return new Route(tensorName, first, null);
    }

    private String describe(int i) {
        return "rule " + i + " '" + rules.get(i).label() + "'";
    }

    @Override
    public String toString() {
        return "NameRules" + rules + (exhaustive ? " (exhaustive)" : "");
    }

    /**
     * Where a tensor name was routed.
     *
     * @param tensor  the tensor's name
     * @param rule    the index of the matching rule; -1 if none matched; the first matching rule if several
     *                did (then {@code problem} is set)
     * @param problem null if the route is valid, else the message {@link #orThrow()} throws
     */
    public record Route(String tensor, int rule, String problem) {
        /**
         * Whether the route is valid (at most one rule matched, and one did if the rules are exhaustive).
         *
         * @return true if there is no problem
         */
        public boolean ok() {
            return problem == null;
        }

        /**
         * The rule index, if the route is valid.
         *
         * @return the index of the matching rule, or -1 if none matched
         * @throws IllegalArgumentException with {@link #problem()} as its message, if the route is not valid
         */
        public int orThrow() {
            if (problem != null) {
                throw new IllegalArgumentException(problem);
            }
            return rule;
        }
    }
}
