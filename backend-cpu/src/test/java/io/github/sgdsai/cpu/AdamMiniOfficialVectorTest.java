// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.Optimizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The official Adam-mini fixtures of core ({@code core/src/test/resources/fixtures/adam_mini_official_*.txt}, written by
 * {@code core/src/test/python/make_adam_mini_official_fixtures.py}) on the vector backend, on one and two threads:
 * {@code AdamMini.builder().official(dim, heads)} over GPT-2-, BERT- and Llama-like names and shapes gives the
 * fixture's block sizes, its parameters bit for bit after every step of the run, parameters within
 * {@code 1e-6·max(|p|, lr)} of the official arithmetic, and a checkpoint (every m and v) byte-identical to the scalar
 * backend's, which core's test compares with the fixture's m and v.
 */
class AdamMiniOfficialVectorTest {

    record Tensor(String name, int[] shape, int block, float[] param, List<float[]> grads, float[] fin, float[] official) {
    }

    static Path fixture(String name) {
        Path p = Path.of("..", "core", "src", "test", "resources", "fixtures", name + ".txt");
        assertTrue(Files.isRegularFile(p), "fixture " + p.toAbsolutePath() + " (run the tests from the module directory)");
        return p;
    }

    static List<Tensor> read(Path p, Map<String, String> hyper) throws IOException {
        List<Tensor> out = new ArrayList<>();
        String[] head = null;
        Map<String, float[]> cur = new HashMap<>();
        List<float[]> grads = new ArrayList<>();
        for (String line : Files.readAllLines(p)) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "#" -> { }
                case "tensor" -> {
                    head = f;
                    cur = new HashMap<>();
                    grads = new ArrayList<>();
                }
                case "grad" -> grads.add(floats(f));
                case "param", "final", "official", "m", "v" -> cur.put(f[0], floats(f));
                case "official_v" -> out.add(new Tensor(head[1],
                        Arrays.stream(head[2].split(",")).mapToInt(Integer::parseInt).toArray(), Integer.parseInt(head[3]),
                        cur.get("param"), grads, cur.get("final"), cur.get("official")));
                default -> hyper.put(f[0], f[1]);
            }
        }
        return out;
    }

    static float[] floats(String[] parts) {
        float[] v = new float[parts.length - 1];
        for (int i = 1; i < parts.length; i++) {
            v[i - 1] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    /** Runs the fixture on {@code backend}; returns the checkpoint after the last step. */
    static byte[] run(String name, String backend, int threads) throws IOException {
        Map<String, String> h = new HashMap<>();
        List<Tensor> ts = read(fixture(name), h);
        double lr = Double.parseDouble(h.get("lr"));
        AdamMini.Builder b = AdamMini.builder().lr(lr)
                .betas(Double.parseDouble(h.get("beta1")), Double.parseDouble(h.get("beta2")))
                .eps(Double.parseDouble(h.get("eps"))).weightDecay(Double.parseDouble(h.get("weight_decay")))
                .official(Integer.parseInt(h.get("dim")), Integer.parseInt(h.get("heads")))
                .backend(backend).threads(threads);
        float[][] p = new float[ts.size()][];
        float[][] g = new float[ts.size()][];
        for (int t = 0; t < ts.size(); t++) {
            p[t] = ts.get(t).param().clone();
            g[t] = new float[p[t].length];
            b.add(ts.get(t).name(), p[t], g[t], ts.get(t).shape());
        }
        try (Optimizer opt = b.build()) {
            assertEquals(backend, opt.backendName());
            for (Tensor t : ts) {
                assertEquals(t.block(), opt.tensor(t.name()).blockSize(), t.name());
            }
            int steps = Integer.parseInt(h.get("steps"));
            for (int k = 0; k < steps; k++) {
                for (int t = 0; t < ts.size(); t++) {
                    System.arraycopy(ts.get(t).grads().get(k), 0, g[t], 0, g[t].length);
                }
                assertTrue(opt.step());
            }
            for (int t = 0; t < ts.size(); t++) {
                Tensor want = ts.get(t);
                for (int i = 0; i < p[t].length; i++) {
                    String where = name + "/" + want.name() + "[" + i + "] on " + backend + " x" + threads;
                    if (Float.floatToIntBits(want.fin()[i]) != Float.floatToIntBits(p[t][i])) {
                        fail(where + ": expected " + want.fin()[i] + " but was " + p[t][i]);
                    }
                    double tol = 1e-6 * Math.max(Math.abs(want.official()[i]), lr);
                    assertTrue(Math.abs(p[t][i] - want.official()[i]) <= tol, where + " vs the official arithmetic");
                }
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            opt.save(out);
            return out.toByteArray();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"adam_mini_official_gpt2", "adam_mini_official_bert", "adam_mini_official_llama_gqa"})
    void matchesTheFixtureOnTheVectorBackend(String name) throws IOException {
        byte[] scalar = run(name, "scalar", 1);
        assertArrayEquals(scalar, run(name, "vector", 1), "vector checkpoint, 1 thread");
        assertArrayEquals(scalar, run(name, "vector", 2), "vector checkpoint, 2 threads");
    }
}
