// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import io.github.sgdsai.AdamMini;
import io.github.sgdsai.AdamW;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.Scaling;
import io.github.sgdsai.SgdSai;

import java.util.List;

/**
 * The parameters and gradients of one GPT-2 model on the heap (one {@code float[]} per tensor, as a framework holds
 * them): parameters normal with σ 0.02 (GPT-2's initialization), gradients standard normal, both from fixed seeds.
 * Also builds the optimizers the GPT-2 benchmarks compare.
 */
final class Gpt2Model {
    /** The benchmarks' {@code optimizer} values. */
    static final List<String> OPTIMIZERS = List.of("sgd-sai", "sgdm", "adamw", "adam-mini");

    final Gpt2Shapes.Model model;
    final List<Gpt2Shapes.Tensor> tensors;
    final float[][] param;
    final float[][] grad;

    Gpt2Model(Gpt2Shapes.Model model) {
        this.model = model;
        this.tensors = Gpt2Shapes.tensors(model);
        param = new float[tensors.size()][];
        grad = new float[tensors.size()][];
        for (int i = 0; i < tensors.size(); i++) {
            int n = tensors.get(i).length();
            param[i] = new float[n];
            grad[i] = new float[n];
            Gpt2Shapes.fillNormal(param[i], 1000L + i, 0.02);
            Gpt2Shapes.fillNormal(grad[i], 2000L + i, 1.0);
        }
    }

    long parameters() {
        return Gpt2Shapes.parameters(model);
    }

    /**
     * {@code sgd-sai} (g-SNR scaling), {@code sgdm} (the same engine with {@link Scaling#NONE}: SGD with momentum),
     * {@code adamw}, {@code adam-mini} ({@code modelShape(d, heads)}: the official partition, every tensor added with
     * its shape), on the vector backend with {@code threads}
     * threads, every tensor in one group, library defaults otherwise; {@code checked} = the default
     * {@link NonFinitePolicy#THROW}.
     */
    Optimizer build(String optimizer, int threads, boolean checked) {
        return build(optimizer, "vector", threads, checked);
    }

    /**
     * As {@link #build(String, int, boolean)} on the named backend: {@code vector}, or {@code tornado} (host-resident
     * tensors copied to the device and back every step; needs backend-tornado in the jar and a JVM started with
     * TornadoVM's argfile), where {@code threads} has no effect.
     */
    Optimizer build(String optimizer, String backend, int threads, boolean checked) {
        NonFinitePolicy policy = checked ? NonFinitePolicy.THROW : NonFinitePolicy.UNCHECKED;
        return switch (optimizer) {
            case "sgd-sai" -> addAll(SgdSai.builder().lr(1e-3)).backend(backend).threads(threads).nonFinite(policy).build();
            case "sgdm" -> addAll(SgdSai.builder().lr(1e-3).scaling(Scaling.NONE)).backend(backend).threads(threads)
                    .nonFinite(policy).build();
            case "adamw" -> addAll(AdamW.builder().lr(1e-3)).backend(backend).threads(threads).nonFinite(policy).build();
            case "adam-mini" -> addAll(AdamMini.builder().lr(1e-3).modelShape(model.dim, model.heads)).backend(backend)
                    .threads(threads).nonFinite(policy).build();
            default -> throw new IllegalArgumentException("optimizer " + optimizer);
        };
    }

    private <B extends io.github.sgdsai.GroupSpec<B>> B addAll(B b) {
        for (int i = 0; i < tensors.size(); i++) {
            b.add(tensors.get(i).name(), param[i], grad[i], tensors.get(i).shape());
        }
        return b;
    }
}
