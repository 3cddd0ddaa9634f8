// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Vector API kernels over element ranges {@code [from, to)} of spans. Each has one shape: vector body up to
 * {@code loopBound}, then the scalar reference kernel for the tail. Update kernels perform exactly the
 * reference's operations in the same order (fused multiply-adds included), so they are bit-identical to it.
 * They take the {@code float[]} path when every span has an array, otherwise the {@link MemorySegment} path
 * (direct buffers, byte-backed buffers, either byte order). Kernels check nothing.
 */
final class VectorKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Doubles in a vector of the same size: half the float lanes. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, F.vectorShape());
    /** Floats in half a vector: exactly as many lanes as {@link #D}, so one load widens into one double vector. */
    static final VectorSpecies<Float> H = VectorSpecies.of(float.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final int L = F.length();
    private static final int HL = H.length();

    private VectorKernels() {
    }

    private static boolean arrays(FloatSpan a, FloatSpan b) {
        return a.hasArray() && b.hasArray();
    }

    /** {@code p = fma(g, c, p * decay)}. Modifies p. */
    static void sgd(FloatSpan p, FloatSpan g, float c, float decay, int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector cv = FloatVector.broadcast(F, c);
        if (arrays(p, g)) {
            float[] pa = p.array(), ga = g.array();
            int po = p.arrayOffset(), go = g.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                FloatVector.fromArray(F, ga, go + i).fma(cv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gs = g.segment();
            ByteOrder po = p.order(), go = g.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                FloatVector.fromMemorySegment(F, gs, b, go).fma(cv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.sgd(p, g, c, decay, end, to); // tail
    }

    /** {@code m = sign * g; p = fma(g, c, p * decay)}. Modifies p and m. */
    static void init(FloatSpan p, FloatSpan g, FloatSpan m, float sign, float c, float decay, int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector cv = FloatVector.broadcast(F, c);
        if (arrays(p, g) && m.hasArray()) {
            float[] pa = p.array(), ga = g.array(), ma = m.array();
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector gv = FloatVector.fromArray(F, ga, go + i);
                gv.mul(sign).intoArray(ma, mo + i);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                gv.fma(cv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment();
            ByteOrder po = p.order(), go = g.order(), mo = m.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector gv = FloatVector.fromMemorySegment(F, gs, b, go);
                gv.mul(sign).intoMemorySegment(ms, b, mo);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                gv.fma(cv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.init(p, g, m, sign, c, decay, end, to); // tail
    }

    /** {@code m = fma(g, gradCoef, m * mu); p = fma(m, negStep, p * decay)}. Modifies p and m. */
    static void momentum(FloatSpan p, FloatSpan g, FloatSpan m, float gradCoef, float mu, float negStep, float decay,
                         int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector av = FloatVector.broadcast(F, gradCoef);
        FloatVector sv = FloatVector.broadcast(F, negStep);
        if (arrays(p, g) && m.hasArray()) {
            float[] pa = p.array(), ga = g.array(), ma = m.array();
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector mv = FloatVector.fromArray(F, ma, mo + i);
                mv = FloatVector.fromArray(F, ga, go + i).fma(av, mv.mul(mu));
                mv.intoArray(ma, mo + i);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                mv.fma(sv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gs = g.segment(), ms = m.segment();
            ByteOrder po = p.order(), go = g.order(), mo = m.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector mv = FloatVector.fromMemorySegment(F, ms, b, mo);
                mv = FloatVector.fromMemorySegment(F, gs, b, go).fma(av, mv.mul(mu));
                mv.intoMemorySegment(ms, b, mo);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                mv.fma(sv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.momentum(p, g, m, gradCoef, mu, negStep, decay, end, to); // tail
    }

    /** Whether {@code g[from, to)} holds a NaN or an infinity. Modifies nothing. */
    static boolean hasNonFinite(FloatSpan g, int from, int to) {
        // x * 0 is ±0 for finite x and NaN for NaN or ±Inf, so fma(x, 0, acc) turns acc NaN for good.
        // Four independent accumulators hide the FMA latency: the loop then runs at load throughput.
        int end4 = from + (to - from) / (4 * L) * (4 * L);
        int end = from + F.loopBound(to - from);
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        int i = from;
        if (g.hasArray()) {
            float[] ga = g.array();
            int go = g.arrayOffset();
            for (; i < end4; i += 4 * L) { // vector body, unrolled
                a0 = FloatVector.fromArray(F, ga, go + i).fma(zero, a0);
                a1 = FloatVector.fromArray(F, ga, go + i + L).fma(zero, a1);
                a2 = FloatVector.fromArray(F, ga, go + i + 2 * L).fma(zero, a2);
                a3 = FloatVector.fromArray(F, ga, go + i + 3 * L).fma(zero, a3);
            }
            for (; i < end; i += L) { // vector remainder
                a0 = FloatVector.fromArray(F, ga, go + i).fma(zero, a0);
            }
        } else {
            MemorySegment gs = g.segment();
            ByteOrder go = g.order();
            for (; i < end4; i += 4 * L) { // vector body, unrolled
                a0 = FloatVector.fromMemorySegment(F, gs, 4L * i, go).fma(zero, a0);
                a1 = FloatVector.fromMemorySegment(F, gs, 4L * (i + L), go).fma(zero, a1);
                a2 = FloatVector.fromMemorySegment(F, gs, 4L * (i + 2 * L), go).fma(zero, a2);
                a3 = FloatVector.fromMemorySegment(F, gs, 4L * (i + 3 * L), go).fma(zero, a3);
            }
            for (; i < end; i += L) { // vector remainder
                a0 = FloatVector.fromMemorySegment(F, gs, 4L * i, go).fma(zero, a0);
            }
        }
        FloatVector acc = a0.add(a1).add(a2.add(a3)); // reduce: a NaN lane stays NaN
        return acc.test(VectorOperators.IS_NAN).anyTrue() || ScalarBackend.firstNonFinite(g, end, to) >= 0; // tail
    }

    /**
     * {@link #hasNonFinite(FloatSpan, int, int)} with two read streams: {@code [from, to)} is read as two halves side
     * by side (one hardware prefetch stream per half), four vectors in flight per iteration as in the one-stream
     * kernel. A boolean does not depend on the order in which elements are read. Modifies nothing.
     */
    static boolean hasNonFinite2(FloatSpan g, int from, int to) {
        int half = (to - from) / (4 * L) * (2 * L); // each half a whole number of 2-vector rows
        if (half == 0 || !(g.hasArray() || streamable(g))) {
            return hasNonFinite(g, from, to);
        }
        FloatVector zero = FloatVector.zero(F);
        FloatVector a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        int b = from, c = from + half;
        if (g.hasArray()) {
            float[] ga = g.array();
            int o = g.arrayOffset();
            for (int i = 0; i < half; i += 2 * L) { // vector body: x * 0 is NaN exactly for NaN and ±Inf
                a0 = FloatVector.fromArray(F, ga, o + b + i).fma(zero, a0);
                a1 = FloatVector.fromArray(F, ga, o + c + i).fma(zero, a1);
                a2 = FloatVector.fromArray(F, ga, o + b + i + L).fma(zero, a2);
                a3 = FloatVector.fromArray(F, ga, o + c + i + L).fma(zero, a3);
            }
        } else {
            MemorySegment gs = g.segment();
            for (int i = 0; i < half; i += 2 * L) { // vector body, as above
                a0 = FloatVector.fromMemorySegment(F, gs, 4L * (b + i), NATIVE).fma(zero, a0);
                a1 = FloatVector.fromMemorySegment(F, gs, 4L * (c + i), NATIVE).fma(zero, a1);
                a2 = FloatVector.fromMemorySegment(F, gs, 4L * (b + i + L), NATIVE).fma(zero, a2);
                a3 = FloatVector.fromMemorySegment(F, gs, 4L * (c + i + L), NATIVE).fma(zero, a3);
            }
        }
        FloatVector acc = a0.add(a1).add(a2.add(a3)); // reduce: a NaN lane stays NaN
        return acc.test(VectorOperators.IS_NAN).anyTrue() || hasNonFinite(g, from + 2 * half, to); // the rest
    }

    /** {@code Σ g_i} over {@code [from, to)} in double lanes, compensated like {@link ScalarBackend#sum}. */
    static double sum(FloatSpan g, int from, int to) {
        int end = from + H.loopBound(to - from);
        DoubleVector s = DoubleVector.zero(D);
        DoubleVector c = DoubleVector.zero(D);
        for (int i = from; i < end; i += HL) { // vector body
            DoubleVector x = widen(g, i);
            DoubleVector t = s.add(x);
            DoubleVector bp = t.sub(s);
            c = c.add(s.sub(t.sub(bp)).add(x.sub(bp))); // TwoSum error of s + x
            s = t;
        }
        double[] l = SCRATCH.get();
        s.intoArray(l, 0);
        c.intoArray(l, 16);
        return sumLanes(l, 0, 16, D.length()) + ScalarBackend.sum(g, end, to); // reduce + tail
    }

    /**
     * Adds {@code Σ g²}, {@code Σ d} and {@code Σ d²} with {@code d = g − mean} over {@code [from, to)} to
     * {@code acc[0..2]}, in compensated double lanes.
     */
    static void centeredSums(FloatSpan g, double mean, int from, int to, double[] acc) {
        int end = from + H.loopBound(to - from);
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector sq = zero, sqc = zero, sd = zero, sdc = zero, sd2 = zero, sd2c = zero;
        for (int i = from; i < end; i += HL) { // vector body: three TwoSum accumulations
            DoubleVector x = widen(g, i);
            DoubleVector d = x.sub(mean);
            DoubleVector x2 = x.mul(x);
            DoubleVector t = sq.add(x2);
            DoubleVector bp = t.sub(sq);
            sqc = sqc.add(sq.sub(t.sub(bp)).add(x2.sub(bp)));
            sq = t;
            t = sd.add(d);
            bp = t.sub(sd);
            sdc = sdc.add(sd.sub(t.sub(bp)).add(d.sub(bp)));
            sd = t;
            DoubleVector d2 = d.mul(d);
            t = sd2.add(d2);
            bp = t.sub(sd2);
            sd2c = sd2c.add(sd2.sub(t.sub(bp)).add(d2.sub(bp)));
            sd2 = t;
        }
        double[] l = SCRATCH.get();
        sq.intoArray(l, 0);
        sqc.intoArray(l, 16);
        sd.intoArray(l, 32);
        sdc.intoArray(l, 48);
        acc[0] += sumLanes(l, 0, 16, D.length()); // reduce
        acc[1] += sumLanes(l, 32, 48, D.length());
        sd2.intoArray(l, 0);
        sd2c.intoArray(l, 16);
        acc[2] += sumLanes(l, 0, 16, D.length());
        ScalarBackend.centeredSums(g, mean, end, to, acc); // tail
    }

    /**
     * Per-thread scratch for reductions: vectors are stored here right after their loop and reduced by scalar code,
     * never passed to a method C2 might not inline (it would then box them on every iteration of the loop).
     */
    private static final ThreadLocal<double[]> SCRATCH = ThreadLocal.withInitial(() -> new double[64]);

    /**
     * {@code Σ (s_i + c_i)} over the lanes, in lane order and compensated: {@code s} at {@code l[so ..]}, {@code c} at
     * {@code l[co ..]}, {@code n} lanes. Not {@code reduceLanes}, whose order of additions is unspecified and may
     * differ between the interpreter and compiled code: results must not change from run to run.
     */
    private static double sumLanes(double[] l, int so, int co, int n) {
        double sum = 0;
        double comp = 0;
        for (int i = 0; i < n; i++) {
            comp += l[co + i];
            double x = l[so + i];
            double t = sum + x;
            double bp = t - sum;
            comp += (sum - (t - bp)) + (x - bp);
            sum = t;
        }
        return sum + comp;
    }

    /**
     * Elements {@code [i, i + HL)} of {@code g} as doubles. A half-width load widened in one conversion (part 0,
     * a constant) keeps C2 from boxing vectors, which a loop over both parts of a full-width load made it do.
     */
    private static DoubleVector widen(FloatSpan g, int i) {
        FloatVector v = g.hasArray() ? FloatVector.fromArray(H, g.array(), g.arrayOffset() + i)
                : FloatVector.fromMemorySegment(H, g.segment(), 4L * i, g.order());
        return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Scaled SGD kinds (|gradScale| != 1: clipping), AdamW, Adam-mini: exactly the reference's operations.

    /** {@code p = fma(g * gs, negStep, p * decay)}. Modifies p. */
    static void scaledSgd(FloatSpan p, FloatSpan g, float gs, float negStep, float decay, int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector sv = FloatVector.broadcast(F, negStep);
        if (arrays(p, g)) {
            float[] pa = p.array(), ga = g.array();
            int po = p.arrayOffset(), go = g.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                FloatVector.fromArray(F, ga, go + i).mul(gs).fma(sv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gsg = g.segment();
            ByteOrder po = p.order(), go = g.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                FloatVector.fromMemorySegment(F, gsg, b, go).mul(gs).fma(sv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.scaledSgd(p, g, gs, negStep, decay, end, to); // tail
    }

    /** {@code m = g * gs; p = fma(m, negStep, p * decay)}. Modifies p and m. */
    static void scaledInit(FloatSpan p, FloatSpan g, FloatSpan m, float gs, float negStep, float decay,
                           int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector sv = FloatVector.broadcast(F, negStep);
        if (arrays(p, g) && m.hasArray()) {
            float[] pa = p.array(), ga = g.array(), ma = m.array();
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector gv = FloatVector.fromArray(F, ga, go + i).mul(gs);
                gv.intoArray(ma, mo + i);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                gv.fma(sv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gsg = g.segment(), ms = m.segment();
            ByteOrder po = p.order(), go = g.order(), mo = m.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector gv = FloatVector.fromMemorySegment(F, gsg, b, go).mul(gs);
                gv.intoMemorySegment(ms, b, mo);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                gv.fma(sv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.scaledInit(p, g, m, gs, negStep, decay, end, to); // tail
    }

    /** {@code m = fma(g * gs, oneMinusMu, m * mu); p = fma(m, negStep, p * decay)}. Modifies p and m. */
    static void scaledMomentum(FloatSpan p, FloatSpan g, FloatSpan m, float gs, float oneMinusMu, float mu,
                               float negStep, float decay, int from, int to) {
        int end = from + F.loopBound(to - from);
        FloatVector av = FloatVector.broadcast(F, oneMinusMu);
        FloatVector sv = FloatVector.broadcast(F, negStep);
        if (arrays(p, g) && m.hasArray()) {
            float[] pa = p.array(), ga = g.array(), ma = m.array();
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector mv = FloatVector.fromArray(F, ma, mo + i);
                mv = FloatVector.fromArray(F, ga, go + i).mul(gs).fma(av, mv.mul(mu));
                mv.intoArray(ma, mo + i);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                mv.fma(sv, pv.mul(decay)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gsg = g.segment(), ms = m.segment();
            ByteOrder po = p.order(), go = g.order(), mo = m.order();
            for (int i = from; i < end; i += L) { // vector body
                long b = 4L * i;
                FloatVector mv = FloatVector.fromMemorySegment(F, ms, b, mo);
                mv = FloatVector.fromMemorySegment(F, gsg, b, go).mul(gs).fma(av, mv.mul(mu));
                mv.intoMemorySegment(ms, b, mo);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, b, po);
                mv.fma(sv, pv.mul(decay)).intoMemorySegment(ps, b, po);
            }
        }
        ScalarBackend.scaledMomentum(p, g, m, gs, oneMinusMu, mu, negStep, decay, end, to); // tail
    }

    /**
     * AdamW on {@code [from, to)} of entry {@code t}, like {@link ScalarBackend#adamw}: torch's lerp for m (the branch
     * on {@code b1c < 0.5} is a constant blend: base m or gs, weight b1c or b1c - 1), v = fma(b2c·gs, gs, v·beta2),
     * vmax = max(vmax, v) with amsgrad, p = p·decay + (negStepBc·m) / (sqrt(u) / sqrtBc2 + eps). Modifies p, m, v, vmax.
     */
    static void adamw(StepBatch b, int t, int from, int to) {
        FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t), v = b.second(t), vmax = b.maxSecond(t);
        float gs = b.gradScale(t), decay = b.decay(t), b1c = b.b1c(t), beta2 = b.beta2(t), b2c = b.b2c(t);
        float sqrtBc2 = b.sqrtBc2(t), eps = b.eps(t), negStepBc = b.negStepBc(t);
        boolean low = b1c < 0.5f;
        FloatVector wv = FloatVector.broadcast(F, low ? b1c : b1c - 1f);
        VectorMask<Float> fromGrad = low ? F.maskAll(false) : F.maskAll(true); // lerp's base: m (low) or gs
        int end = from + F.loopBound(to - from);
        boolean ams = vmax != null;
        if (arrays(p, g) && m.hasArray() && v.hasArray() && (!ams || vmax.hasArray())) {
            float[] pa = p.array(), ga = g.array(), ma = m.array(), va = v.array(), xa = ams ? vmax.array() : null;
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset(), vo = v.arrayOffset();
            int xo = ams ? vmax.arrayOffset() : 0;
            for (int i = from; i < end; i += L) { // vector body
                FloatVector gv = FloatVector.fromArray(F, ga, go + i).mul(gs);
                FloatVector mv = FloatVector.fromArray(F, ma, mo + i);
                mv = gv.sub(mv).fma(wv, mv.blend(gv, fromGrad));
                FloatVector vv = gv.mul(b2c).fma(gv, FloatVector.fromArray(F, va, vo + i).mul(beta2));
                mv.intoArray(ma, mo + i);
                vv.intoArray(va, vo + i);
                if (ams) {
                    vv = FloatVector.fromArray(F, xa, xo + i).max(vv);
                    vv.intoArray(xa, xo + i);
                }
                FloatVector d = vv.sqrt().div(sqrtBc2).add(eps);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                pv.mul(decay).add(mv.mul(negStepBc).div(d)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gsg = g.segment(), ms = m.segment(), vs = v.segment();
            MemorySegment xs = ams ? vmax.segment() : null;
            ByteOrder po = p.order(), go = g.order(), mo = m.order(), vo = v.order(), xo = ams ? vmax.order() : po;
            for (int i = from; i < end; i += L) { // vector body
                long o = 4L * i;
                FloatVector gv = FloatVector.fromMemorySegment(F, gsg, o, go).mul(gs);
                FloatVector mv = FloatVector.fromMemorySegment(F, ms, o, mo);
                mv = gv.sub(mv).fma(wv, mv.blend(gv, fromGrad));
                FloatVector vv = gv.mul(b2c).fma(gv, FloatVector.fromMemorySegment(F, vs, o, vo).mul(beta2));
                mv.intoMemorySegment(ms, o, mo);
                vv.intoMemorySegment(vs, o, vo);
                if (ams) {
                    vv = FloatVector.fromMemorySegment(F, xs, o, xo).max(vv);
                    vv.intoMemorySegment(xs, o, xo);
                }
                FloatVector d = vv.sqrt().div(sqrtBc2).add(eps);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, o, po);
                pv.mul(decay).add(mv.mul(negStepBc).div(d)).intoMemorySegment(ps, o, po);
            }
        }
        ScalarBackend.adamw(b, t, end, to); // tail
    }

    /**
     * Adam-mini on the whole blocks in {@code [from, to)} of entry {@code t} ({@code from} a multiple of the block
     * size): per block, its sum of squares in the fixed order, v's update, then m and p over the block while it is
     * in cache. Modifies p, m and the blocks' v.
     */
    static void adamMiniBlocks(StepBatch b, int t, int from, int to) {
        int bs = b.blockSize(t);
        FloatSpan g = b.grad(t), v = b.second(t);
        float gs = b.gradScale(t);
        for (int f = from; f < to; f += bs) {
            int e = f + bs;
            int block = f / bs;
            float q = (float) (sumSquares(g, gs, f, e) / (e - f));
            float vb = Math.fma(b.b2c(t), q, v.get(block) * b.beta2(t));
            v.set(block, vb);
            adamMiniApply(b, t, f, e);
        }
    }

    /**
     * Adam-mini's m and p updates on {@code [from, to)}, which lies in one block whose v is already updated:
     * {@code m = lerp(m, gs, b1c); p = p·decay + (negStepBc·m) / d} with {@code d = sqrt(v_block) / sqrtBc2 + eps}.
     */
    static void adamMiniApply(StepBatch b, int t, int from, int to) {
        FloatSpan p = b.param(t), g = b.grad(t), m = b.momentum(t);
        float gs = b.gradScale(t), decay = b.decay(t), b1c = b.b1c(t), negStepBc = b.negStepBc(t);
        float d = (float) Math.sqrt(b.second(t).get(from / b.blockSize(t))) / b.sqrtBc2(t) + b.eps(t);
        boolean low = b1c < 0.5f;
        FloatVector wv = FloatVector.broadcast(F, low ? b1c : b1c - 1f);
        VectorMask<Float> fromGrad = low ? F.maskAll(false) : F.maskAll(true);
        int end = from + F.loopBound(to - from);
        if (arrays(p, g) && m.hasArray()) {
            float[] pa = p.array(), ga = g.array(), ma = m.array();
            int po = p.arrayOffset(), go = g.arrayOffset(), mo = m.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                FloatVector gv = FloatVector.fromArray(F, ga, go + i).mul(gs);
                FloatVector mv = FloatVector.fromArray(F, ma, mo + i);
                mv = gv.sub(mv).fma(wv, mv.blend(gv, fromGrad));
                mv.intoArray(ma, mo + i);
                FloatVector pv = FloatVector.fromArray(F, pa, po + i);
                pv.mul(decay).add(mv.mul(negStepBc).div(d)).intoArray(pa, po + i);
            }
        } else {
            MemorySegment ps = p.segment(), gsg = g.segment(), ms = m.segment();
            ByteOrder po = p.order(), go = g.order(), mo = m.order();
            for (int i = from; i < end; i += L) { // vector body
                long o = 4L * i;
                FloatVector gv = FloatVector.fromMemorySegment(F, gsg, o, go).mul(gs);
                FloatVector mv = FloatVector.fromMemorySegment(F, ms, o, mo);
                mv = gv.sub(mv).fma(wv, mv.blend(gv, fromGrad));
                mv.intoMemorySegment(ms, o, mo);
                FloatVector pv = FloatVector.fromMemorySegment(F, ps, o, po);
                pv.mul(decay).add(mv.mul(negStepBc).div(d)).intoMemorySegment(ps, o, po);
            }
        }
        for (int i = end; i < to; i++) { // tail, as ScalarBackend.adamMiniBlock
            float mi = ScalarBackend.lerp(m.get(i), g.get(i) * gs, b1c);
            m.set(i, mi);
            p.set(i, p.get(i) * decay + (negStepBc * mi) / d);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Read-only kernels with several streams in flight.

    /**
     * Double lanes of the sum-of-squares kernels: 4, so that {@link StepBatch#SUM_LANES} = 16 accumulators are four
     * vectors on every CPU with 256-bit vectors or wider (one code path, and the order is fixed by the lanes, not by
     * the vector size). Loads are 128-bit float vectors widened in one conversion.
     * <p>
     * Code on these second species calls {@code lanewise(MUL, …)} and {@code lanewise(FMA, …)}, never the
     * convenience methods {@code mul(float)} or {@code fma(…)}: those dispatch on the vector's class inside the JDK,
     * at call sites shared with the main kernels, and once two species have passed through them C2 compiles the
     * main kernels (SGD-SaI's momentum, say) with a class guard that keeps their vectors boxed: megabytes allocated
     * in every step, for as long as the JVM runs (AllocationTest runs every optimizer in one JVM to catch it).
     */
    private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    /** Whether the 256-bit sum-of-squares kernels run natively here (else the scalar reference is used). */
    private static final boolean SUMSQ_VECTOR = F.vectorBitSize() >= 256;
    private static final int BLOCK = StepBatch.SUM_BLOCK;

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /**
     * {@code s[i, i + 4)} (floats at byte offset 4i of a native-order segment, heap or not) times {@code scale}, as
     * doubles. The multi-stream kernels read through segments only: one load path, no vector chosen at run time
     * inside their large loops (C2 would box it), the array-or-segment choice becoming a choice of base object.
     */
    private static DoubleVector sq4(MemorySegment s, float scale, int i) {
        return (DoubleVector) FloatVector.fromMemorySegment(F4, s, 4L * i, NATIVE)
                .lanewise(VectorOperators.MUL, FloatVector.broadcast(F4, scale))
                .convertShape(VectorOperators.F2D, D4, 0);
    }

    /** {@code s[i, i + HL)} as doubles (see {@link #sq4(MemorySegment, float, int)}). */
    private static DoubleVector widen(MemorySegment s, int i) {
        return (DoubleVector) FloatVector.fromMemorySegment(H, s, 4L * i, NATIVE).convertShape(VectorOperators.F2D, D, 0);
    }

    /** Whether the multi-stream kernels can read {@code g} (native byte order; others take the one-stream kernels). */
    static boolean streamable(FloatSpan g) {
        return g.order() == NATIVE;
    }

    /** {@code g[i, i + 4) * scale} as doubles (each product rounded to float first, as the reference does). */
    private static DoubleVector sq4(FloatSpan g, float scale, int i) {
        FloatVector v = g.hasArray() ? FloatVector.fromArray(F4, g.array(), g.arrayOffset() + i)
                : FloatVector.fromMemorySegment(F4, g.segment(), 4L * i, g.order());
        return (DoubleVector) v.lanewise(VectorOperators.MUL, FloatVector.broadcast(F4, scale))
                .convertShape(VectorOperators.F2D, D4, 0);
    }

    /**
     * {@link ScalarBackend#sumSquares}{@code (g, scale, from, to)}, bit for bit: 4096-blocks from {@code from}, each
     * with 16 double lanes (four 4-lane vectors: lane j of vector r is accumulator 4r + j) combined in lane order.
     */
    static double sumSquares(FloatSpan g, float scale, int from, int to) {
        if (!SUMSQ_VECTOR) {
            return ScalarBackend.sumSquares(g, scale, from, to);
        }
        double total = 0;
        for (int b = from; b < to; b += BLOCK) {
            total += blockSum(g, scale, b, Math.min(to, b + BLOCK));
        }
        return total;
    }

    /** One block {@code [b, e)} ({@code e - b <= 4096}) of {@link #sumSquares}: 16 lanes, combined in lane order. */
    private static double blockSum(FloatSpan g, float scale, int b, int e) {
        DoubleVector z = DoubleVector.zero(D4);
        DoubleVector a0 = z, a1 = z, a2 = z, a3 = z;
        int rows = b + ((e - b) & ~(StepBatch.SUM_LANES - 1));
        int i = b;
        for (; i < rows; i += 16) { // x*x is exact in double, so fma(x, x, a) = a + x*x
            DoubleVector x0 = sq4(g, scale, i), x1 = sq4(g, scale, i + 4);
            DoubleVector x2 = sq4(g, scale, i + 8), x3 = sq4(g, scale, i + 12);
            a0 = x0.lanewise(VectorOperators.FMA, x0, a0);
            a1 = x1.lanewise(VectorOperators.FMA, x1, a1);
            a2 = x2.lanewise(VectorOperators.FMA, x2, a2);
            a3 = x3.lanewise(VectorOperators.FMA, x3, a3);
        }
        double[] l = SCRATCH.get();
        a0.intoArray(l, 0);
        a1.intoArray(l, 4);
        a2.intoArray(l, 8);
        a3.intoArray(l, 12);
        return finish(l, 0, g, scale, i, e);
    }

    /**
     * The 16 lanes at {@code l[o ..]}, each plus the square of its element of the last partial row {@code [i, e)}
     * (none if {@code i >= e}), added in lane order from 0.0.
     */
    private static double finish(double[] l, int o, FloatSpan g, float scale, int i, int e) {
        double block = 0;
        for (int j = 0; j < 16; j++) {
            double acc = l[o + j];
            if (i + j < e) {
                double x = g.get(i + j) * scale;
                acc += x * x;
            }
            block += acc;
        }
        return block;
    }

    /**
     * The 4096-block sums of {@link #sumSquares} over {@code [from, to)} (blocks counted from {@code from}) into
     * {@code out[off], out[off + 1], …}. With {@code streams} of 2 or more the full blocks are cut into two equal runs
     * read at once, block j of one beside block j of the other: the same block sums, twice the reads in flight. (Four
     * runs would need 16 four-lane accumulators: C2 then boxes vectors in the loop, so sums stop at two.)
     */
    static void blockSums(FloatSpan g, float scale, int from, int to, double[] out, int off, int streams) {
        int full = (to - from) / BLOCK;
        int k = 0;
        if (SUMSQ_VECTOR && streams >= 2 && full >= 2 && streamable(g)) {
            int per = full / 2;
            for (int j = 0; j < per; j++) {
                blockSums2(g.segment(), scale, from + j * BLOCK, per * BLOCK, out, off + j, per);
            }
            k = 2 * per;
        }
        for (int b = from + k * BLOCK; b < to; b += BLOCK, k++) {
            out[off + k] = SUMSQ_VECTOR ? blockSum(g, scale, b, Math.min(to, b + BLOCK))
                    : ScalarBackend.sumSquares(g, scale, b, Math.min(to, b + BLOCK));
        }
    }

    /** Full blocks at {@code b} and {@code b + gap}, read together; sums into {@code out[o]} and {@code out[o + step]}. */
    private static void blockSums2(MemorySegment g, float scale, int b, int gap, double[] out, int o, int step) {
        DoubleVector z = DoubleVector.zero(D4);
        DoubleVector a0 = z, a1 = z, a2 = z, a3 = z, c0 = z, c1 = z, c2 = z, c3 = z;
        int c = b + gap;
        for (int i = 0; i < BLOCK; i += 16) {
            DoubleVector x0 = sq4(g, scale, b + i), y0 = sq4(g, scale, c + i);
            DoubleVector x1 = sq4(g, scale, b + i + 4), y1 = sq4(g, scale, c + i + 4);
            DoubleVector x2 = sq4(g, scale, b + i + 8), y2 = sq4(g, scale, c + i + 8);
            DoubleVector x3 = sq4(g, scale, b + i + 12), y3 = sq4(g, scale, c + i + 12);
            a0 = x0.lanewise(VectorOperators.FMA, x0, a0);
            c0 = y0.lanewise(VectorOperators.FMA, y0, c0);
            a1 = x1.lanewise(VectorOperators.FMA, x1, a1);
            c1 = y1.lanewise(VectorOperators.FMA, y1, c1);
            a2 = x2.lanewise(VectorOperators.FMA, x2, a2);
            c2 = y2.lanewise(VectorOperators.FMA, y2, c2);
            a3 = x3.lanewise(VectorOperators.FMA, x3, a3);
            c3 = y3.lanewise(VectorOperators.FMA, y3, c3);
        }
        double[] l = SCRATCH.get();
        a0.intoArray(l, 0);
        a1.intoArray(l, 4);
        a2.intoArray(l, 8);
        a3.intoArray(l, 12);
        c0.intoArray(l, 16);
        c1.intoArray(l, 20);
        c2.intoArray(l, 24);
        c3.intoArray(l, 28);
        out[o] = finish(l, 0, null, 0f, 0, 0); // full blocks: no partial row
        out[o + step] = finish(l, 16, null, 0f, 0, 0);
    }

    /**
     * {@link #sum} of two ranges of {@code len} elements at {@code a} and {@code b}, read together, into
     * {@code out[ia]} and {@code out[ib]}: each exactly as {@link #sum} computes it alone. Needs {@link #streamable}.
     */
    static void sum2(FloatSpan g, int a, int b, int len, double[] out, int ia, int ib) {
        int n = H.loopBound(len);
        MemorySegment gs = g.segment();
        DoubleVector s = DoubleVector.zero(D), c = s, s2 = s, c2 = s;
        for (int i = 0; i < n; i += HL) { // vector body
            DoubleVector x = widen(gs, a + i);
            DoubleVector y = widen(gs, b + i);
            DoubleVector t = s.add(x);
            DoubleVector u = s2.add(y);
            DoubleVector bp = t.sub(s);
            DoubleVector bq = u.sub(s2);
            c = c.add(s.sub(t.sub(bp)).add(x.sub(bp)));
            c2 = c2.add(s2.sub(u.sub(bq)).add(y.sub(bq)));
            s = t;
            s2 = u;
        }
        double[] l = SCRATCH.get();
        s.intoArray(l, 0);
        c.intoArray(l, 16);
        s2.intoArray(l, 32);
        c2.intoArray(l, 48);
        out[ia] = sumLanes(l, 0, 16, D.length()) + ScalarBackend.sum(g, a + n, a + len);
        out[ib] = sumLanes(l, 32, 48, D.length()) + ScalarBackend.sum(g, b + n, b + len);
    }

    /**
     * {@link #centeredSums} of two ranges of {@code len} elements at {@code a} and {@code b}, read together, added to
     * {@code accA} and {@code accB}: each exactly as {@link #centeredSums} computes it alone. Needs {@link #streamable}.
     */
    static void centeredSums2(FloatSpan g, double mean, int a, int b, int len, double[] accA, double[] accB) {
        int n = H.loopBound(len);
        MemorySegment gs = g.segment();
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector sq = zero, sqc = zero, sd = zero, sdc = zero, sd2 = zero, sd2c = zero;
        DoubleVector rq = zero, rqc = zero, rd = zero, rdc = zero, rd2 = zero, rd2c = zero;
        for (int i = 0; i < n; i += HL) { // vector body: three TwoSum accumulations per range
            DoubleVector x = widen(gs, a + i);
            DoubleVector y = widen(gs, b + i);
            DoubleVector d = x.sub(mean);
            DoubleVector e = y.sub(mean);
            DoubleVector x2 = x.mul(x);
            DoubleVector y2 = y.mul(y);
            DoubleVector t = sq.add(x2);
            DoubleVector u = rq.add(y2);
            DoubleVector bp = t.sub(sq);
            DoubleVector bq = u.sub(rq);
            sqc = sqc.add(sq.sub(t.sub(bp)).add(x2.sub(bp)));
            rqc = rqc.add(rq.sub(u.sub(bq)).add(y2.sub(bq)));
            sq = t;
            rq = u;
            t = sd.add(d);
            u = rd.add(e);
            bp = t.sub(sd);
            bq = u.sub(rd);
            sdc = sdc.add(sd.sub(t.sub(bp)).add(d.sub(bp)));
            rdc = rdc.add(rd.sub(u.sub(bq)).add(e.sub(bq)));
            sd = t;
            rd = u;
            DoubleVector d2 = d.mul(d);
            DoubleVector e2 = e.mul(e);
            t = sd2.add(d2);
            u = rd2.add(e2);
            bp = t.sub(sd2);
            bq = u.sub(rd2);
            sd2c = sd2c.add(sd2.sub(t.sub(bp)).add(d2.sub(bp)));
            rd2c = rd2c.add(rd2.sub(u.sub(bq)).add(e2.sub(bq)));
            sd2 = t;
            rd2 = u;
        }
        double[] l = SCRATCH.get();
        sq.intoArray(l, 0);
        sqc.intoArray(l, 16);
        sd.intoArray(l, 32);
        sdc.intoArray(l, 48);
        accA[0] += sumLanes(l, 0, 16, D.length());
        accA[1] += sumLanes(l, 32, 48, D.length());
        sd2.intoArray(l, 0);
        sd2c.intoArray(l, 16);
        rq.intoArray(l, 32);
        rqc.intoArray(l, 48);
        accA[2] += sumLanes(l, 0, 16, D.length());
        ScalarBackend.centeredSums(g, mean, a + n, a + len, accA);
        accB[0] += sumLanes(l, 32, 48, D.length());
        rd.intoArray(l, 0);
        rdc.intoArray(l, 16);
        rd2.intoArray(l, 32);
        rd2c.intoArray(l, 48);
        accB[1] += sumLanes(l, 0, 16, D.length());
        accB[2] += sumLanes(l, 32, 48, D.length());
        ScalarBackend.centeredSums(g, mean, b + n, b + len, accB);
    }
}
