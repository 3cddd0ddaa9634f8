package io.github.sgdsai.cpu;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.ScalarBackend;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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
    private static final int L = F.length();

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
        int end = from + F.loopBound(to - from);
        // x * 0 is ±0 for finite x and NaN for NaN or ±Inf: one FMA per vector accumulates the verdict.
        FloatVector zero = FloatVector.zero(F);
        FloatVector acc = zero;
        if (g.hasArray()) {
            float[] ga = g.array();
            int go = g.arrayOffset();
            for (int i = from; i < end; i += L) { // vector body
                acc = FloatVector.fromArray(F, ga, go + i).fma(zero, acc);
            }
        } else {
            MemorySegment gs = g.segment();
            ByteOrder go = g.order();
            for (int i = from; i < end; i += L) { // vector body
                acc = FloatVector.fromMemorySegment(F, gs, 4L * i, go).fma(zero, acc);
            }
        }
        return acc.test(VectorOperators.IS_NAN).anyTrue() || ScalarBackend.firstNonFinite(g, end, to) >= 0;
    }

    /** {@code Σ g_i} over {@code [from, to)} in double lanes. */
    static double sum(FloatSpan g, int from, int to) {
        int end = from + F.loopBound(to - from);
        DoubleVector lo = DoubleVector.zero(D);
        DoubleVector hi = DoubleVector.zero(D);
        for (int i = from; i < end; i += L) { // vector body
            FloatVector v = load(g, i);
            lo = lo.add(v.convertShape(VectorOperators.F2D, D, 0));
            hi = hi.add(v.convertShape(VectorOperators.F2D, D, 1));
        }
        return sumLanes(lo.add(hi)) + ScalarBackend.sum(g, end, to); // reduce + tail
    }

    /**
     * Adds {@code Σ g²}, {@code Σ d} and {@code Σ d²} with {@code d = g − mean} over {@code [from, to)} to
     * {@code acc[0..2]}, in double lanes.
     */
    static void centeredSums(FloatSpan g, double mean, int from, int to, double[] acc) {
        int end = from + F.loopBound(to - from);
        DoubleVector sq = DoubleVector.zero(D);
        DoubleVector sd = DoubleVector.zero(D);
        DoubleVector sd2 = DoubleVector.zero(D);
        for (int i = from; i < end; i += L) { // vector body
            FloatVector v = load(g, i);
            for (int part = 0; part < 2; part++) {
                DoubleVector x = (DoubleVector) v.convertShape(VectorOperators.F2D, D, part);
                DoubleVector d = x.sub(mean);
                sq = x.fma(x, sq);
                sd = sd.add(d);
                sd2 = d.fma(d, sd2);
            }
        }
        acc[0] += sumLanes(sq); // reduce
        acc[1] += sumLanes(sd);
        acc[2] += sumLanes(sd2);
        ScalarBackend.centeredSums(g, mean, end, to, acc); // tail
    }

    /**
     * Sums the lanes in lane order. Not {@code reduceLanes}, whose order of additions is unspecified and may
     * differ between the interpreter and compiled code: results must not change from run to run.
     */
    private static double sumLanes(DoubleVector v) {
        double s = 0;
        for (int i = 0; i < v.length(); i++) {
            s += v.lane(i);
        }
        return s;
    }

    private static FloatVector load(FloatSpan g, int i) {
        return g.hasArray() ? FloatVector.fromArray(F, g.array(), g.arrayOffset() + i)
                : FloatVector.fromMemorySegment(F, g.segment(), 4L * i, g.order());
    }
}
