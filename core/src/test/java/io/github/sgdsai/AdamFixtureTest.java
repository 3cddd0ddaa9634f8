// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks AdamW and Adam-mini against fixtures written by an independent NumPy implementation
 * ({@code core/src/test/python/make_adam_fixtures.py}), on every storage kind: parameters to a few ulp (NumPy
 * emulates FMA with double rounding).
 */
class AdamFixtureTest {

    private record Tensor(String name, int block, float[] param, List<float[]> grads, float[] fin) {
    }

    private record Fixture(Map<String, String> hyper, List<Tensor> tensors) {
        double d(String key) {
            return Double.parseDouble(hyper.get(key));
        }

        boolean flag(String key) {
            return hyper.get(key).equals("1");
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String f : new String[] {"adamw_defaults", "adamw_low_beta1_maximize", "adamw_amsgrad", "adamw_extreme",
                "adam_mini_blocks", "adam_mini_low_beta1_maximize", "adam_mini_big_blocks"}) {
            for (Storage s : Storage.values()) {
                out.add(Arguments.of(f, s));
            }
        }
        return out.stream();
    }

    static Fixture read(String name) throws IOException {
        Map<String, String> hyper = new HashMap<>();
        List<Tensor> tensors = new ArrayList<>();
        String tName = null;
        int block = 1;
        float[] param = null;
        List<float[]> grads = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Objects.requireNonNull(
                AdamFixtureTest.class.getResourceAsStream("/fixtures/" + name + ".txt")), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "#" -> { }
                    case "tensor" -> {
                        tName = f[1];
                        block = Integer.parseInt(f[3]);
                        grads = new ArrayList<>();
                    }
                    case "param" -> param = floats(f);
                    case "grad" -> grads.add(floats(f));
                    case "final" -> tensors.add(new Tensor(tName, block, param, grads, floats(f)));
                    default -> hyper.put(f[0], f[1]);
                }
            }
        }
        return new Fixture(hyper, tensors);
    }

    private static float[] floats(String[] parts) {
        float[] v = new float[parts.length - 1];
        for (int i = 1; i < parts.length; i++) {
            v[i - 1] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void matchesTheNumpyImplementation(String name, Storage storage) throws IOException {
        Fixture fx = read(name);
        List<FloatSpan> params = new ArrayList<>();
        List<FloatSpan> grads = new ArrayList<>();
        for (Tensor t : fx.tensors()) {
            params.add(storage.of(t.param()));
            grads.add(storage.of(new float[t.param().length]));
        }
        boolean mini = name.startsWith("adam_mini");
        Optimizer opt;
        if (mini) {
            AdamMini.Builder b = AdamMini.builder().lr(fx.d("lr")).betas(fx.d("beta1"), fx.d("beta2")).eps(fx.d("eps"))
                    .weightDecay(fx.d("weight_decay")).maximize(fx.flag("maximize")).backend("scalar");
            for (int t = 0; t < fx.tensors().size(); t++) {
                Tensor tn = fx.tensors().get(t);
                b.add(tn.name(), params.get(t), grads.get(t));
                b.partition(tn.name(), tn.block() == 1 ? AdamMini.Partition.perElement() : AdamMini.Partition.perRow(tn.block()));
            }
            opt = b.build();
        } else {
            AdamW.Builder b = AdamW.builder().lr(fx.d("lr")).betas(fx.d("beta1"), fx.d("beta2")).eps(fx.d("eps"))
                    .weightDecay(fx.d("weight_decay")).maximize(fx.flag("maximize")).amsgrad(fx.flag("amsgrad"))
                    .backend("scalar");
            for (int t = 0; t < fx.tensors().size(); t++) {
                b.add(fx.tensors().get(t).name(), params.get(t), grads.get(t));
            }
            opt = b.build();
        }
        try (opt) {
            int steps = Integer.parseInt(fx.hyper().get("steps"));
            for (int k = 0; k < steps; k++) {
                for (int t = 0; t < fx.tensors().size(); t++) {
                    grads.get(t).copyFrom(fx.tensors().get(t).grads().get(k));
                }
                assertTrue(opt.step());
            }
            for (int t = 0; t < fx.tensors().size(); t++) {
                Tensor want = fx.tensors().get(t);
                float[] got = Storage.values(params.get(t));
                for (int i = 0; i < got.length; i++) {
                    float w = want.fin()[i];
                    assertEquals(w, got[i], 4 * Math.ulp(w) + 4 * Math.ulp(want.param()[i]),
                            name + "/" + want.name() + "[" + i + "]");
                }
            }
            long expectState = 0;
            for (Tensor t : fx.tensors()) {
                int n = t.param().length;
                expectState += 4L * n + 4L * (n / t.block()) + (fx.hyper().containsKey("amsgrad") && fx.flag("amsgrad") ? 4L * n : 0);
            }
            assertEquals(expectState, opt.stateBufferBytes(), "state bytes");
        }
    }
}
