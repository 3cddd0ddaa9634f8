// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
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
        return sumLanes(s, c) + ScalarBackend.sum(g, end, to); // reduce + tail
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
        acc[0] += sumLanes(sq, sqc); // reduce
        acc[1] += sumLanes(sd, sdc);
        acc[2] += sumLanes(sd2, sd2c);
        ScalarBackend.centeredSums(g, mean, end, to, acc); // tail
    }

    /**
     * {@code Σ (s_i + c_i)} over the lanes, in lane order and compensated. Not {@code reduceLanes}, whose order
     * of additions is unspecified and may differ between the interpreter and compiled code: results must not
     * change from run to run.
     */
    private static double sumLanes(DoubleVector s, DoubleVector c) {
        double sum = 0;
        double comp = 0;
        for (int i = 0; i < s.length(); i++) {
            comp += c.lane(i);
            double x = s.lane(i);
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
}
