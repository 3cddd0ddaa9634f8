// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Rejects storage registered twice: no two parameter or gradient spans may share a byte. */
final class Overlaps {
    private Overlaps() {
    }

    private record Range(long start, long end, int owner) {
    }

    /**
     * Throws naming both owners if two spans overlap. Array-backed and native spans are sorted by start
     * within their array (or within native memory), so this is O(n log n); other spans (byte-backed heap
     * buffers) are compared with every span.
     */
    static void check(List<FloatSpan> spans, List<String> owners) {
        Map<Object, List<Range>> byBase = new IdentityHashMap<>();
        Object nativeMemory = new Object();
        List<Integer> others = new ArrayList<>();
        for (int i = 0; i < spans.size(); i++) {
            FloatSpan s = spans.get(i);
            Object base = s.hasArray() ? s.array() : s.segment().isNative() ? nativeMemory : null;
            if (base == null) {
                others.add(i);
                continue;
            }
            long start = s.hasArray() ? 4L * s.arrayOffset() : s.segment().address();
            byBase.computeIfAbsent(base, k -> new ArrayList<>()).add(new Range(start, start + 4L * s.length(), i));
        }
        for (List<Range> ranges : byBase.values()) {
            ranges.sort(Comparator.comparingLong(Range::start));
            for (int k = 1; k < ranges.size(); k++) {
                Range prev = ranges.get(k - 1);
                Range cur = ranges.get(k);
                if (cur.start() < prev.end()) {
                    fail(owners, prev.owner(), cur.owner());
                }
            }
        }
        for (int i : others) {
            for (int j = 0; j < spans.size(); j++) {
                if (j != i && spans.get(i).overlaps(spans.get(j))) {
                    fail(owners, Math.min(i, j), Math.max(i, j));
                }
            }
        }
    }

    private static void fail(List<String> owners, int a, int b) {
        throw new IllegalArgumentException("storage registered twice: the " + owners.get(a) + " overlaps the "
                + owners.get(b));
    }
}
