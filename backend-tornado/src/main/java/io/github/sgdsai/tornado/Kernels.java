package io.github.sgdsai.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels, written in TornadoVM's Java subset. {@code Math.fma} does not compile in a TornadoVM
 * kernel, but TornadoVM turns a float {@code a * b + x} into one OpenCL {@code fma(a, b, x)}. When both
 * operands of the addition are products it fuses the one it parsed first, so each product the reference
 * fuses is computed before the other ({@code ms = m * negStep} before {@code p * decay}). The bit-identity
 * tests check that the generated code does what is intended (look with {@code -Dtornado.printKernel=True}).
 */
final class Kernels {
    /** Elements per block; every tensor starts at a multiple of it in the packed arrays. */
    static final int BLOCK_SHIFT = 8;
    static final int BLOCK = 1 << BLOCK_SHIFT;
    /** Floats of coefficients per tensor: kind, sign·negStep, sign, gradCoef, mu, negStep, decay. */
    static final int COEFS = 7;
    static final int SKIP = 0;
    static final int SGD = 1;
    static final int INIT = 2;
    static final int MOMENTUM = 3;
    /** Work-group size of the reductions. */
    static final int LOCAL = 256;

    private Kernels() {
    }

    /**
     * One step of every tensor, all packed in p, g, m: element i belongs to tensor {@code owner[i / BLOCK]}
     * whose coefficients are {@code coef[COEFS·t ..]}. SGD: {@code p = fma(g, c, p·decay)}; INIT: also
     * {@code m = sign·g}; MOMENTUM: {@code m = fma(g, gradCoef, m·mu); p = fma(m, negStep, p·decay)}.
     */
    static void update(FloatArray p, FloatArray g, FloatArray m, IntArray owner, FloatArray coef) {
        for (@Parallel int i = 0; i < p.getSize(); i++) {
            int c = owner.get(i >> BLOCK_SHIFT) * COEFS;
            int kind = (int) coef.get(c);
            if (kind != SKIP) {
                float gi = g.get(i);
                if (kind == MOMENTUM) {
                    float ga = gi * coef.get(c + 3);
                    float mi = ga + m.get(i) * coef.get(c + 4); // fma(g, gradCoef, m·mu)
                    m.set(i, mi);
                    float ms = mi * coef.get(c + 5);
                    p.set(i, ms + p.get(i) * coef.get(c + 6)); // fma(m, negStep, p·decay)
                } else {
                    if (kind == INIT) {
                        m.set(i, coef.get(c + 2) * gi);
                    }
                    float gc = gi * coef.get(c + 1);
                    p.set(i, gc + p.get(i) * coef.get(c + 6)); // fma(g, c, p·decay)
                }
            }
        }
    }

    /** Per work-group Σg over the first {@code n[0]} elements, by a fixed tree in local memory. */
    static void sum(KernelContext ctx, FloatArray g, IntArray n, DoubleArray partial) {
        int gid = ctx.globalIdx;
        int lid = ctx.localIdx;
        double[] local = ctx.allocateDoubleLocalArray(LOCAL);
        double v = 0.0;
        if (gid < n.get(0)) {
            v = g.get(gid);
        }
        local[lid] = v;
        for (int stride = LOCAL / 2; stride > 0; stride /= 2) {
            ctx.localBarrier();
            if (lid < stride) {
                local[lid] += local[lid + stride];
            }
        }
        if (lid == 0) {
            partial.set(ctx.groupIdx, local[0]);
        }
    }

    /** Per work-group Σg², Σd and Σd² (d = g − mean[0]) into partial[3·group ..], by fixed trees in local memory. */
    static void centered(KernelContext ctx, FloatArray g, IntArray n, DoubleArray mean, DoubleArray partial) {
        int gid = ctx.globalIdx;
        int lid = ctx.localIdx;
        double[] sq = ctx.allocateDoubleLocalArray(LOCAL);
        double[] sd = ctx.allocateDoubleLocalArray(LOCAL);
        double[] sd2 = ctx.allocateDoubleLocalArray(LOCAL);
        double x = 0.0;
        double d = 0.0;
        if (gid < n.get(0)) {
            x = g.get(gid);
            d = x - mean.get(0);
        }
        sq[lid] = x * x;
        sd[lid] = d;
        sd2[lid] = d * d;
        for (int stride = LOCAL / 2; stride > 0; stride /= 2) {
            ctx.localBarrier();
            if (lid < stride) {
                sq[lid] += sq[lid + stride];
                sd[lid] += sd[lid + stride];
                sd2[lid] += sd2[lid + stride];
            }
        }
        if (lid == 0) {
            int at = 3 * ctx.groupIdx;
            partial.set(at, sq[0]);
            partial.set(at + 1, sd[0]);
            partial.set(at + 2, sd2[0]);
        }
    }
}
