// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels, written in TornadoVM's Java subset, and two host helpers for their packed layout.
 * {@code Math.fma} does not compile in a TornadoVM kernel, but TornadoVM turns a float {@code a * b + x} into
 * one OpenCL {@code fma(a, b, x)}. When both operands of the addition are products it fuses the one it parsed
 * first, so each product the reference fuses is computed before the other ({@code ms = m * negStep} before
 * {@code p * decay}). The bit-identity tests check that the generated code does what is intended (look with
 * {@code -Dtornado.printKernel=True}).
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
    /** Work-groups of the range reductions over device-resident gradients. */
    static final int RANGE_GROUPS = 64;
    /** Global size of the range reductions: every work-item strides by it. */
    static final int RANGE_GLOBAL = RANGE_GROUPS * LOCAL;

    private Kernels() {
    }

    /** Elements a tensor of {@code length} occupies in the packed arrays: its length rounded up to whole blocks. */
    static long padded(long length) {
        return (length + BLOCK - 1) / BLOCK * BLOCK;
    }

    /** Host side: marks the blocks of {@code [offset, offset + length)} as tensor {@code slot}'s in {@code owner}. */
    static void own(IntArray owner, int slot, int offset, int length) {
        for (int blk = offset / BLOCK; blk < (offset + length + BLOCK - 1) / BLOCK; blk++) {
            owner.set(blk, slot);
        }
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

    /** Touches nothing: the one task of the graphs that only move {@code p} and {@code g} on or off the device. */
    static void touch(FloatArray p, FloatArray g) {
        for (@Parallel int i = 0; i < 1; i++) {
            g.set(i, g.get(i));
        }
    }

    /**
     * {@code flag[t] = 1} for every non-finite {@code g[i]} of tensor {@code t = owner(i)} below {@code end[t]} (the
     * padding after a tensor is not its data); {@code g − g} is NaN exactly for NaN and ±Inf.
     */
    static void nonFinite(FloatArray p, FloatArray g, IntArray owner, IntArray end, IntArray flag) {
        for (@Parallel int i = 0; i < g.getSize(); i++) {
            int t = owner.get(i >> BLOCK_SHIFT);
            float x = g.get(i);
            if (i < end.get(t) && x - x != 0.0f) {
                flag.set(t, 1);
            }
        }
    }

    /**
     * Per work-group Σg over {@code g[range[0] .. range[0] + range[1])}: work-item k adds elements k, k + G, k + 2G, …
     * (G = {@link #RANGE_GLOBAL}), then a fixed tree in local memory; so the result is deterministic.
     */
    static void rangeSum(KernelContext ctx, FloatArray p, FloatArray g, IntArray range, DoubleArray partial) {
        int lid = ctx.localIdx;
        double[] local = ctx.allocateDoubleLocalArray(LOCAL);
        double v = 0.0;
        for (int i = ctx.globalIdx; i < range.get(1); i += RANGE_GLOBAL) {
            v += g.get(range.get(0) + i);
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

    /** Per work-group Σg², Σd, Σd² (d = g − mean[0]) over the range, in the order of {@link #rangeSum}. */
    static void rangeCentered(KernelContext ctx, FloatArray p, FloatArray g, IntArray range, DoubleArray mean,
                              DoubleArray partial) {
        int lid = ctx.localIdx;
        double[] sq = ctx.allocateDoubleLocalArray(LOCAL);
        double[] sd = ctx.allocateDoubleLocalArray(LOCAL);
        double[] sd2 = ctx.allocateDoubleLocalArray(LOCAL);
        double a = 0.0;
        double b = 0.0;
        double c = 0.0;
        for (int i = ctx.globalIdx; i < range.get(1); i += RANGE_GLOBAL) {
            double x = g.get(range.get(0) + i);
            double d = x - mean.get(0);
            a += x * x;
            b += d;
            c += d * d;
        }
        sq[lid] = a;
        sd[lid] = b;
        sd2[lid] = c;
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
