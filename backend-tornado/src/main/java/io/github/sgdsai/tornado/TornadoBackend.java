// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.tornado;

import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.spi.Backend;
import io.github.sgdsai.spi.ScalarBackend;
import io.github.sgdsai.spi.StepBatch;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.KernelContext;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.enums.TornadoVMBackendType;
import uk.ac.manchester.tornado.api.types.arrays.DoubleArray;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code "tornado"} backend. Every tensor the optimizer has stepped gets a slot, aligned to
 * {@link Kernels#BLOCK} elements, in three packed device arrays (parameters, gradients, momentum), so a step is
 * one kernel launch for all tensors. Each step copies the parameters and gradients of the tensors taking part
 * in and the parameters back out (the honest offload path for host-resident {@code float[]}/{@code FloatBuffer}
 * tensors); momentum stays on the device and is copied back only when a checkpoint asks
 * ({@link #stateToHost}). A new tensor or a restored state rebuilds the execution plan (a recompilation).
 *
 * <p>g-SNR moments run on the device too, in fixed-size chunks: a work-group tree reduction in double per
 * chunk, merged on the host in chunk order, so the result is deterministic. The non-finite check runs on the
 * host (the gradients are host-resident).
 *
 * <p>Tensors made by {@link DeviceTensors} live on the device: their check, reductions and update run there on
 * the packed device arrays (one launch per step for all of them), and nothing of them is copied.
 */
public final class TornadoBackend implements Backend {
    /** Elements per moments chunk (one launch of each pass). */
    static final int CHUNK = 1 << 16;

    private final TornadoDevice device;
    private final Map<FloatSpan, Slot> slots = new IdentityHashMap<>(); // by parameter span
    private final Map<FloatSpan, FloatSpan> paramOfMomentum = new IdentityHashMap<>();
    private final List<Slot> order = new ArrayList<>();
    /** The DeviceTensors already checked or updated in this call (identity; reused, so nothing is allocated). */
    private final List<DeviceTensors> handled = new ArrayList<>();
    private int total;
    private FloatArray p;
    private FloatArray g;
    private FloatArray m;
    private IntArray owner;
    private FloatArray coef;
    private TornadoExecutionPlan plan;
    private TornadoExecutionResult last;
    private boolean deviceAhead;
    private boolean rebuild = true;
    private int generation;
    /** Slots placed by the current plan (later ones exist only on the host until the next rebuild). */
    private int oldSlots;
    // moments
    private FloatArray stage;
    private IntArray range;
    private DoubleArray mean;
    private DoubleArray partial1;
    private DoubleArray partial3;
    private TornadoExecutionPlan sumPlan;
    private TornadoExecutionPlan centeredPlan;

    private static final class Slot {
        final FloatSpan param;
        final int index;
        final int offset;
        final int length;
        FloatSpan momentumHost;

        Slot(FloatSpan param, int index, int offset) {
            this.param = param;
            this.index = index;
            this.offset = offset;
            this.length = param.length();
        }
    }

    /** A backend on the device chosen by {@link TornadoBackendProvider#DEVICE_PROPERTY}, or TornadoVM's default. */
    public TornadoBackend() {
        device = device();
    }

    /** Why no TornadoVM device can be used, or {@code null} if one can. Called by the provider by reflection. */
    public static String deviceProblem() {
        try {
            device();
            return null;
        } catch (RuntimeException e) {
            return "no usable TornadoVM device (" + e.getMessage() + "); check `tornado --devices` and "
                    + TornadoBackendProvider.DEVICE_PROPERTY;
        }
    }

    static TornadoDevice device() {
        String spec = System.getProperty(TornadoBackendProvider.DEVICE_PROPERTY, "0:0");
        String[] parts = spec.split(":");
        if (parts.length != 2) {
            throw new IllegalArgumentException(TornadoBackendProvider.DEVICE_PROPERTY + " must be backend:device, got " + spec);
        }
        return TornadoExecutionPlan.getDevice(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
    }

    /** The device kernels run on, as TornadoVM describes it. */
    public String deviceDescription() {
        return device.getPhysicalDevice().getDeviceName() + " (" + device.getPlatformName() + ")";
    }

    @Override
    public String name() {
        return TornadoBackendProvider.NAME;
    }

    @Override
    public int firstNonFiniteTensor(StepBatch batch) {
        handled.clear();
        for (int t = 0; t < batch.size(); t++) {
            FloatSpan grad = batch.grad(t);
            if (grad.deviceHandle() instanceof DeviceTensors.Ref r) {
                if (!handled.contains(r.owner())) { // one device pass per DeviceTensors (usually one)
                    r.owner().checkNonFinite();
                    handled.add(r.owner());
                }
                if (r.owner().nonFinite(r.index())) {
                    return t;
                }
            } else if (ScalarBackend.firstNonFinite(grad, 0, grad.length()) >= 0) {
                return t;
            }
        }
        return -1;
    }

    @Override
    public String storageProblem(FloatSpan param, FloatSpan grad) {
        return DeviceTensors.pairingProblem(param, grad);
    }

    /** For a device-resident parameter or gradient, downloads all of its DeviceTensors' parameters and gradients. */
    @Override
    public void syncToHost(FloatSpan span) {
        if (span.deviceHandle() instanceof DeviceTensors.Ref r) {
            if (r.what() == 'm') {
                r.owner().pullMomentum();
            } else {
                r.owner().download();
            }
        }
    }

    @Override
    public FloatSpan allocateMomentum(FloatSpan param) {
        if (param.deviceHandle() instanceof DeviceTensors.Ref r) {
            return r.owner().momentum(r.index());
        }
        FloatSpan host = FloatSpan.allocateLike(param, param.length());
        paramOfMomentum.put(host, param);
        Slot s = slots.get(param);
        if (s != null) {
            s.momentumHost = host;
        }
        return host;
    }

    @Override
    public void update(StepBatch b) {
        boolean host = false;
        handled.clear();
        for (int t = 0; t < b.size(); t++) {
            if (b.param(t).deviceHandle() instanceof DeviceTensors.Ref r) {
                if (!handled.contains(r.owner())) { // one launch for all tensors of a DeviceTensors
                    r.owner().update(b);
                    handled.add(r.owner());
                }
            } else {
                host = true;
            }
        }
        if (host) {
            updateHostResident(b);
        }
    }

    /** Sets slot {@code slot}'s coefficients in {@code coef} from entry {@code i} of {@code b}. */
    static void setCoefficients(FloatArray coef, int slot, StepBatch b, int i) {
        int c = Kernels.COEFS * slot;
        int kind = switch (b.kind(i)) {
            case SGD -> Kernels.SGD;
            case INIT -> Kernels.INIT;
            case MOMENTUM -> Kernels.MOMENTUM;
        };
        coef.set(c, kind);
        coef.set(c + 1, b.sign(i) * b.negStep(i));
        coef.set(c + 2, b.sign(i));
        coef.set(c + 3, b.gradCoef(i));
        coef.set(c + 4, b.mu(i));
        coef.set(c + 5, b.negStep(i));
        coef.set(c + 6, b.decay(i));
    }

    /** The host-resident entries of {@code b}: copied into the packed arrays, one launch, parameters copied out. */
    private void updateHostResident(StepBatch b) {
        for (int t = 0; t < b.size(); t++) {
            if (!b.param(t).isDeviceResident() && !slots.containsKey(b.param(t))) {
                addSlot(b.param(t), b.momentum(t));
            }
        }
        if (rebuild) {
            rebuildPlan();
        }
        for (Slot s : order) {
            coef.set(Kernels.COEFS * s.index, Kernels.SKIP);
        }
        for (int t = 0; t < b.size(); t++) {
            Slot s = slots.get(b.param(t));
            if (s != null) {
                copyIn(b.param(t), p, s.offset);
                copyIn(b.grad(t), g, s.offset);
                setCoefficients(coef, s.index, b, t);
            }
        }
        last = plan.execute();
        deviceAhead = true;
        for (int t = 0; t < b.size(); t++) {
            Slot s = slots.get(b.param(t));
            if (s != null) {
                copyOut(p, s.offset, b.param(t));
            }
        }
    }

    private void addSlot(FloatSpan param, FloatSpan momentum) {
        Slot s = new Slot(param, order.size(), total);
        s.momentumHost = momentum;
        if (momentum != null) {
            paramOfMomentum.put(momentum, param); // so that stateToHost finds a buffer the backend did not allocate
        }
        slots.put(param, s);
        order.add(s);
        total += (int) Kernels.padded(param.length());
        rebuild = true;
    }

    /** New packed arrays and a new plan; momentum carried over from the device (or from host mirrors for new slots). */
    private void rebuildPlan() {
        pullMomentum();
        FloatArray newM = new FloatArray(total);
        for (Slot s : order) {
            if (m != null && s.offset + s.length <= m.getSize() && s.index < oldSlots) {
                MemorySegment.copy(m.getSegment(), 4L * s.offset, newM.getSegment(), 4L * s.offset, 4L * s.length);
            } else if (s.momentumHost != null) {
                copyIn(s.momentumHost, newM, s.offset);
            }
        }
        p = new FloatArray(total);
        g = new FloatArray(total);
        m = newM;
        owner = new IntArray(total / Kernels.BLOCK);
        for (Slot s : order) {
            Kernels.own(owner, s.index, s.offset, s.length);
        }
        coef = new FloatArray(Kernels.COEFS * order.size());
        closePlan();
        TaskGraph tg = new TaskGraph("sgdsai" + generation++)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, m, owner)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, p, g, coef)
                .task("update", Kernels::update, p, g, m, owner, coef)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, p)
                .transferToHost(DataTransferMode.UNDER_DEMAND, m);
        plan = strict(new TornadoExecutionPlan(tg.snapshot()).withDevice(device));
        last = null;
        deviceAhead = false;
        oldSlots = order.size();
        rebuild = false;
    }

    private void pullMomentum() {
        if (deviceAhead && last != null) {
            last.transferToHost(m);
            deviceAhead = false;
        }
    }

    @Override
    public void stateToHost(FloatSpan momentum) {
        if (momentum.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().pullMomentum();
            return;
        }
        Slot s = slotOfMomentum(momentum);
        if (s != null && m != null && s.index < oldSlots) {
            pullMomentum();
            copyOut(m, s.offset, momentum);
        }
    }

    @Override
    public void stateFromHost(FloatSpan momentum) {
        if (momentum.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().momentumFromHost(r.index());
            return;
        }
        Slot s = slotOfMomentum(momentum);
        if (s != null && m != null && s.index < oldSlots) {
            pullMomentum();
            copyIn(momentum, m, s.offset);
            rebuild = true; // the next step uploads the restored momentum with a fresh plan
        }
    }

    private Slot slotOfMomentum(FloatSpan momentum) {
        FloatSpan param = paramOfMomentum.get(momentum);
        return param == null ? null : slots.get(param);
    }

    @Override
    public void moments(FloatSpan grad, double[] out) {
        if (grad.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().moments(r.index(), out);
            return;
        }
        if (sumPlan == null) {
            buildMomentsPlans();
        }
        int n = grad.length();
        double[] acc = new double[6]; // compensated sums (value, error): Σg; then Σg², Σd, Σd²
        for (int from = 0; from < n; from += CHUNK) { // pass 1
            stageChunk(grad, from, n);
            sumPlan.execute();
            merge(acc, partial1, 1);
        }
        mean.set(0, (acc[0] + acc[1]) / n);
        Arrays.fill(acc, 0);
        for (int from = 0; from < n; from += CHUNK) { // pass 2
            stageChunk(grad, from, n);
            centeredPlan.execute();
            merge(acc, partial3, 3);
        }
        out[0] = acc[0] + acc[1];
        out[1] = ScalarBackend.correctedM2(acc[2] + acc[3], acc[4] + acc[5], n);
    }

    /**
     * Adds the per-work-group partials ({@code width} interleaved sums per group) into {@code acc}, in group
     * order, with TwoSum error terms: sum j goes to {@code acc[2j]} with its error in {@code acc[2j + 1]}.
     */
    static void merge(double[] acc, DoubleArray partial, int width) {
        for (int k = 0; k < Kernels.RANGE_GROUPS; k++) {
            for (int j = 0; j < width; j++) {
                double x = partial.get(width * k + j);
                double t = acc[2 * j] + x;
                double bp = t - acc[2 * j];
                acc[2 * j + 1] += (acc[2 * j] - (t - bp)) + (x - bp);
                acc[2 * j] = t;
            }
        }
    }

    /** Copies grad[from .. from + CHUNK) (or to its end) into the staging array, the range the kernels reduce. */
    private void stageChunk(FloatSpan grad, int from, int n) {
        int len = Math.min(CHUNK, n - from);
        MemorySegment.copy(grad.segment(), grad.layout(), 4L * from, stage.getSegment(), ValueLayout.JAVA_FLOAT, 0, len);
        range.set(0, 0);
        range.set(1, len);
    }

    private void buildMomentsPlans() {
        stage = new FloatArray(CHUNK);
        FloatArray unused = new FloatArray(1); // the range kernels' parameter slot, used by device-resident tensors
        range = new IntArray(2);
        mean = new DoubleArray(1);
        partial1 = new DoubleArray(Kernels.RANGE_GROUPS);
        partial3 = new DoubleArray(3 * Kernels.RANGE_GROUPS);
        KernelContext ctx = new KernelContext();
        TaskGraph sum = new TaskGraph("sgdsaiSum")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, stage, range)
                .task("sum", Kernels::rangeSum, ctx, unused, stage, range, partial1)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, partial1);
        TaskGraph centered = new TaskGraph("sgdsaiCentered")
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, stage, range, mean)
                .task("centered", Kernels::rangeCentered, ctx, unused, stage, range, mean, partial3)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, partial3);
        sumPlan = strict(new TornadoExecutionPlan(sum.snapshot()).withDevice(device)
                .withGridScheduler(rangeGrid(new GridScheduler(), "sgdsaiSum.sum")));
        centeredPlan = strict(new TornadoExecutionPlan(centered.snapshot()).withDevice(device)
                .withGridScheduler(rangeGrid(new GridScheduler(), "sgdsaiCentered.centered")));
    }

    /** Adds to {@code grid} the fixed worker grid of the range reductions for {@code task}; returns {@code grid}. */
    static GridScheduler rangeGrid(GridScheduler grid, String task) {
        WorkerGrid1D w = new WorkerGrid1D(Kernels.RANGE_GLOBAL);
        w.setGlobalWork(Kernels.RANGE_GLOBAL, 1, 1);
        w.setLocalWork(Kernels.LOCAL, 1, 1);
        grid.addWorkerGrid(task, w);
        return grid;
    }

    /**
     * The plan compiled without TornadoVM's default OpenCL flags {@code -cl-mad-enable -cl-fast-relaxed-math}: they
     * allow the compiler to replace the contract's rounded products with unfused multiply-adds and to assume that
     * no value is NaN or infinite (on PoCL, {@code isequal(NaN - NaN, 0)} is then true). IEEE arithmetic keeps the
     * update bit-identical to the reference and the non-finite check honest.
     */
    static TornadoExecutionPlan strict(TornadoExecutionPlan plan) {
        return plan.withCompilerFlags(TornadoVMBackendType.OPENCL, "-w");
    }

    /** span → packed[offset ..] (byte order converted). */
    private static void copyIn(FloatSpan span, FloatArray packed, int offset) {
        MemorySegment.copy(span.segment(), span.layout(), 0, packed.getSegment(), ValueLayout.JAVA_FLOAT, 4L * offset,
                span.length());
    }

    /** packed[offset ..] → span (byte order converted). */
    private static void copyOut(FloatArray packed, int offset, FloatSpan span) {
        MemorySegment.copy(packed.getSegment(), ValueLayout.JAVA_FLOAT, 4L * offset, span.segment(), span.layout(), 0,
                span.length());
    }

    private void closePlan() {
        release(plan);
        plan = null;
    }

    /** Frees the device memory of a plan's selected graphs; {@code null} is ignored. */
    static void release(TornadoExecutionPlan plan) {
        if (plan != null) {
            try {
                plan.close();
            } catch (Exception e) {
                throw new IllegalStateException("cannot release the TornadoVM plan", e);
            }
        }
    }

    @Override
    public void close() {
        closePlan();
        release(sumPlan);
        release(centeredPlan);
        sumPlan = null;
        centeredPlan = null;
    }
}
