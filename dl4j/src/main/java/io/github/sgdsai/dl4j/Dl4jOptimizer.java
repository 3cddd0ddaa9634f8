// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.dl4j;

import io.github.sgdsai.CheckpointException;
import io.github.sgdsai.FloatSpan;
import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.NonFinitePolicy;
import io.github.sgdsai.Optimizer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.FrozenLayer;
import org.deeplearning4j.nn.layers.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Trains a Deeplearning4j {@link MultiLayerNetwork} or {@link ComputationGraph} with an optimizer of this library
 * ({@link io.github.sgdsai.SgdSai}, {@link io.github.sgdsai.AdamW}, {@link io.github.sgdsai.AdamMini}). The network
 * keeps {@code fit(DataSetIterator)}, its listeners and its evaluation; only the updater is replaced:
 *
 * <pre>{@code
 * Dl4jOptimizer<SgdSai> opt = Dl4jOptimizer.attach(net, SgdSai.builder().lr(1e-2).weightDecay(1e-2)
 *         .group(NameRule.biasesAndNorms(), g -> g.weightDecay(0)));
 * net.fit(trainIterator, 3);
 * }</pre>
 *
 * <p>Every DL4J parameter ({@code 0_W}, {@code 0_b}, {@code conv1_W}, ...) becomes one tensor of the optimizer under
 * DL4J's own key, so it gets its own g-SNR and name rules see DL4J's names. The tensors are direct
 * {@link FloatBuffer} slices of ND4J's flattened parameter and gradient arrays: a step reads and writes ND4J's
 * memory in place and copies nothing.
 *
 * <p>Per iteration, after DL4J's backpropagation has filled the gradient view, the replacement updater does what
 * DL4J's own updater would before an update rule runs (divides by the minibatch size where DL4J does, adds L1/L2
 * regularization gradients), then calls {@link Optimizer#step()}, which updates the parameters in place, and
 * finally sets the gradient of every parameter it owns to zero, so that DL4J's unconditional
 * {@code params.subi(gradient)} that follows changes nothing ({@code p - 0 == p} exactly in IEEE arithmetic).
 * Parameters whose DL4J updater is {@link NoOp} (batch-norm running statistics, frozen layers) are left to DL4J
 * exactly as before. DL4J's own updater configuration, its learning rate and its schedules are otherwise ignored.
 *
 * <p>A non-finite gradient: under {@link io.github.sgdsai.NonFinitePolicy#THROW} {@code fit} throws
 * {@link NonFiniteGradientException} before anything is written (DL4J's subtraction is never reached). Under
 * {@link io.github.sgdsai.NonFinitePolicy#SKIP_STEP} the step is skipped and the whole gradient view is set to zero,
 * the slices of the parameters DL4J keeps included, so that DL4J's subtraction changes nothing: every parameter,
 * batch-norm running statistics included, stays bit-identical. The gradients of the parameters DL4J updates itself
 * are checked as well, since a finite input can make a running-variance update infinite while every gradient of the
 * optimizer's is finite; such a step is refused in the same way and counted by {@link #skippedSteps()}.
 *
 * <p>Refused at {@code attach} (with the parameter named): float types other than FLOAT, DL4J gradient
 * normalization (use {@link Optimizer.Builder#clipGradNorm}), and DL4J regularization applied after the updater
 * ({@code WeightDecay}; use the optimizer's decoupled {@code weightDecay}).
 *
 * <p>Not thread-safe, like the network it trains.
 *
 * @param <O> the optimizer
 */
public final class Dl4jOptimizer<O extends Optimizer> implements AutoCloseable {

    /** The key under which {@link #save} stores the optimizer's checkpoint inside DL4J's model file. */
    public static final String STATE_KEY = "sgdsai-optimizer";

    private final Model model;
    private final O optimizer;
    private final Param[] params;
    private final Optimizer.Tensor[] tensors;
    private final INDArray[] zeroRuns;
    /** The whole flattened gradient view, DL4J's own parameters' slices included: zeroed when a step is skipped. */
    private final INDArray allGradients;
    private final boolean miniBatch;
    /** The parameters DL4J updates itself from the gradient view (batch-norm running statistics): names, gradients. */
    private final String[] keptNames;
    private final FloatBuffer[] keptGrads;
    private long keptSkips;
    private Optimizer.Skip lastSkip;
    private boolean closed;

    /** One DL4J parameter: its views, whether DL4J divides it by the minibatch size, its pre-update regularization. */
    private record Param(String name, INDArray param, INDArray grad, boolean divide, Regularization[] regs) {
    }

    private Dl4jOptimizer(Model model, Builder<O> plan) {
        this.model = model;
        this.optimizer = plan.optimizer;
        this.params = plan.params.toArray(new Param[0]);
        this.tensors = new Optimizer.Tensor[params.length];
        for (int i = 0; i < params.length; i++) {
            tensors[i] = optimizer.tensor(params[i].name);
        }
        this.zeroRuns = plan.zeroRuns.toArray(new INDArray[0]);
        this.allGradients = plan.flatGrads.reshape(plan.flatGrads.length());
        this.miniBatch = plan.miniBatch;
        this.keptNames = plan.keptNames.toArray(new String[0]);
        this.keptGrads = plan.keptGrads.toArray(new FloatBuffer[0]);
    }

    /**
     * Replaces the updater of {@code net} with an optimizer built from {@code builder}, to which every trainable
     * DL4J parameter is added as a tensor named by its key ({@code 0_W}, {@code 0_b}, ...). Call it after
     * {@code net.init()}; hyperparameters, groups and name rules on {@code builder} apply as usual. Nothing is
     * changed if it throws.
     *
     * @param net     the initialized network; modified: its updater is replaced
     * @param builder the optimizer's builder, without tensors of its own
     * @param <O>     the optimizer
     * @return the attached optimizer
     * @throws IllegalArgumentException if the network is not initialized, not FLOAT, or uses a DL4J feature the
     *                                  integration refuses (see the class documentation), naming the parameter; or
     *                                  if {@code builder} rejects the configuration
     */
    public static <O extends Optimizer> Dl4jOptimizer<O> attach(MultiLayerNetwork net, Optimizer.Builder<?, ?, O> builder) {
        Objects.requireNonNull(net, "net is null");
        Objects.requireNonNull(builder, "builder is null");
        if (net.params() == null || net.getLayers() == null) {
            throw new IllegalArgumentException("net: not initialized; call net.init() before attach");
        }
        net.initGradientsView();
        Builder<O> plan = new Builder<>(net.params(), net.getFlattenedGradients(), net.conf().isMiniBatch());
        for (org.deeplearning4j.nn.api.Layer layer : net.getLayers()) {
            plan.layer(String.valueOf(layer.getIndex()), layer);
        }
        plan.build(builder);
        Dl4jOptimizer<O> opt = new Dl4jOptimizer<>(net, plan);
        net.setUpdater(new MultiLayerUpdater(opt, net.getFlattenedGradients()));
        return opt;
    }

    /**
     * Replaces the updater of {@code graph} with an optimizer built from {@code builder}, to which every trainable
     * DL4J parameter is added as a tensor named by its key ({@code layerName_W}, ...). See
     * {@link #attach(MultiLayerNetwork, Optimizer.Builder)}. DL4J's graph updater base class allocates the state of
     * the graph's configured updater, which stays unused: configure the graph with {@code .updater(new Sgd())} to make
     * it empty.
     *
     * @param graph   the initialized graph; modified: its updater is replaced
     * @param builder the optimizer's builder, without tensors of its own
     * @param <O>     the optimizer
     * @return the attached optimizer
     * @throws IllegalArgumentException as {@link #attach(MultiLayerNetwork, Optimizer.Builder)}
     */
    public static <O extends Optimizer> Dl4jOptimizer<O> attach(ComputationGraph graph, Optimizer.Builder<?, ?, O> builder) {
        Objects.requireNonNull(graph, "graph is null");
        Objects.requireNonNull(builder, "builder is null");
        if (graph.params() == null || graph.getLayers() == null) {
            throw new IllegalArgumentException("graph: not initialized; call graph.init() before attach");
        }
        graph.initGradientsView();
        Builder<O> plan = new Builder<>(graph.params(), graph.getFlattenedGradients(),
                graph.getConfiguration().getDefaultConfiguration().isMiniBatch());
        for (org.deeplearning4j.nn.api.Layer layer : graph.getLayers()) {
            plan.layer(layer.conf().getLayer().getLayerName(), layer);
        }
        plan.build(builder);
        Dl4jOptimizer<O> opt = new Dl4jOptimizer<>(graph, plan);
        graph.setUpdater(new GraphUpdater(graph, opt));
        return opt;
    }

    /**
     * The optimizer: its tensors (one per DL4J parameter, named by DL4J's key), groups, g-SNRs and learning rates.
     *
     * @return the optimizer
     */
    public O optimizer() {
        return optimizer;
    }

    /**
     * The network or graph this optimizer trains.
     *
     * @return the model
     */
    public Model model() {
        return model;
    }

    /**
     * The DL4J parameter keys taken over by the optimizer, in the order of the flattened parameter array.
     *
     * @return the keys
     */
    public List<String> parameterNames() {
        List<String> names = new ArrayList<>();
        for (Param p : params) {
            names.add(p.name);
        }
        return Collections.unmodifiableList(names);
    }

    /**
     * One training iteration's update, called by DL4J's solver in place of its updater: minibatch division and
     * L1/L2 as DL4J would, the optimizer's step on ND4J's memory, then the owned gradients set to zero.
     *
     * @param iteration DL4J's iteration count
     * @param epoch     DL4J's epoch count
     * @param batchSize the minibatch size
     */
    void update(int iteration, int epoch, int batchSize) {
        if (closed) {
            throw new IllegalStateException("the sgdsai optimizer attached to this network was closed");
        }
        if (optimizer.nonFinitePolicy() != NonFinitePolicy.UNCHECKED && refuseForKeptGradient()) {
            return;
        }
        for (int i = 0; i < params.length; i++) { // the order of BaseMultiLayerUpdater: divide, then L1/L2
            Param p = params[i];
            if (miniBatch && p.divide) {
                p.grad.divi(batchSize);
            }
            for (Regularization r : p.regs) {
                r.apply(p.param, p.grad, tensors[i].group().lr(), iteration, epoch);
            }
        }
        // throws (parameters and state untouched) on a non-finite gradient under THROW
        if (!optimizer.step()) {
            // skipped under SKIP_STEP: DL4J's params.subi(gradient) follows, and it would still apply the gradient
            // slices of the parameters DL4J keeps (batch-norm running statistics: NaN after a NaN batch). Zeroing the
            // whole view makes that subtraction change nothing, every parameter included.
            allGradients.assign(0);
            lastSkip = optimizer.lastSkip();
            return;
        }
        for (INDArray run : zeroRuns) {
            run.assign(0);
        }
    }

    /**
     * Whether the step must be refused because the gradient of a parameter DL4J updates itself (a batch-norm running
     * statistic) is non-finite while every gradient the optimizer owns is finite (otherwise the optimizer refuses the
     * step itself, naming its own tensor). A finite input large enough to overflow a batch variance does this. Under
     * {@code THROW} it throws, before anything changed; under {@code SKIP_STEP} it zeroes the whole gradient view (so
     * DL4J's subtraction changes nothing) and records the skip.
     */
    private boolean refuseForKeptGradient() {
        for (int k = 0; k < keptGrads.length; k++) {
            int bad = firstNonFinite(keptGrads[k]);
            if (bad < 0) {
                continue;
            }
            for (Optimizer.Tensor t : tensors) { // rare path: only when a kept gradient is already bad
                if (!t.isFrozen() && firstNonFinite(t.grad()) >= 0) { // frozen tensors: not checked by the step
                    return false;
                }
            }
            float value = keptGrads[k].get(bad);
            if (optimizer.nonFinitePolicy() == NonFinitePolicy.THROW) {
                throw new NonFiniteGradientException(keptNames[k], bad, value);
            }
            allGradients.assign(0);
            keptSkips++;
            lastSkip = new Optimizer.Skip(optimizer.steps(), keptNames[k], bad, value);
            return true;
        }
        return false;
    }

    private static int firstNonFinite(FloatBuffer b) {
        for (int i = 0, n = b.capacity(); i < n; i++) {
            if (!Float.isFinite(b.get(i))) {
                return i;
            }
        }
        return -1;
    }

    private static int firstNonFinite(FloatSpan s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (!Float.isFinite(s.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Training iterations skipped under {@link NonFinitePolicy#SKIP_STEP}: the optimizer's skipped steps
     * ({@code optimizer().skippedSteps()}, which a checkpoint restores) plus those this adapter skipped since
     * {@code attach} because the gradient of a parameter DL4J updates itself (a batch-norm running statistic) was
     * non-finite while every gradient of the optimizer's was finite.
     *
     * @return the number of skipped iterations
     */
    public long skippedSteps() {
        return optimizer.skippedSteps() + keptSkips;
    }

    /**
     * The most recent iteration skipped under {@link NonFinitePolicy#SKIP_STEP} since {@code attach}, for either
     * reason of {@link #skippedSteps()}: the DL4J parameter (an optimizer tensor or a running statistic), the index
     * and the value of the first non-finite gradient.
     *
     * @return the last skip, or {@code null} if none
     */
    public Optimizer.Skip lastSkip() {
        return lastSkip;
    }

    /**
     * Writes the model with DL4J's {@link ModelSerializer} (without DL4J's own updater state, which is unused) and
     * this optimizer's checkpoint inside the same zip file, under {@link #STATE_KEY}. Restore with
     * {@code MultiLayerNetwork.load(file, false)} (or {@code ComputationGraph.load}), {@link #attach} with the same
     * builder, and {@link #load(File)}.
     *
     * @param file where to write (replaced)
     * @throws IOException if writing fails
     */
    public void save(File file) throws IOException {
        Objects.requireNonNull(file, "file is null");
        ensureOpen();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        optimizer.save(bytes);
        ModelSerializer.writeModel(model, file, false);
        ModelSerializer.addObjectToFile(file, STATE_KEY, bytes.toByteArray());
    }

    /**
     * Restores the optimizer's state from a model file written by {@link #save(File)}; the network's parameters are
     * restored by DL4J when it loads the file. Continuing then is bit-identical to never having stopped. Nothing is
     * changed if it throws.
     *
     * @param file a model file written by {@link #save(File)}
     * @throws IOException         if reading fails
     * @throws CheckpointException      if the optimizer state is corrupt or does not fit this optimizer
     * @throws IllegalArgumentException if the file holds no optimizer state
     */
    public void load(File file) throws IOException {
        Objects.requireNonNull(file, "file is null");
        ensureOpen();
        if (!ModelSerializer.listObjectsInFile(file).contains(STATE_KEY)) {
            throw new IllegalArgumentException("file: " + file + " holds no '" + STATE_KEY
                    + "' entry; it was not written by Dl4jOptimizer.save");
        }
        byte[] bytes = ModelSerializer.getObjectFromFile(file, STATE_KEY);
        optimizer.load(new ByteArrayInputStream(bytes));
    }

    /**
     * Closes the optimizer and gives the model back its DL4J updater (created afresh from its configuration at the
     * next {@code fit}). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        optimizer.close();
        if (model instanceof MultiLayerNetwork net && net.getUpdater(false) instanceof MultiLayerUpdater u && u.owner == this) {
            net.setUpdater(null);
        } else if (model instanceof ComputationGraph graph && graph.getUpdater(false) instanceof GraphUpdater u
                && u.owner == this) {
            graph.setUpdater(null);
        }
    }

    /** Whether two arrays are the same floats of the same memory (DL4J may hand over a reshaped view). */
    static boolean sameMemory(INDArray a, INDArray b) {
        return a == b || a != null && b != null && a.data().address() == b.data().address() && a.offset() == b.offset()
                && a.length() == b.length();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the optimizer is closed");
        }
    }

    /** Collects the parameters of a model, validating everything before anything is changed. */
    private static final class Builder<O extends Optimizer> {
        final INDArray flatParams;
        final INDArray flatGrads;
        final FloatBuffer paramMemory;
        final FloatBuffer gradMemory;
        final boolean miniBatch;
        final List<Param> params = new ArrayList<>();
        final List<long[]> spans = new ArrayList<>();
        final List<INDArray> zeroRuns = new ArrayList<>();
        final List<String> keptNames = new ArrayList<>();
        final List<FloatBuffer> keptGrads = new ArrayList<>();
        O optimizer;

        Builder(INDArray flatParams, INDArray flatGrads, boolean miniBatch) {
            if (flatParams.dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException("network parameters: data type " + flatParams.dataType()
                        + " is not supported; sgdsai works on FLOAT (configure .dataType(DataType.FLOAT))");
            }
            if (flatGrads == null || flatGrads.dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException("network gradients: no FLOAT gradient view");
            }
            this.flatParams = flatParams;
            this.flatGrads = flatGrads;
            this.paramMemory = memory("parameters", flatParams);
            this.gradMemory = memory("gradients", flatGrads);
            this.miniBatch = miniBatch;
        }

        /** The whole flattened array as a direct buffer over ND4J's memory (no copy). */
        private static FloatBuffer memory(String what, INDArray flat) {
            if (flat.offset() != 0 || !flat.isVector() && flat.length() > 1) {
                throw new IllegalArgumentException("network " + what + ": the flattened view is not a vector at offset 0");
            }
            FloatBuffer b = flat.data().asNioFloat();
            if (!b.isDirect() || b.capacity() < flat.length()) {
                throw new IllegalArgumentException("network " + what + ": ND4J did not expose its memory as a direct buffer");
            }
            return b;
        }

        void layer(String prefix, org.deeplearning4j.nn.api.Layer layer) {
            Trainable t = layer;
            TrainingConfig conf = t.getConfig();
            if (t.numParams() == 0) {
                return;
            }
            if (conf == null) {
                throw new IllegalArgumentException("layer '" + prefix + "': has parameters but no training configuration");
            }
            GradientNormalization gn = conf.getGradientNormalization();
            if (gn != null && gn != GradientNormalization.None) {
                throw new IllegalArgumentException("layer '" + prefix + "': DL4J gradient normalization " + gn
                        + " is not supported; remove it and use the optimizer's clipGradNorm(max)");
            }
            Map<String, INDArray> table = t.paramTable(false);
            INDArray layerGrads = t.getGradientsViewArray();
            INDArray layerParams = t.params();
            if (layerGrads == null || layerGrads.offset() != layerParams.offset()) {
                throw new IllegalArgumentException("layer '" + prefix + "': its gradient view does not mirror its parameter view");
            }
            for (Map.Entry<String, INDArray> e : table.entrySet()) {
                String name = prefix + "_" + e.getKey();
                INDArray p = e.getValue();
                if (p.data().address() != flatParams.data().address()) {
                    throw new IllegalArgumentException("parameter '" + name + "': not a view of the flattened parameters");
                }
                long offset = p.offset();
                long length = p.length();
                if (offset < 0 || offset + length > flatParams.length() || length > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("parameter '" + name + "': view [" + offset + ", " + (offset + length)
                            + ") lies outside the flattened parameters");
                }
                // 1-D views of both, so element i of one is element i of the other whatever DL4J's view order
                INDArray paramView = flatParams.reshape(flatParams.length()).get(NDArrayIndex.interval(offset, offset + length));
                INDArray gradView = flatGrads.reshape(flatGrads.length()).get(NDArrayIndex.interval(offset, offset + length));
                IUpdater updater = conf.getUpdaterByParam(e.getKey());
                if (updater instanceof NoOp) { // DL4J's own: batch-norm running statistics, frozen layers
                    if (!(layer instanceof FrozenLayer) && !(layer instanceof FrozenLayerWithBackprop)) {
                        keptNames.add(name); // DL4J subtracts their gradient slices: checked for non-finite values
                        keptGrads.add(gradMemory.slice((int) offset, (int) length));
                    }
                    continue;
                }
                List<Regularization> regs = new ArrayList<>();
                List<Regularization> configured = conf.getRegularizationByParam(e.getKey());
                if (configured != null) {
                    for (Regularization r : configured) {
                        if (r.applyStep() != Regularization.ApplyStep.BEFORE_UPDATER) {
                            throw new IllegalArgumentException("parameter '" + name + "': DL4J regularization "
                                    + r.getClass().getSimpleName() + " is applied after the updater and is not supported;"
                                    + " use the optimizer's (decoupled) weightDecay instead");
                        }
                        regs.add(r);
                    }
                }
                params.add(new Param(name, paramView, gradView, t.updaterDivideByMinibatch(e.getKey()),
                        regs.toArray(new Regularization[0])));
                spans.add(new long[] {offset, length});
            }
        }

        void build(Optimizer.Builder<?, ?, O> builder) {
            if (params.isEmpty()) {
                throw new IllegalArgumentException("network: no trainable parameters to optimize");
            }
            // memory order (DL4J keeps e.g. a convolution's bias before its weights)
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) {
                order.add(i);
            }
            order.sort((x, y) -> Long.compare(spans.get(x)[0], spans.get(y)[0]));
            List<Param> sortedParams = new ArrayList<>();
            List<long[]> sortedSpans = new ArrayList<>();
            for (int i : order) {
                sortedParams.add(params.get(i));
                sortedSpans.add(spans.get(i));
            }
            params.clear();
            params.addAll(sortedParams);
            spans.clear();
            spans.addAll(sortedSpans);
            for (int i = 0; i < params.size(); i++) {
                Param p = params.get(i);
                int off = (int) spans.get(i)[0];
                int len = (int) spans.get(i)[1];
                builder.add(p.name, paramMemory.slice(off, len), gradMemory.slice(off, len));
            }
            optimizer = builder.build();
            // contiguous runs of owned gradients, zeroed after each step
            long start = -1;
            long end = -1;
            INDArray flat = flatGrads.reshape(flatGrads.length());
            for (long[] s : spans) {
                if (s[0] == end) {
                    end += s[1];
                } else {
                    if (start >= 0) {
                        zeroRuns.add(flat.get(NDArrayIndex.interval(start, end)));
                    }
                    start = s[0];
                    end = s[0] + s[1];
                }
            }
            zeroRuns.add(flat.get(NDArrayIndex.interval(start, end)));
        }
    }
}
