// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.spi.StepBatch;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * The device kernels, written in TornadoVM's Java subset, and host helpers for their packed layout. They follow
 * the arithmetic of {@link io.github.sgdsai.spi.StepBatch} (the scalar reference's) bit for bit; three things of
 * TornadoVM's OpenCL code generation shape how they are written:
 * <ul>
 *   <li>{@code Math.fma} does not compile in a kernel, but TornadoVM turns every float or double addition with a
 *       product as an operand into one OpenCL {@code fma(a, b, x)}. When both operands are products it fuses the
 *       one created first (Graal orders a commutative node's inputs by node id), so each product the reference
 *       fuses is computed before the other ({@code gi * negStep} before {@code p * decay}). An addition the
 *       reference does not fuse is written as a subtraction of the negated term ({@code p·decay − (η/bc₁·m)/d}
 *       with the negation done on the host), or given an operand that is not a product (the lerp's base is a
 *       select), since only additions are fused.</li>
 *   <li>{@code Math.sqrt} compiles to OpenCL's {@code native_sqrt} (TornadoVM's default
 *       {@code tornado.enable.nativeFunctions}), whose accuracy is implementation-defined and which
 *       {@code -cl-fp32-correctly-rounded-divide-sqrt} does not cover; {@link #sqrtRn} therefore takes it as a
 *       first guess only and returns the correctly rounded root, checked exactly in double.</li>
 *   <li>OpenCL allows a float division 2.5 ulp unless built with {@code -cl-fp32-correctly-rounded-divide-sqrt},
 *       which not every device supports; double division is always correctly rounded, and rounding its quotient
 *       to float gives the correctly rounded float quotient (53 ≥ 2·24 + 2 bits: the double rounding is
 *       innocuous), so {@link #div} divides in double.</li>
 * </ul>
 * Everything else the kernels use (float and double +, −, ×, conversions, comparisons) OpenCL rounds correctly
 * without fast-math, which the plans turn off ({@link TornadoBackend#strict}). The bit-identity tests check that
 * the generated code does what is intended (look with {@code -Dtornado.printKernel=True}).
 */
final class Kernels {
    /** Elements per block; every tensor starts at a multiple of it in the packed arrays. */
    static final int BLOCK_SHIFT = 8;
    static final int BLOCK = 1 << BLOCK_SHIFT;

    /** Ints of a tensor's entry in the info table: kind, offset, end (offset + length), second-moment block. */
    static final int INFO = 4;
    static final int KIND = 0;
    static final int OFFSET = 1;
    static final int END = 2;
    static final int BLOCK_SIZE = 3;

    /** Floats of a tensor's coefficients: see the constants below and {@link TornadoBackend#setCoefficients}. */
    static final int COEFS = 12;
    /** gradScale: the sign times the clipping coefficient. */
    static final int GS = 0;
    static final int NEG_STEP = 1;
    static final int ONE_MINUS_MU = 2;
    static final int MU = 3;
    static final int DECAY = 4;
    /** The lerp weight: b1c, or b1c − 1 on the lerp's upper branch. */
    static final int LERP_W = 5;
    /** 1 when b1c &lt; 0.5 (the lerp's base is m), else 0 (the base is the gradient). */
    static final int LERP_LOW = 6;
    static final int BETA2 = 7;
    static final int B2C = 8;
    static final int SQRT_BC2 = 9;
    static final int EPS = 10;
    /** η / bc₁ = −negStepBc (negated exactly on the host). */
    static final int POS_STEP_BC = 11;

    static final int SKIP = 0;
    static final int SGD = 1;
    static final int INIT = 2;
    static final int MOMENTUM = 3;
    static final int ADAMW = 4;
    static final int AMSGRAD = 5;
    static final int ADAM_MINI = 6;

    /** Ints of a segment's entry: tensor slot, first packed index, length (at most {@link StepBatch#SUM_BLOCK}). */
    static final int SEG = 3;

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
     * One step of every tensor, all packed in p, g, m (and v, w for the Adam kinds): element i belongs to tensor
     * {@code t = owner[i / BLOCK]}, whose kind, offset and end are in {@code info[INFO·t ..]} and whose coefficients
     * are {@code coef[COEFS·t ..]}. With {@code gi = g·gs}: SGD {@code p = fma(gi, negStep, p·decay)}; INIT also
     * {@code m = gi}; MOMENTUM {@code m = fma(gi, 1 − μ, m·μ); p = fma(m, negStep, p·decay)}; the Adam kinds as
     * {@link io.github.sgdsai.spi.ScalarBackend#adamw} (v and amsgrad's maximum w per element) and
     * {@link io.github.sgdsai.spi.ScalarBackend#adamMiniBlock} (v per block, already updated by
     * {@link #miniSecond}; block k of the tensor at {@code v[offset + k]}). Padding is left alone.
     */
    static void update(FloatArray p, FloatArray g, FloatArray m, FloatArray v, FloatArray w, IntArray owner,
                       IntArray info, FloatArray coef) {
        for (@Parallel int i = 0; i < p.getSize(); i++) {
            int t = owner.get(i >> BLOCK_SHIFT);
            int kind = info.get(INFO * t + KIND);
            if (kind != SKIP && i < info.get(INFO * t + END)) {
                int c = COEFS * t;
                float gi = g.get(i) * coef.get(c + GS);
                if (kind == MOMENTUM) {
                    float mi = gi * coef.get(c + ONE_MINUS_MU) + m.get(i) * coef.get(c + MU); // fma(gi, 1 − μ, m·μ)
                    m.set(i, mi);
                    p.set(i, mi * coef.get(c + NEG_STEP) + p.get(i) * coef.get(c + DECAY)); // fma(m, negStep, p·decay)
                } else if (kind == SGD || kind == INIT) {
                    if (kind == INIT) {
                        m.set(i, gi);
                    }
                    p.set(i, gi * coef.get(c + NEG_STEP) + p.get(i) * coef.get(c + DECAY)); // fma(gi, negStep, p·decay)
                } else {
                    float mOld = m.get(i);
                    float base = coef.get(c + LERP_LOW) != 0f ? mOld : gi; // a select: not a product, so not fused
                    float mi = coef.get(c + LERP_W) * (gi - mOld) + base; // lerp: fma(w, gi − m, base)
                    m.set(i, mi);
                    float u;
                    if (kind == ADAM_MINI) {
                        int off = info.get(INFO * t + OFFSET);
                        u = v.get(off + (i - off) / info.get(INFO * t + BLOCK_SIZE));
                    } else {
                        float b2g = coef.get(c + B2C) * gi;
                        float vi = b2g * gi + v.get(i) * coef.get(c + BETA2); // fma(b2c·gi, gi, v·β₂)
                        v.set(i, vi);
                        u = vi;
                        if (kind == AMSGRAD) {
                            float wi = w.get(i);
                            u = wi != wi || wi > vi ? wi : vi; // Math.max (NaN wins), not OpenCL's fmax
                            w.set(i, u);
                        }
                    }
                    float d = div(sqrtRn(u), coef.get(c + SQRT_BC2)) + coef.get(c + EPS);
                    float pd = p.get(i) * coef.get(c + DECAY);
                    p.set(i, pd - div(coef.get(c + POS_STEP_BC) * mi, d)); // p·decay + (negStepBc·m)/d, unfused
                }
            }
        }
    }

    /**
     * {@code (float) Math.sqrt(v)}, the correctly rounded square root, on any OpenCL device: OpenCL's (native)
     * square root is only a first guess x₀, refined by two Newton steps in double to within 2⁻⁴⁰ or so, rounded to
     * float r, then r is moved to its neighbour while the exact square of the midpoint between them says the root
     * lies beyond it. The midpoints have 25 significant bits, so their squares are exact in double, and no float
     * is the square of one, so there are no ties. Roots of values below 2⁻¹⁰⁰ are taken of {@code v·2¹⁰⁰} and
     * scaled back by 2⁻⁵⁰, exactly (every root of a float is a normal float). NaN, ±0 and +∞ are their own roots;
     * v is never negative here.
     */
    static float sqrtRn(float v) {
        if (!(v > 0f) || v == Float.POSITIVE_INFINITY) {
            return v;
        }
        boolean tiny = v < 0x1p-100f;
        float x = tiny ? v * 0x1p100f : v;
        float r = refineSqrt(x, TornadoMath.sqrt(x));
        return tiny ? r * 0x1p-50f : r;
    }

    /**
     * The correctly rounded square root of a normal float {@code x > 0} from a guess {@code y} within a relative
     * 2⁻⁸ or so of it: two Newton steps in double, rounding to float, then up to two exact corrections (see
     * {@link #sqrtRn}).
     */
    static float refineSqrt(float x, double y) {
        double dx = x;
        y = 0.5 * (y + dx / y);
        y = 0.5 * (y + dx / y);
        float r = (float) y;
        for (int k = 0; k < 2; k++) {
            float up = r + r * 0x1.8p-24f; // the next float above r: r + (0.75 … 1.5) ulp, rounded
            float down = r - r * 0x1.4p-24f; // the next float below r (half an ulp below a power of two)
            double hi = ((double) r + (double) up) * 0.5;
            double lo = ((double) r + (double) down) * 0.5;
            if (hi * hi < dx) {
                r = up;
            } else if (lo * lo > dx) {
                r = down;
            }
        }
        return r;
    }

    /** {@code a / b} correctly rounded, on any OpenCL device: the double quotient rounded to float. */
    static float div(float a, float b) {
        return (float) ((double) a / (double) b);
    }

    /**
     * Adam-mini, first pass: {@code sum[s]} = Σ (g·gs)² over segment s (at most {@link StepBatch#SUM_BLOCK}
     * elements from {@code seg[SEG·s + 1]}, of tensor {@code seg[SEG·s]}), in the order of
     * {@link io.github.sgdsai.spi.ScalarBackend#sumSquares} for one of its blocks: {@link StepBatch#SUM_LANES}
     * interleaved accumulators from 0.0, added in lane order. Segments of tensors that are not Adam-mini blocks in
     * this step are left alone.
     */
    static void blockSquares(FloatArray g, IntArray seg, IntArray info, FloatArray coef, DoubleArray sum) {
        for (@Parallel int s = 0; s < sum.getSize(); s++) {
            int t = seg.get(SEG * s);
            if (info.get(INFO * t + KIND) == ADAM_MINI) {
                sum.set(s, segmentSquares(g, seg.get(SEG * s + 1), seg.get(SEG * s + 2), coef.get(COEFS * t + GS)));
            }
        }
    }

    /**
     * Σ (g·gs)² over {@code g[start, start + len)}, {@code len} at most {@link StepBatch#SUM_BLOCK}, as
     * {@link io.github.sgdsai.spi.ScalarBackend#sumSquares} adds one of its blocks: {@link StepBatch#SUM_LANES}
     * interleaved accumulators from 0.0, added in lane order from 0.0.
     */
    static double segmentSquares(FloatArray g, int start, int len, float gs) {
        double total = 0.0;
        for (int lane = 0; lane < StepBatch.SUM_LANES; lane++) {
            double acc = 0.0;
            for (int j = lane; j < len; j += StepBatch.SUM_LANES) {
                double x = g.get(start + j) * gs;
                acc += x * x; // fused, but x² is exact in double (x is a float)
            }
            total += acc;
        }
        return total;
    }

    /**
     * Clipping's sums of squares of device-resident gradients, first pass: {@code sum[s]} = Σ g² over segment s
     * ({@code seg[2s]} its first packed index, {@code seg[2s + 1]} its length), the segments cutting every tensor into
     * {@link StepBatch#SUM_BLOCK}-element blocks from its start; the host adds each tensor's in order.
     */
    static void tensorSquares(FloatArray p, FloatArray g, IntArray seg, DoubleArray sum) {
        for (@Parallel int s = 0; s < sum.getSize(); s++) {
            sum.set(s, segmentSquares(g, seg.get(2 * s), seg.get(2 * s + 1), 1f));
        }
    }

    /**
     * Adam-mini, second pass: block b, whose segments start at {@code first[b]}, gets its v updated once from its
     * mean square, {@code v = fma(b2c, (float)(Σ segment sums / blockSize), v·β₂)}, the segment sums added in
     * order from 0.0 (the blocks of {@link io.github.sgdsai.spi.ScalarBackend#sumSquares}).
     */
    static void miniSecond(FloatArray v, IntArray first, IntArray seg, DoubleArray sum, IntArray info,
                           FloatArray coef) {
        for (@Parallel int b = 0; b < first.getSize(); b++) {
            int s0 = first.get(b);
            int t = seg.get(SEG * s0);
            if (info.get(INFO * t + KIND) == ADAM_MINI) {
                int bs = info.get(INFO * t + BLOCK_SIZE);
                int segments = (bs + StepBatch.SUM_BLOCK - 1) / StepBatch.SUM_BLOCK;
                double total = 0.0;
                for (int k = 0; k < segments; k++) {
                    total += sum.get(s0 + k);
                }
                float q = (float) (total / bs);
                int off = info.get(INFO * t + OFFSET);
                int at = off + (seg.get(SEG * s0 + 1) - off) / bs;
                int c = COEFS * t;
                float bq = coef.get(c + B2C) * q;
                v.set(at, bq + v.get(at) * coef.get(c + BETA2)); // fma(b2c, q, v·β₂)
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
