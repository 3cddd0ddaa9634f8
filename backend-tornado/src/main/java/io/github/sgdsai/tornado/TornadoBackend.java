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
 * {@link Kernels#BLOCK} elements, in packed device arrays (parameters, gradients, momentum or first moment m, and
 * for Adam the second moment v and amsgrad's maximum w, allocated once a tensor needs them), so a step is one
 * execution of one task graph for all tensors: the update kernel, preceded for Adam-mini by the two passes that
 * reduce each block's mean square. Each step copies the parameters and gradients of the tensors taking part in and
 * the parameters back out (the honest offload path for host-resident {@code float[]}/{@code FloatBuffer} tensors);
 * the optimizer state stays on the device and is copied back only when a checkpoint asks ({@link #stateToHost}).
 * A new tensor, a new state buffer (amsgrad switched on) or a restored state rebuilds the execution plan (a
 * recompilation).
 *
 * <p>g-SNR moments run on the device too, in fixed-size chunks: a work-group tree reduction in double per
 * chunk, merged on the host in chunk order, so the result is deterministic. The non-finite check and the sums of
 * squares for clipping run on the host (the gradients are host-resident).
 *
 * <p>Tensors made by {@link DeviceTensors} live on the device: their check, reductions and update run there on
 * the packed device arrays (one launch per step for all of them, Adam's state included), and nothing of them is
 * copied (except for the g-SNR of a clipped first step of SGD-SaI, whose scaled gradient is reduced on the host);
 * with clipping, the sums of squares are reduced on the device too.
 */
public final class TornadoBackend implements Backend {
    /** Elements per moments chunk (one launch of each pass). */
    static final int CHUNK = 1 << 16;

    private final TornadoDevice device;
    private final Map<FloatSpan, Slot> slots = new IdentityHashMap<>(); // by parameter span
    /** Parameter of every state buffer handed out or seen in a batch (momentum / m, v, w), by identity. */
    private final Map<FloatSpan, FloatSpan> paramOfState = new IdentityHashMap<>();
    private final List<Slot> order = new ArrayList<>();
    /** Per device-resident parameter, the state roles handed out to the optimizer (bit r for role r). */
    private final Map<FloatSpan, Integer> deviceStates = new IdentityHashMap<>();
    /** The DeviceTensors already checked or updated in this call (identity; reused, so nothing is allocated). */
    private final List<DeviceTensors> handled = new ArrayList<>();
    private int total;
    private FloatArray p;
    private FloatArray g;
    /** State arrays by role ({@link #M}, {@link #V}, {@link #W}); a role no slot has is a one-float placeholder. */
    private final FloatArray[] state = new FloatArray[3];
    private IntArray owner;
    private IntArray info;
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

    /** State roles: the momentum or first moment m, the second moment v, amsgrad's maximum w. */
    static final int M = 0;
    static final int V = 1;
    static final int W = 2;

    private static final class Slot {
        final FloatSpan param;
        final int index;
        final int offset;
        final int length;
        /** Host buffers of each role (null: none yet); the device copy is newer unless fromHost says otherwise. */
        final FloatSpan[] host = new FloatSpan[3];
        /** Per role: the host buffer is newer (new, or restored) and the next plan uploads it. */
        final boolean[] fromHost = new boolean[3];
        /** Adam-mini's second-moment block size, or 0 for a tensor of another kind. */
        int miniBlock;

        Slot(FloatSpan param, int index, int offset) {
            this.param = param;
            this.index = index;
            this.offset = offset;
            this.length = param.length();
        }
    }

    /** What {@code b}'s entry i holds in role r. */
    private static FloatSpan roleSpan(StepBatch b, int i, int r) {
        return r == M ? b.momentum(i) : r == V ? b.second(i) : b.maxSecond(i);
    }

    /** A backend on the device chosen by {@link TornadoBackendProvider#DEVICE_PROPERTY}, or TornadoVM's default. */
    public TornadoBackend() {
        device = device();
    }

    /**
     * Why no TornadoVM device can be used, or {@code null} if one can. Called by the provider by reflection.
     *
     * @return the problem, in one line that says how to fix it, or {@code null}
     */
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

    /**
     * The device kernels run on, as TornadoVM describes it.
     *
     * @return the device's name and platform
     */
    public String deviceDescription() {
        return device.getPhysicalDevice().getDeviceName() + " (" + device.getPlatformName() + ")";
    }

    @Override
    public String name() {
        return TornadoBackendProvider.NAME;
    }

    /** Every feature, for host-resident and device-resident tensors alike. */
    @Override
    public boolean supports(Feature feature) {
        return true;
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

    /**
     * The check and the sums of squares for clipping, exactly as the reference computes them: on the host with the
     * scalar kernels for host-resident gradients; on the device for device-resident ones (one reduction per
     * {@link DeviceTensors} and step, of which only a double per 4096 elements comes back).
     */
    @Override
    public int firstNonFiniteTensor(StepBatch batch, double[] sumSquares) {
        if (sumSquares == null) {
            return firstNonFiniteTensor(batch);
        }
        handled.clear();
        int bad = -1;
        for (int t = 0; t < batch.size(); t++) {
            FloatSpan grad = batch.grad(t);
            if (grad.deviceHandle() instanceof DeviceTensors.Ref r) {
                if (!handled.contains(r.owner())) {
                    r.owner().squares();
                    handled.add(r.owner());
                }
                sumSquares[t] = r.owner().sumSquares(r.index());
            } else {
                sumSquares[t] = ScalarBackend.sumSquares(grad, 1f, 0, grad.length());
            }
            if (bad < 0 && !Double.isFinite(sumSquares[t])) { // squares of finite floats cannot overflow a double sum
                bad = t;
            }
        }
        return bad;
    }

    @Override
    public String storageProblem(FloatSpan param, FloatSpan grad) {
        return DeviceTensors.pairingProblem(param, grad);
    }

    /** For a device-resident parameter or gradient, downloads all of its DeviceTensors' parameters and gradients. */
    @Override
    public void syncToHost(FloatSpan span) {
        if (span.deviceHandle() instanceof DeviceTensors.Ref r) {
            if (r.what() == 'p' || r.what() == 'g') {
                r.owner().download();
            } else {
                r.owner().pullState();
            }
        }
    }

    @Override
    public FloatSpan allocateMomentum(FloatSpan param) {
        if (param.deviceHandle() instanceof DeviceTensors.Ref r) {
            deviceStates.merge(param, 1 << M, (a, b) -> a | b);
            return r.owner().momentum(r.index());
        }
        FloatSpan host = FloatSpan.allocateLike(param, param.length());
        paramOfState.put(host, param);
        return host;
    }

    @Override
    public FloatSpan allocateState(FloatSpan param, int length) {
        if (param.deviceHandle() instanceof DeviceTensors.Ref r) {
            // Which buffer is asked for follows from the order of the requests: a step asks for the momentum
            // (allocateMomentum), then v and, with amsgrad, its maximum; a restore asks for those it lacks, in the
            // same order, but all of them here.
            int handed = deviceStates.getOrDefault(param, 0);
            int role = (handed & 1 << M) == 0 ? M : (handed & 1 << V) == 0 ? V : W;
            deviceStates.put(param, handed | 1 << role);
            return role == M ? r.owner().momentum(r.index()) : r.owner().state(r.index(), role == W, length);
        }
        FloatSpan host = FloatSpan.allocateLike(param, length);
        paramOfState.put(host, param);
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

    /** Sets slot {@code slot}'s kind and coefficients in {@code info} and {@code coef} from entry {@code i} of {@code b}. */
    static void setCoefficients(IntArray info, FloatArray coef, int slot, StepBatch b, int i) {
        int kind = switch (b.kind(i)) {
            case SGD -> Kernels.SGD;
            case INIT -> Kernels.INIT;
            case MOMENTUM -> Kernels.MOMENTUM;
            case ADAMW -> b.amsgrad(i) ? Kernels.AMSGRAD : Kernels.ADAMW;
            case ADAM_MINI -> Kernels.ADAM_MINI;
        };
        info.set(Kernels.INFO * slot + Kernels.KIND, kind);
        info.set(Kernels.INFO * slot + Kernels.BLOCK_SIZE, kind == Kernels.ADAM_MINI ? b.blockSize(i) : 1);
        int c = Kernels.COEFS * slot;
        coef.set(c + Kernels.GS, b.gradScale(i));
        coef.set(c + Kernels.DECAY, b.decay(i));
        if (kind <= Kernels.MOMENTUM) {
            coef.set(c + Kernels.NEG_STEP, b.negStep(i));
            coef.set(c + Kernels.ONE_MINUS_MU, b.oneMinusMu(i));
            coef.set(c + Kernels.MU, b.mu(i));
        } else {
            float w = b.b1c(i);
            boolean low = w < 0.5f; // ScalarBackend.lerp's branch
            coef.set(c + Kernels.LERP_W, low ? w : w - 1f);
            coef.set(c + Kernels.LERP_LOW, low ? 1f : 0f);
            coef.set(c + Kernels.BETA2, b.beta2(i));
            coef.set(c + Kernels.B2C, b.b2c(i));
            coef.set(c + Kernels.SQRT_BC2, b.sqrtBc2(i));
            coef.set(c + Kernels.EPS, b.eps(i));
            coef.set(c + Kernels.POS_STEP_BC, -b.negStepBc(i));
        }
    }

    /** The host-resident entries of {@code b}: copied into the packed arrays, one launch, parameters copied out. */
    private void updateHostResident(StepBatch b) {
        for (int t = 0; t < b.size(); t++) {
            FloatSpan param = b.param(t);
            if (!param.isDeviceResident()) {
                Slot s = slots.get(param);
                if (s == null) {
                    s = addSlot(param);
                }
                noteState(s, b, t);
            }
        }
        if (rebuild) {
            rebuildPlan();
        }
        for (Slot s : order) {
            info.set(Kernels.INFO * s.index + Kernels.KIND, Kernels.SKIP);
        }
        for (int t = 0; t < b.size(); t++) {
            Slot s = slots.get(b.param(t));
            if (s != null) {
                copyIn(b.param(t), p, s.offset);
                copyIn(b.grad(t), g, s.offset);
                setCoefficients(info, coef, s.index, b, t);
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

    /**
     * Records the state buffers and Adam-mini block size entry {@code i} of {@code b} gives slot {@code s}: a buffer
     * the slot did not have (a first step, amsgrad switched on, a buffer a restore allocated) is uploaded from the
     * host by a new plan, as is a changed block size.
     */
    private void noteState(Slot s, StepBatch b, int i) {
        for (int r = M; r <= W; r++) {
            FloatSpan span = roleSpan(b, i, r);
            if (span != null && span != s.host[r]) {
                s.host[r] = span;
                s.fromHost[r] = true;
                paramOfState.put(span, s.param);
                rebuild = true;
            }
        }
        int mini = b.kind(i) == StepBatch.Kind.ADAM_MINI ? b.blockSize(i) : 0;
        if (mini != s.miniBlock) {
            s.miniBlock = mini;
            rebuild = true;
        }
    }

    private Slot addSlot(FloatSpan param) {
        Slot s = new Slot(param, order.size(), total);
        slots.put(param, s);
        order.add(s);
        total += (int) Kernels.padded(param.length());
        rebuild = true;
        return s;
    }

    /**
     * New packed arrays and a new plan. Each role's state is carried over from the device, except where the host
     * buffer is newer (new slots, new buffers, restores), which is uploaded; a role no slot has gets a placeholder.
     */
    private void rebuildPlan() {
        pullState();
        FloatArray[] fresh = new FloatArray[3];
        for (int r = M; r <= W; r++) {
            boolean needed = false;
            for (Slot s : order) {
                needed |= s.host[r] != null;
            }
            fresh[r] = new FloatArray(needed ? total : 1);
            fresh[r].clear();
            if (!needed) {
                continue;
            }
            FloatArray old = state[r];
            for (Slot s : order) {
                if (s.host[r] == null) {
                    continue;
                }
                int len = s.host[r].length();
                if (!s.fromHost[r] && s.index < oldSlots && old != null && s.offset + len <= old.getSize()) {
                    MemorySegment.copy(old.getSegment(), 4L * s.offset, fresh[r].getSegment(), 4L * s.offset, 4L * len);
                } else {
                    copyIn(s.host[r], fresh[r], s.offset);
                }
                s.fromHost[r] = false;
            }
        }
        System.arraycopy(fresh, 0, state, 0, 3);
        p = new FloatArray(total);
        g = new FloatArray(total);
        p.clear();
        g.clear();
        owner = new IntArray(total / Kernels.BLOCK);
        info = new IntArray(Kernels.INFO * order.size());
        for (Slot s : order) {
            Kernels.own(owner, s.index, s.offset, s.length);
            info.set(Kernels.INFO * s.index + Kernels.OFFSET, s.offset);
            info.set(Kernels.INFO * s.index + Kernels.END, s.offset + s.length);
        }
        coef = new FloatArray(Kernels.COEFS * order.size());
        closePlan();
        TaskGraph tg = new TaskGraph("sgdsai" + generation++)
                .transferToDevice(DataTransferMode.FIRST_EXECUTION, state[M], state[V], state[W], owner)
                .transferToDevice(DataTransferMode.EVERY_EXECUTION, p, g, info, coef);
        MiniTables mini = MiniTables.of(order.size(), i -> order.get(i).offset, i -> order.get(i).length,
                i -> order.get(i).miniBlock);
        if (mini != null) {
            tg = mini.addTasks(tg, g, state[V], info, coef);
        }
        tg = tg.task("update", Kernels::update, p, g, state[M], state[V], state[W], owner, info, coef)
                .transferToHost(DataTransferMode.EVERY_EXECUTION, p)
                .transferToHost(DataTransferMode.UNDER_DEMAND, state[M], state[V], state[W]);
        plan = strict(new TornadoExecutionPlan(tg.snapshot()).withDevice(device));
        last = null;
        deviceAhead = false;
        oldSlots = order.size();
        rebuild = false;
    }

    /** Makes the host copies of the packed state arrays current. */
    private void pullState() {
        if (deviceAhead && last != null) {
            last.transferToHost(state[M], state[V], state[W]);
            deviceAhead = false;
        }
    }

    /** Slot {@code s}'s role of {@code span}, or -1 if it is none of the slot's current buffers. */
    private static int role(Slot s, FloatSpan span) {
        for (int r = M; r <= W; r++) {
            if (s.host[r] == span) {
                return r;
            }
        }
        return -1;
    }

    @Override
    public void stateToHost(FloatSpan span) {
        if (span.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().pullState();
            return;
        }
        Slot s = slotOfState(span);
        int r = s == null ? -1 : role(s, span);
        if (r >= 0 && !s.fromHost[r] && s.index < oldSlots && state[r] != null
                && s.offset + span.length() <= state[r].getSize()) {
            pullState();
            copyOut(state[r], s.offset, span);
        }
    }

    @Override
    public void stateFromHost(FloatSpan span) {
        if (span.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().stateFromHost(r.index(), r.what());
            return;
        }
        Slot s = slotOfState(span);
        int r = s == null ? -1 : role(s, span);
        if (r >= 0) { // (a buffer the slot does not have yet is uploaded when a batch brings it)
            s.fromHost[r] = true;
            rebuild = true; // the next step uploads the restored state with a fresh plan
        }
    }

    private Slot slotOfState(FloatSpan span) {
        FloatSpan param = paramOfState.get(span);
        return param == null ? null : slots.get(param);
    }

    /** {@link Backend#moments(FloatSpan, float, double[])}; a device-resident gradient is downloaded first. */
    @Override
    public void moments(FloatSpan grad, float scale, double[] out) {
        if (scale != 1f && grad.deviceHandle() instanceof DeviceTensors.Ref r) {
            r.owner().download();
        }
        Backend.super.moments(grad, scale, out);
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
