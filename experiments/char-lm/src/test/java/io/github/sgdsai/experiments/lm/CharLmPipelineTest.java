// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.lm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The experiment's pipeline end to end on a tiny model (a few dozen steps): CI's version of the experiment. */
class CharLmPipelineTest {

    @Test
    void tinyRunTrainsEveryOptimizerAndWritesEveryOutput(@TempDir Path out) throws Exception {
        CharLm.main(new String[] {"tiny", out.toString()});
        for (String f : List.of("RESULTS.md", "loss-vs-steps.png", "loss-vs-time.png", "sweep.png")) {
            assertTrue(Files.size(out.resolve(f)) > 1000, f);
        }
        List<Path> runs;
        try (var s = Files.list(out.resolve("runs"))) {
            runs = s.sorted().toList();
        }
        assertEquals(3, runs.size(), runs.toString());
        Pattern held = Pattern.compile("\"heldOut\": \\[([^]]*)]");
        for (Path run : runs) {
            String json = Files.readString(run);
            Matcher m = held.matcher(json);
            assertTrue(m.find(), run.toString());
            String[] v = m.group(1).split(", ");
            double first = Double.parseDouble(v[0]);
            double last = Double.parseDouble(v[v.length - 1]);
            // a character model starts near ln 128 = 4.85 and learns at least the character frequencies
            assertTrue(Math.abs(first - Math.log(128)) < 0.2, run + ": initial held-out loss " + first);
            assertTrue(last < first - 0.3, run + ": held-out loss " + first + " -> " + last);
        }
        assertTrue(Files.readString(out.resolve("RESULTS.md")).contains("g-SNR"));
    }
}
