// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The grid experiment's pipeline on a tiny grid (CI); the full grid is a documented command, not a test. */
class FashionGridTest {
    @TempDir
    Path tmp;

    @Test
    void shippedSubsetIsFashionMnistsFirstImages() throws Exception {
        FashionMnist train = FashionMnist.load(null, true, Integer.MAX_VALUE);
        FashionMnist test = FashionMnist.load(null, false, Integer.MAX_VALUE);
        assertEquals(10_000, train.count());
        assertEquals(2_000, test.count());
        assertEquals(9, train.labels()[0]); // an ankle boot, as in the full files
        assertEquals(9, test.labels()[0]);
        assertEquals(2, test.labels()[1]);
        double sum = 0;
        for (int i = 0; i < FashionMnist.PIXELS; i++) {
            sum += Math.round(train.images()[i] * 255);
        }
        assertEquals(76_247, sum, 0.0, "pixel sum of the first training image (from the IDX file)");
        int[] perClass = new int[FashionMnist.CLASSES];
        for (int y : train.labels()) {
            perClass[y]++;
        }
        for (int c : perClass) {
            assertTrue(c > 900 && c < 1100, "classes roughly balanced: " + java.util.Arrays.toString(perClass));
        }
    }

    /** The grid run as two processes would run it (two methods each), then merged: the full run's pipeline. */
    @Test
    void tinyGridWritesEveryOutput() throws Exception {
        Path out = tmp.resolve("grid");
        for (String part : new String[] {"sgdsai,adamw", "sgdm,adam"}) {
            FashionGrid.main(new String[] {"--train", "500", "--test", "200", "--epochs", "1", "--batch", "50",
                    "--lrs", "3e-3", "--wds-decoupled", "0,0.1", "--wds-coupled", "0,1e-4", "--extra-seeds", "1",
                    "--methods", part, "--out", tmp.resolve(part).toString()});
        }
        FashionGrid.main(new String[] {"--merge", out.toString(), tmp.resolve("sgdsai,adamw").toString(),
                tmp.resolve("sgdm,adam").toString()});
        String json = Files.readString(out.resolve("grid.json"));
        Matcher runs = Pattern.compile("\\{\"method\": \"(\\w+)\", \"lr\": ([^,]+), \"wd\": ([^,]+), \"seed\": (\\d+), "
                + "\"accuracy\": ([^,]+), \"diverged\": (\\w+), \"firstLoss\": ([^,]+), \"meanLoss\": ([^,]+), \"steps\": (\\d+)")
                .matcher(json);
        int n = 0;
        while (runs.find()) {
            n++;
            assertEquals("false", runs.group(6), runs.group());
            double acc = Double.parseDouble(runs.group(5));
            assertTrue(acc >= 0 && acc <= 1, runs.group());
            assertEquals("10", runs.group(9), "every run takes the same 10 steps: " + runs.group());
            assertTrue(Double.parseDouble(runs.group(7)) > 1.5, "initial loss near ln 10: " + runs.group());
        }
        assertEquals(4 * 2 + 4, n, "8 cells and one extra seed per optimizer");
        for (String m : new String[] {"SGDSAI", "ADAMW", "SGDM", "ADAM"}) {
            assertTrue(json.contains("\"" + m + "\": {\"bestLr\""), m);
        }
        assertTrue(json.contains("\"gsnr\": {\"0_W\""), "SGD-SaI runs log g-SNR per DL4J parameter");
        String md = Files.readString(out.resolve("GRID.md"));
        for (String label : new String[] {"## SGD-SaI", "## AdamW", "## SGDM (DL4J Nesterovs)", "## Adam (DL4J, L2)"}) {
            assertTrue(md.contains(label), label);
        }
        assertTrue(md.contains("**"), "best cells marked");
        byte[] png = Files.readAllBytes(out.resolve("grid.png"));
        assertTrue(png.length > 10_000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG heat map figure");
    }
}
