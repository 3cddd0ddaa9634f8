// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checks the optimizer against fixtures written by an independent NumPy implementation
 * ({@code core/src/test/python/make_fixtures.py}): g-SNR to 1e-6 relative, parameters to a few ulp.
 */
class FixtureTest {

    private record Tensor(String name, float[] param, List<float[]> grads, double gsnr, float[] fin) {
    }

    private static float[] floats(String[] parts) {
        float[] v = new float[parts.length - 1];
        for (int i = 1; i < parts.length; i++) {
            v[i - 1] = Float.parseFloat(parts[i]);
        }
        return v;
    }

    @ParameterizedTest
    @ValueSource(strings = {"defaults", "no_momentum", "maximize_schedule", "extreme_magnitudes"})
    void matchesTheNumpyImplementation(String name) throws IOException {
        double momentum = 0;
        double eps = 0;
        double wd = 0;
        boolean maximize = false;
        double[] lrs = null;
        List<Tensor> tensors = new ArrayList<>();
        String tName = null;
        float[] param = null;
        List<float[]> grads = new ArrayList<>();
        double gsnr = Double.NaN;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(Objects.requireNonNull(
                FixtureTest.class.getResourceAsStream("/fixtures/" + name + ".txt")), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                String[] f = line.split(" ");
                switch (f[0]) {
                    case "momentum" -> momentum = Double.parseDouble(f[1]);
                    case "eps" -> eps = Double.parseDouble(f[1]);
                    case "weight_decay" -> wd = Double.parseDouble(f[1]);
                    case "maximize" -> maximize = f[1].equals("1");
                    case "lr" -> {
                        lrs = new double[f.length - 1];
                        for (int i = 1; i < f.length; i++) {
                            lrs[i - 1] = Double.parseDouble(f[i]);
                        }
                    }
                    case "tensor" -> {
                        tName = f[1];
                        grads = new ArrayList<>();
                    }
                    case "param" -> param = floats(f);
                    case "grad" -> grads.add(floats(f));
                    case "gsnr" -> gsnr = Double.parseDouble(f[1]);
                    case "final" -> tensors.add(new Tensor(tName, param, grads, gsnr, floats(f)));
                    default -> { }
                }
            }
        }
        assertTrue(lrs != null && !tensors.isEmpty());
        SgdSai.Builder b = SgdSai.builder().lr(lrs[0]).momentum(momentum).eps(eps).weightDecay(wd).maximize(maximize);
        List<float[]> gradBuffers = new ArrayList<>();
        List<float[]> params = new ArrayList<>();
        for (Tensor t : tensors) {
            float[] p = t.param().clone();
            float[] g = new float[p.length];
            params.add(p);
            gradBuffers.add(g);
            b.add(t.name(), p, g);
        }
        try (SgdSai opt = b.build()) {
            for (int k = 0; k < lrs.length; k++) {
                for (int t = 0; t < tensors.size(); t++) {
                    System.arraycopy(tensors.get(t).grads().get(k), 0, gradBuffers.get(t), 0, params.get(t).length);
                }
                opt.group(0).setLr(lrs[k]);
                opt.step();
            }
            for (int t = 0; t < tensors.size(); t++) {
                Tensor want = tensors.get(t);
                assertEquals(want.gsnr(), opt.tensor(want.name()).gsnr(), 1e-6 * want.gsnr(), want.name() + " g-SNR");
                float[] got = params.get(t);
                for (int i = 0; i < got.length; i++) {
                    float w = want.fin()[i];
                    assertEquals(w, got[i], 4 * Math.ulp(w) + 4 * Math.ulp(want.param()[i]),
                            name + "/" + want.name() + "[" + i + "]");
                }
            }
        }
    }
}
