// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.examples;

import org.junit.jupiter.api.Test;
import quickstart.Quickstart;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's first example is {@code quickstart/Quickstart.java} verbatim (its SPDX line aside), and it trains:
 * the loss falls from about 20 to the noise floor (½·4·0.1² = 0.02 per sample).
 */
class QuickstartTest {
    static final Path SOURCE = Path.of("src/main/java/quickstart/Quickstart.java");
    static final Path README = Path.of("../README.md");

    /** The lines of the README's first {@code java} block after the quickstart marker. */
    static List<String> readmeBlock() throws Exception {
        List<String> lines = Files.readAllLines(README);
        int marker = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith("<!-- quickstart:")) {
                marker = i;
                break;
            }
        }
        assertTrue(marker >= 0, "README.md has no '<!-- quickstart:' marker before its first example");
        int open = marker + 1;
        assertEquals("```java", lines.get(open), "the line after the marker opens the java block");
        int close = lines.subList(open + 1, lines.size()).indexOf("```") + open + 1;
        assertTrue(close > open, "the README's quickstart block is not closed");
        return lines.subList(open + 1, close);
    }

    @Test
    void theReadmeBlockIsTheSourceFileVerbatim() throws Exception {
        List<String> source = Files.readAllLines(SOURCE);
        assertEquals("// SPDX-License-Identifier: Apache-2.0", source.get(0));
        assertEquals(String.join("\n", source.subList(1, source.size())), String.join("\n", readmeBlock()),
                "README.md's quickstart block must equal " + SOURCE + " (without its SPDX line): copy one to the other");
    }

    @Test
    void theQuickstartTrainsTheToyModel() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream capture = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            Quickstart.main(new String[0]);
        } finally {
            System.setOut(old);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        old.print(out);
        Matcher m = Pattern.compile("step (\\d+)  loss ([0-9.,]+)").matcher(out);
        double first = Double.NaN, last = Double.NaN;
        int steps = 0;
        while (m.find()) {
            double loss = Double.parseDouble(m.group(2).replace(',', '.'));
            if (steps++ == 0) {
                first = loss;
            }
            last = loss;
        }
        assertEquals(4, steps, out);
        assertTrue(first > 5, "initial loss " + first);
        assertTrue(last < 0.02, "final loss " + last + " should reach the noise floor 0.02");
        assertTrue(out.contains("g-SNR: w "), out);
        assertTrue(Pattern.compile("checkpoint: \\d+ bytes").matcher(out).find(), out);
    }
}
