// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code AdamMini.builder().official(dim, heads)} over the parameter names and shapes of GPT-2-, BERT- and Llama-like
 * models (Hugging Face's names, small dimensions) against fixtures written by an independent NumPy implementation of
 * the official package's partition and step ({@code core/src/test/python/make_adam_mini_official_fixtures.py}), on
 * every storage kind: each tensor's block size and weight decay as the official rules give them; parameters, first
 * moments and every block's second moment after several steps bit for bit against the NumPy emulation of the
 * library's documented arithmetic; parameters within {@code 1e-6·max(|p|, lr)} of the emulation of the official
 * code's own float operations.
 */
class AdamMiniOfficialFixtureTest {

    static final String[] CASES = {"adam_mini_official_gpt2", "adam_mini_official_bert", "adam_mini_official_llama_gqa"};

    /** One tensor of a fixture. */
    record Tensor(String name, int[] shape, int block, boolean decays, String branch, float[] param, List<float[]> grads,
                  float[] fin, float[] m, float[] v, float[] official, float[] officialV) {
    }

    /** A fixture: hyperparameters and tensors. */
    record Fixture(String name, Map<String, String> hyper, List<Tensor> tensors) {
        double d(String key) {
            return Double.parseDouble(hyper.get(key));
        }

        int i(String key) {
            return Integer.parseInt(hyper.get(key));
        }

        /** The optimizer the fixture describes, its tensors added (with their shapes) over {@code params}/{@code grads}. */
        AdamMini.Builder builder(List<FloatSpan> params, List<FloatSpan> grads) {
            AdamMini.Builder b = AdamMini.builder().lr(d("lr")).betas(d("beta1"), d("beta2")).eps(d("eps"))
                    .weightDecay(d("weight_decay")).official(i("dim"), i("heads"));
            for (int t = 0; t < tensors.size(); t++) {
                b.add(tensors.get(t).name(), params.get(t), grads.get(t), tensors.get(t).shape());
            }
            return b;
        }
    }

    static Fixture read(String name) throws IOException {
        try (InputStream in = Objects.requireNonNull(AdamMiniOfficialFixtureTest.class.getResourceAsStream(
                "/fixtures/" + name + ".txt"), name)) {
            return read(name, in);
        }
    }

    static Fixture read(String name, InputStream stream) throws IOException {
        Map<String, String> hyper = new HashMap<>();
        List<Tensor> tensors = new ArrayList<>();
        Map<String, float[]> cur = new HashMap<>();
        List<float[]> grads = new ArrayList<>();
        String[] head = null;
        BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] f = line.split(" ");
            switch (f[0]) {
                case "#" -> { }
                case "tensor" -> {
                    head = f;
                    cur = new HashMap<>();
                    grads = new ArrayList<>();
                }
                case "grad" -> grads.add(floats(f));
                case "param", "final", "m", "v", "official" -> cur.put(f[0], floats(f));
                case "official_v" -> {
                    Objects.requireNonNull(head, "official_v before tensor");
                    int[] shape = Arrays.stream(head[2].split(",")).mapToInt(Integer::parseInt).toArray();
                    tensors.add(new Tensor(head[1], shape, Integer.parseInt(head[3]), head[4].equals("1"), head[5],
                            cur.get("param"), grads, cur.get("final"), cur.get("m"), cur.get("v"), cur.get("official"),
                            floats(f)));
                }
                default -> hyper.put(f[0], f[1]);
            }
        }
        return new Fixture(name, hyper, tensors);
    }

    private static float[] floats(String[] parts) {
        float[] v = new float[parts.length - 1];
        for (int i = 1; i < parts.length; i++) {
            v[i - 1] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String f : CASES) {
            for (Storage s : Storage.values()) {
                out.add(Arguments.of(f, s));
            }
        }
        return out.stream();
    }

    /** Bit-for-bit equality of two float arrays, naming the first difference. */
    static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToIntBits(want[i]) != Float.floatToIntBits(got[i])) {
                fail(what + "[" + i + "]: expected " + want[i] + " but was " + got[i] + " ("
                        + Math.round((got[i] - want[i]) / Math.ulp(want[i])) + " ulp)");
            }
        }
    }

    /** {@code |Δp| ≤ 1e-6·max(|p|, lr)} for every element, against the official arithmetic. */
    static void assertNearOfficial(float[] want, float[] got, double lr, String what) {
        for (int i = 0; i < want.length; i++) {
            double tol = 1e-6 * Math.max(Math.abs(want[i]), lr);
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                fail(what + "[" + i + "]: official " + want[i] + ", library " + got[i] + ", |Δp| > " + tol);
            }
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesTheOfficialPartitionAndStep(String name, Storage storage) throws IOException {
        Fixture fx = read(name);
        assertTrue(fx.tensors().size() >= 12, "fixture has its tensors");
        List<FloatSpan> params = new ArrayList<>();
        List<FloatSpan> grads = new ArrayList<>();
        for (Tensor t : fx.tensors()) {
            params.add(storage.of(t.param()));
            grads.add(storage.of(new float[t.param().length]));
        }
        try (AdamMini opt = fx.builder(params, grads).backend("scalar").build()) {
            for (Tensor t : fx.tensors()) {
                Optimizer.Tensor ot = opt.tensor(t.name());
                assertEquals(t.block(), ot.blockSize(), t.name() + " (" + t.branch() + "): elements per block");
                assertEquals(t.decays() ? fx.d("weight_decay") : 0.0, ot.group().weightDecay(), t.name() + ": weight decay");
            }
            for (int k = 0; k < fx.i("steps"); k++) {
                for (int t = 0; t < fx.tensors().size(); t++) {
                    grads.get(t).copyFrom(fx.tensors().get(t).grads().get(k));
                }
                assertTrue(opt.step());
            }
            for (int t = 0; t < fx.tensors().size(); t++) {
                Tensor want = fx.tensors().get(t);
                Optimizer.Tensor ot = opt.tensor(want.name());
                String where = name + "/" + want.name();
                float[] p = Storage.values(params.get(t));
                assertBits(want.fin(), p, where + " parameters");
                assertBits(want.m(), Storage.values(ot.momentum), where + " m");
                assertBits(want.v(), Storage.values(ot.second), where + " v");
                assertNearOfficial(want.official(), p, fx.d("lr"), where + " parameters vs the official arithmetic");
                float[] v = Storage.values(ot.second);
                for (int i = 0; i < v.length; i++) {
                    assertEquals(want.officialV()[i], v[i], 1e-5 * want.officialV()[i], where + " v vs official [" + i + "]");
                }
            }
        }
    }
}
