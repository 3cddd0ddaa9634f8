// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.experiments.fashion;

import io.github.sgdsai.experiments.fashion.FashionGrid.Method;
import io.github.sgdsai.experiments.fashion.FashionGrid.Run;
import io.github.sgdsai.experiments.fashion.FashionGrid.Settings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads a grid.json written by {@link Report} back, to redraw GRID.md and grid.png without training again. */
final class Replot {
    private static final String NUM = "(null|[-0-9.Ee]+)";

    private Replot() {
    }

    static void replot(Path dir) throws IOException {
        replot(dir, List.of(dir));
    }

    /**
     * Writes GRID.md, grid.json and grid.png into {@code out} from the runs of every {@code parts} directory's
     * grid.json (one grid run in several processes, each on some of the methods; settings other than the methods
     * and their learning rates must agree, and are taken from the first).
     */
    static void replot(Path out, List<Path> parts) throws IOException {
        String first = null;
        Map<Method, double[]> lrs = new LinkedHashMap<>();
        List<Run> runs = new ArrayList<>();
        for (Path dir : parts) {
            String json = Files.readString(dir.resolve("grid.json"));
            if (first == null) {
                first = json;
            } else if (!settingsWithoutMethods(json).equals(settingsWithoutMethods(first))) {
                throw new IOException(dir.resolve("grid.json") + ": its settings differ from those of " + parts.get(0));
            }
            readRuns(json, lrs, runs);
        }
        if (runs.isEmpty()) {
            throw new IOException(parts + ": no runs found");
        }
        String json = first;
        String data = string(json, "data");
        Settings s = new Settings(data.equals("shipped subset") ? null : Path.of(data), integer(json, "train"),
                integer(json, "test"), integer(json, "epochs"), integer(json, "batch"), integer(json, "seed"),
                integer(json, "extraSeeds"), new ArrayList<>(lrs.keySet()), lrs,
                array(section(json, "\"decoupledWds\": [", "]")), array(section(json, "\"coupledWds\": [", "]")), out);
        Files.createDirectories(out);
        Report.write(s, runs);
    }

    /** The settings line without the learning rates (which list only a part's methods). */
    private static String settingsWithoutMethods(String json) {
        String settings = section(json, "\"settings\": {", "\n");
        return settings.replaceAll("\"lrs\": \\{[^}]*\\}", "");
    }

    /** Adds the methods' learning rates and the runs of one grid.json. */
    private static void readRuns(String json, Map<Method, double[]> lrs, List<Run> runs) {
        Matcher lm = Pattern.compile("\"(\\w+)\": \\[([^\\]]*)\\]").matcher(section(json, "\"lrs\": {", "}"));
        while (lm.find()) {
            lrs.put(Method.valueOf(lm.group(1)), array(lm.group(2)));
        }
        Matcher rm = Pattern.compile("\\{\"method\": \"(\\w+)\", \"lr\": " + NUM + ", \"wd\": " + NUM + ", \"seed\": (-?\\d+), "
                + "\"accuracy\": " + NUM + ", \"diverged\": (\\w+), \"firstLoss\": " + NUM + ", \"meanLoss\": " + NUM
                + ", \"steps\": (\\d+), \"seconds\": " + NUM + "(?:, \"gsnr\": \\{([^}]*)\\})?\\}").matcher(json);
        while (rm.find()) {
            Map<String, Double> gsnr = new LinkedHashMap<>();
            if (rm.group(11) != null) {
                Matcher g = Pattern.compile("\"([^\"]+)\": " + NUM).matcher(rm.group(11));
                while (g.find()) {
                    gsnr.put(g.group(1), num(g.group(2)));
                }
            }
            runs.add(new Run(Method.valueOf(rm.group(1)), num(rm.group(2)), num(rm.group(3)), Long.parseLong(rm.group(4)),
                    num(rm.group(5)), num(rm.group(7)), num(rm.group(8)), Boolean.parseBoolean(rm.group(6)),
                    Integer.parseInt(rm.group(9)), num(rm.group(10)), gsnr));
        }
    }

    private static String section(String json, String start, String end) {
        int i = json.indexOf(start) + start.length();
        return json.substring(i, json.indexOf(end, i));
    }

    private static String string(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": \"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : "";
    }

    private static int integer(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (-?\\d+)").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("grid.json: no '" + key + "'");
        }
        return Integer.parseInt(m.group(1));
    }

    private static double[] array(String csv) {
        return csv.isBlank() ? new double[0] : Arrays.stream(csv.split(",")).mapToDouble(x -> Double.parseDouble(x.trim())).toArray();
    }

    private static double num(String v) {
        return v.equals("null") ? Double.NaN : Double.parseDouble(v);
    }
}
