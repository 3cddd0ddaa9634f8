// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.djl;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import io.github.sgdsai.Optimizer;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An sgdsai optimizer ({@link io.github.sgdsai.SgdSai}, {@link io.github.sgdsai.AdamW},
 * {@link io.github.sgdsai.AdamMini}) as a Deep Java Library {@link ai.djl.training.optimizer.Optimizer}: set it with
 * {@code DefaultTrainingConfig.optOptimizer(..)} like DJL's own.
 *
 * <pre>{@code
 * DjlOptimizer opt = DjlOptimizer.of(model.getBlock(), SgdSai.builder()
 *         .lr(Schedules.warmupCosine(1e-3, 50, 1000)).momentum(0.9).weightDecay(0.1).clipGradNorm(1.0)
 *         .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
 * DefaultTrainingConfig config = new DefaultTrainingConfig(loss).optOptimizer(opt);
 * }</pre>
 *
 * <p><b>How a step maps.</b> DJL calls {@link #update} once per trainable parameter and step, each time with a fresh
 * copy of that parameter's gradient that it closes when the call returns. This adapter
 * <ol>
 *   <li>at the first call binds itself to the block: every parameter of {@code block.getParameters()} that requires
 *       a gradient becomes one tensor of the sgdsai optimizer, named by its DJL path (e.g.
 *       {@code 01Linear_weight}; so {@code NameRule} groups see DJL's names). The tensor's parameter storage is the
 *       PyTorch tensor's own memory (a direct buffer over it: weights are updated in place, never copied); its
 *       gradient storage is a direct buffer the adapter owns;</li>
 *   <li>at every call copies the gradient it is given into that buffer (one {@code memcpy} of the tensor);</li>
 *   <li>once every bound parameter has been delivered, runs one {@link Optimizer#step()} over all of them, so the
 *       non-finite check, global gradient clipping and all-or-nothing semantics cover the whole model, and each
 *       tensor keeps its own g-SNR.</li>
 * </ol>
 * After the step (applied, or skipped under {@link io.github.sgdsai.NonFinitePolicy#SKIP_STEP}) the parameters' own
 * gradients are zeroed, as DJL's optimizers do on PyTorch, where backward accumulates. If the step throws (e.g. a
 * NaN gradient under {@link io.github.sgdsai.NonFinitePolicy#THROW}), nothing has changed: no weight, no optimizer
 * state, and the gradients are as backward left them (zero them with {@link #zeroGradients()} before training
 * on); the delivered gradients are forgotten, and the exception leaves {@code Trainer.step()}.
 *
 * <p><b>Running statistics.</b> DJL's training-mode forward pass updates BatchNorm's running mean and variance
 * (non-trainable parameters) in place before any optimizer is called, so a NaN in the input has made them NaN by
 * the time the step is refused. The adapter therefore copies the block's {@linkplain #runningStatistics() running
 * statistics} after every applied step and puts them back when a step is refused (thrown out of, or skipped): every
 * parameter of the block is then as it was after the last applied step. Before the first applied step there is no
 * copy, and a refused first step leaves them as the forward pass left them.
 *
 * <p><b>Limits.</b> Parameters must be float32 on the CPU (the engine writes the tensors' memory); training on one
 * device only (DJL would call {@code update} once per device); every trainable parameter must receive its gradient
 * in every step (a parameter that the forward pass does not use is reported by name). DJL's own options
 * ({@code setRescaleGrad}, {@code optClipGrad}, {@code optWeightDecays}) are not used: configure the sgdsai builder
 * instead. Bind one adapter to one trainer. Not thread-safe, like DJL's training loop.
 */
public final class DjlOptimizer extends ai.djl.training.optimizer.Optimizer implements AutoCloseable {

    private final Block block;
    private final Optimizer.Builder<?, ?, ?> builder;
    private Optimizer engine;
    private Map<String, Integer> indexById;
    private NDArray[] weights;
    private long[] weightAddress;
    private FloatBuffer[] grads;
    private String[] names;
    private boolean[] delivered;
    private int deliveredCount;
    private byte[] pendingCheckpoint;
    private long gradientBytesCopied;
    /** The block's running statistics (BatchNorm mean/variance): DJL's training-mode forward pass writes them. */
    private Parameter[] statistics;
    private String[] statisticNames;
    /** Their bytes after the last applied step (restored when a step is refused), and where they were then. */
    private MemorySegment[] statisticsSaved;
    private long[] statisticAddress;
    private boolean haveStatistics;

    private DjlOptimizer(Block block, Optimizer.Builder<?, ?, ?> builder) {
        super(new NoOptions());
        this.block = block;
        this.builder = builder;
    }

    /**
     * An adapter that trains {@code block}'s parameters with the optimizer {@code builder} describes. The builder holds
     * hyperparameters, name-rule groups, clipping and the non-finite policy, but no tensors: the adapter adds every
     * trainable parameter of the block itself, at the first step (when DJL has initialized them). The builder is
     * used then and must not be changed or reused afterwards.
     *
     * @param block   the model's block, e.g. {@code model.getBlock()}
     * @param builder a configured {@code SgdSai.builder()}, {@code AdamW.builder()} or {@code AdamMini.builder()}
     * @return the adapter, to pass to {@code DefaultTrainingConfig.optOptimizer}
     * @throws NullPointerException if {@code block} or {@code builder} is null
     */
    public static DjlOptimizer of(Block block, Optimizer.Builder<?, ?, ?> builder) {
        Objects.requireNonNull(block, "block is null");
        Objects.requireNonNull(builder, "builder is null");
        return new DjlOptimizer(block, builder);
    }

    /**
     * Receives one parameter's gradient; runs the step once every trainable parameter has been delivered (see the
     * class documentation).
     *
     * @param parameterId the DJL parameter's id
     * @param weight      the parameter's values, updated in place
     * @param grad        its gradient in this step (read, not kept)
     * @throws IllegalArgumentException if the parameter is unknown, not float32 on the CPU, or its gradient has the
     *                                  wrong size
     * @throws IllegalStateException    if a parameter is delivered twice before all were (multi-device training, or
     *                                  a trainable parameter without a gradient), or the weight's storage moved
     * @throws io.github.sgdsai.NonFiniteGradientException if a gradient holds NaN or infinity (nothing changed)
     */
    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        if (engine == null) {
            bind();
        }
        Integer boxed = indexById.get(parameterId);
        if (boxed == null) {
            throw new IllegalArgumentException("parameter id " + parameterId + " (" + describe(weight)
                    + ") is not a trainable parameter of the block this optimizer was created for");
        }
        int i = boxed;
        if (weight != weights[i] && addressOf(weight, names[i]) != weightAddress[i]) {
            throw new IllegalStateException("parameter '" + names[i] + "': its storage moved since the optimizer bound"
                    + " it (were the parameters reloaded or moved?); create a new trainer and optimizer");
        }
        if (delivered[i]) {
            List<String> missing = new ArrayList<>();
            for (int j = 0; j < delivered.length; j++) {
                if (!delivered[j]) {
                    missing.add(names[j]);
                }
            }
            resetDelivered();
            throw new IllegalStateException("parameter '" + names[i] + "' delivered twice in one step (training on"
                    + " several devices is not supported), or these trainable parameters got no gradient: " + missing);
        }
        checkFloat32Cpu(grad, names[i], "gradient");
        if (grad.size() != grads[i].capacity()) {
            throw new IllegalArgumentException("parameter '" + names[i] + "': gradient has " + grad.size()
                    + " elements, the parameter " + grads[i].capacity());
        }
        FloatBuffer src = grad.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
        grads[i].put(0, src, 0, grads[i].capacity());
        gradientBytesCopied += 4L * grads[i].capacity();
        delivered[i] = true;
        if (++deliveredCount == delivered.length) {
            resetDelivered();
            stepEngine();
            zeroGradients();
        }
    }

    /**
     * Steps every trainable parameter of the block from its own gradient, without going through DJL's
     * {@code Trainer.step()}: use it in place of {@code trainer.step()} in a training loop. The result is the same,
     * bit for bit; what is saved is DJL's parameter-server hand-over, which allocates and fills a copy of every
     * gradient before any optimizer runs (at 16 M parameters it costs several times our whole step; see the
     * README). Each gradient is copied into the adapter's buffer ({@code memcpy}), the engine steps, and the
     * gradients are zeroed, as in {@link #update}.
     *
     * @return {@code true} if the step was applied, {@code false} if it was skipped under
     *         {@link io.github.sgdsai.NonFinitePolicy#SKIP_STEP}
     * @throws IllegalStateException if a parameter has no gradient (no backward yet), its storage moved, or a step
     *                               through {@link #update} is half delivered
     * @throws io.github.sgdsai.NonFiniteGradientException if a gradient holds NaN or infinity (nothing changed)
     */
    public boolean step() {
        if (engine == null) {
            bind();
        }
        if (deliveredCount != 0) {
            throw new IllegalStateException("a step through Trainer.step() is half delivered (" + deliveredCount
                    + " of " + delivered.length + " parameters); finish it before calling step()");
        }
        List<Pair<String, Parameter>> params = trainable();
        for (int i = 0; i < weights.length; i++) {
            NDArray w = params.get(i).getValue().getArray();
            if (w != weights[i] && addressOf(w, names[i]) != weightAddress[i]) {
                throw new IllegalStateException("parameter '" + names[i] + "': its storage moved since the optimizer"
                        + " bound it (were the parameters reloaded or moved?); create a new optimizer");
            }
            if (!w.hasGradient()) {
                throw new IllegalStateException("parameter '" + names[i] + "' has no gradient; run backward first");
            }
        }
        for (int i = 0; i < weights.length; i++) {
            try (NDArray g = weights[i].getGradient()) {
                FloatBuffer src = g.toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
                grads[i].put(0, src, 0, grads[i].capacity());
            }
            gradientBytesCopied += 4L * grads[i].capacity();
        }
        boolean applied = stepEngine();
        zeroGradients();
        return applied;
    }

    /**
     * The engine's step, with the running statistics kept in line with it: saved after an applied step, put back to
     * what they were after the last applied step when this one is refused (skipped, or thrown out of).
     */
    private boolean stepEngine() {
        boolean applied;
        try {
            applied = engine.step();
        } catch (RuntimeException e) {
            restoreStatistics();
            throw e;
        }
        if (applied) {
            saveStatistics();
        } else {
            restoreStatistics();
        }
        return applied;
    }

    /** Copies every running statistic's bytes into the adapter's buffer for it (package-private for RunningStatisticsCost). */
    void saveStatistics() {
        for (int i = 0; i < statistics.length; i++) {
            MemorySegment now = MemorySegment.ofBuffer(statistics[i].getArray().toByteBuffer(true));
            if (statisticsSaved[i] == null || statisticsSaved[i].byteSize() != now.byteSize()) {
                statisticsSaved[i] = MemorySegment.ofBuffer(ByteBuffer.allocateDirect((int) now.byteSize()));
            }
            MemorySegment.copy(now, 0, statisticsSaved[i], 0, now.byteSize());
            statisticAddress[i] = now.address();
        }
        haveStatistics = true;
    }

    /**
     * Puts the running statistics back to their bytes after the last applied step (nothing before the first one). A
     * statistic whose storage was replaced since (parameters reloaded) is left alone: the saved bytes are not its.
     */
    private void restoreStatistics() {
        if (!haveStatistics) {
            return;
        }
        for (int i = 0; i < statistics.length; i++) {
            MemorySegment now = MemorySegment.ofBuffer(statistics[i].getArray().toByteBuffer(true));
            if (now.address() == statisticAddress[i] && now.byteSize() == statisticsSaved[i].byteSize()) {
                MemorySegment.copy(statisticsSaved[i], 0, now, 0, now.byteSize());
            }
        }
    }

    private List<Pair<String, Parameter>> trainable() {
        List<Pair<String, Parameter>> list = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                list.add(p);
            }
        }
        return list;
    }

    /**
     * Zeroes the gradient of every parameter the adapter trains ({@code memset} on the tensor's memory). The adapter
     * does this after each step, as DJL's optimizers do on PyTorch, where backward accumulates into the gradient;
     * call it yourself after a step threw, before the next backward. (DJL's {@code GradientCollector.zeroGradients()}
     * computes {@code g - g}, which leaves NaNs in place.) Does nothing before the first step.
     */
    public void zeroGradients() {
        if (weights == null) {
            return;
        }
        for (NDArray w : weights) {
            if (w.hasGradient()) {
                try (NDArray g = w.getGradient()) {
                    MemorySegment.ofBuffer(g.toByteBuffer(true)).fill((byte) 0);
                }
            }
        }
    }

    private void resetDelivered() {
        java.util.Arrays.fill(delivered, false);
        deliveredCount = 0;
    }

    /** Adds every trainable parameter of the block to the builder, builds the engine, applies a pending restore. */
    private void bind() {
        List<String> nameList = new ArrayList<>();
        List<Parameter> params = new ArrayList<>();
        for (Pair<String, Parameter> p : trainable()) {
            nameList.add(p.getKey());
            params.add(p.getValue());
        }
        if (params.isEmpty()) {
            throw new IllegalStateException("the block has no trainable parameters");
        }
        int n = params.size();
        Map<String, Integer> ids = new HashMap<>();
        NDArray[] w = new NDArray[n];
        long[] addr = new long[n];
        FloatBuffer[] g = new FloatBuffer[n];
        List<FloatBuffer> paramViews = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String name = nameList.get(i);
            Parameter p = params.get(i);
            if (!p.isInitialized()) {
                throw new IllegalStateException("parameter '" + name + "' is not initialized; initialize the block"
                        + " (trainer.initialize) before training");
            }
            NDArray array = p.getArray();
            checkFloat32Cpu(array, name, "parameter");
            w[i] = array;
            ByteBuffer bytes = array.toByteBuffer(true);
            if (!bytes.isDirect() || bytes.isReadOnly()) {
                throw new IllegalArgumentException("parameter '" + name + "': DJL gives no writable view of its"
                        + " memory (engine " + array.getManager().getEngine().getEngineName() + ")");
            }
            addr[i] = MemorySegment.ofBuffer(bytes).address();
            FloatBuffer param = bytes.order(ByteOrder.nativeOrder()).asFloatBuffer();
            g[i] = ByteBuffer.allocateDirect(4 * param.capacity()).order(ByteOrder.nativeOrder()).asFloatBuffer();
            paramViews.add(param);
            ids.put(p.getId(), i);
        }
        List<Parameter> stats = new ArrayList<>();
        List<String> statNames = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter.Type type = p.getValue().getType();
            if (!p.getValue().requiresGradient() && (type == Parameter.Type.RUNNING_MEAN || type == Parameter.Type.RUNNING_VAR)) {
                NDArray array = p.getValue().isInitialized() ? p.getValue().getArray() : null;
                if (array == null || !Device.Type.CPU.equals(array.getDevice().getDeviceType())) {
                    throw new IllegalArgumentException("running statistic '" + p.getKey() + "': "
                            + (array == null ? "not initialized" : "on " + array.getDevice() + "; only CPU tensors are supported"));
                }
                ByteBuffer bytes = array.toByteBuffer(true);
                if (!bytes.isDirect() || bytes.isReadOnly()) {
                    throw new IllegalArgumentException("running statistic '" + p.getKey() + "': DJL gives no writable"
                            + " view of its memory, so a refused step could not restore it");
                }
                stats.add(p.getValue());
                statNames.add(p.getKey());
            }
        }
        for (int i = 0; i < n; i++) { // only once every parameter passed its checks
            builder.add(nameList.get(i), paramViews.get(i), g[i]);
        }
        Optimizer built = builder.build();
        if (pendingCheckpoint != null) {
            try {
                built.load(new ByteArrayInputStream(pendingCheckpoint));
            } catch (IOException e) {
                built.close();
                throw new IllegalStateException("restoring the optimizer state failed: " + e.getMessage(), e);
            }
            pendingCheckpoint = null;
        }
        this.names = nameList.toArray(new String[0]);
        this.weights = w;
        this.weightAddress = addr;
        this.grads = g;
        this.indexById = ids;
        this.delivered = new boolean[n];
        this.statistics = stats.toArray(new Parameter[0]);
        this.statisticNames = statNames.toArray(new String[0]);
        this.statisticsSaved = new MemorySegment[statistics.length];
        this.statisticAddress = new long[statistics.length];
        this.engine = built;
    }

    /** Rejects anything but float32 tensors in host memory. */
    private static void checkFloat32Cpu(NDArray a, String name, String what) {
        if (a.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("parameter '" + name + "': " + what + " is " + a.getDataType()
                    + "; only float32 is supported");
        }
        if (!Device.Type.CPU.equals(a.getDevice().getDeviceType())) {
            throw new IllegalArgumentException("parameter '" + name + "': " + what + " is on " + a.getDevice()
                    + "; only CPU tensors are supported (the optimizer writes the tensor's memory)");
        }
    }

    private static long addressOf(NDArray a, String name) {
        checkFloat32Cpu(a, name, "parameter");
        return MemorySegment.ofBuffer(a.toByteBuffer(true)).address();
    }

    private static String describe(NDArray a) {
        return a == null ? "null" : a.getShape() + " " + a.getDataType();
    }

    /**
     * The sgdsai optimizer doing the work (its tensors, groups, g-SNRs, {@link Optimizer#stateBytes()}), or
     * {@code null} before the first step.
     *
     * @return the engine, or {@code null}
     */
    public Optimizer engine() {
        return engine;
    }

    /**
     * The block's running statistics (the non-trainable parameters of type {@code RUNNING_MEAN} and
     * {@code RUNNING_VAR}: BatchNorm's running mean and variance) by their DJL names, in the block's order. DJL's
     * training-mode forward pass updates them before any optimizer runs; the adapter saves them after every applied
     * step and puts them back when a step is refused (see the class documentation). Empty before the first step.
     *
     * @return the names of the running statistics the adapter restores
     */
    public List<String> runningStatistics() {
        return statisticNames == null ? List.of() : List.of(statisticNames);
    }

    /**
     * Bytes of gradient copied into the adapter's buffers since it was created: 4 bytes per trainable parameter and
     * step (the only data the adapter moves; the weights are updated in place).
     *
     * @return bytes copied
     */
    public long gradientBytesCopied() {
        return gradientBytesCopied;
    }

    /**
     * Writes the optimizer state (sgdsai's checkpoint format). Save the model's parameters with DJL
     * ({@code model.save}) at the same point; restoring both resumes bit for bit.
     *
     * @param out where to write (not closed)
     * @throws IOException           if writing fails
     * @throws IllegalStateException before the first step, when there is no state yet
     */
    public void save(OutputStream out) throws IOException {
        Objects.requireNonNull(out, "out is null");
        if (engine == null) {
            if (pendingCheckpoint != null) {
                out.write(pendingCheckpoint);
                return;
            }
            throw new IllegalStateException("nothing to save before the first step");
        }
        engine.save(out);
    }

    /**
     * Restores the optimizer state written by {@link #save}. Before the first step the checkpoint is read now and
     * applied when the adapter binds to the block (then it must fit the block, or the first step throws and changes
     * nothing); after it, it is applied at once, all or nothing.
     *
     * @param in where to read (read to its end, not closed)
     * @throws IOException if reading fails, or ({@link io.github.sgdsai.CheckpointException}) the checkpoint is bad
     */
    public void load(InputStream in) throws IOException {
        Objects.requireNonNull(in, "in is null");
        if (engine == null) {
            ByteArrayOutputStream copy = new ByteArrayOutputStream();
            in.transferTo(copy);
            pendingCheckpoint = copy.toByteArray();
            return;
        }
        engine.load(in);
    }

    /** Releases the engine's backend threads. Idempotent. */
    @Override
    public void close() {
        if (engine != null) {
            engine.close();
        }
    }

    /** DJL's optimizer options, left at their neutral defaults: the sgdsai builder configures everything. */
    private static final class NoOptions extends OptimizerBuilder<NoOptions> {
        @Override
        protected NoOptions self() {
            return this;
        }
    }
}
