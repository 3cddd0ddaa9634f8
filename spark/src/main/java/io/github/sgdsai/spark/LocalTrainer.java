// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.spark;

import io.github.sgdsai.NonFiniteGradientException;
import io.github.sgdsai.Optimizer;
import io.github.sgdsai.SgdSai;

import java.io.Serializable;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The single-machine twin of {@link SparkTrainer} (made by {@link SparkTrainer.Builder#buildLocal}): the same batch
 * plan, one gradient function call per micro-batch, the micro-batches' gradients added in micro-batch order into the
 * gradient arrays of one plain {@link SgdSai} over the whole tensors, which then steps. The Spark trainer gives the
 * same parameters, bit for bit; this class is what "identical to one machine" means, and the tests' reference.
 *
 * <p>Not thread-safe. {@link #close()} releases the optimizer's backend.
 *
 * @param <T> the type of an example
 */
public final class LocalTrainer<T> implements AutoCloseable {
    private final String[] names;
    private final float[][] params;
    private final float[][] grads;
    private final int[] lengths;
    private final BatchPlan plan;
    private final List<T> rows;
    private final GradientFunction<T> fn;
    private final Optimizer opt;
    private final Parameters view;
    private long epoch;
    private int stepInEpoch;
    private int[] order;
    private long orderFor = -1;
    private double lastLoss = Double.NaN;

    LocalTrainer(String[] names, float[][] params, int[][] shapes, Serializable config, BatchPlan plan, String backend,
                 double maxGradNorm, List<T> rows, GradientFunction<T> fn) {
        this.names = names;
        this.params = params;
        this.plan = plan;
        this.rows = List.copyOf(rows);
        this.fn = fn;
        this.grads = new float[names.length][];
        this.lengths = new int[names.length];
        for (int t = 0; t < names.length; t++) {
            lengths[t] = params[t].length;
        }
        Optimizer.Builder<?, ?, ?> b = SparkTrainer.Builder.configured(config);
        b.threads(1);
        if (backend != null) {
            b.backend(backend);
        }
        if (!Double.isNaN(maxGradNorm)) {
            b.clipGradNorm(maxGradNorm);
        }
        for (int t = 0; t < names.length; t++) {
            grads[t] = new float[params[t].length];
            if (shapes[t] != null) {
                b.add(names[t], params[t], grads[t], shapes[t]);
            } else {
                b.add(names[t], params[t], grads[t]);
            }
        }
        this.opt = b.build();
        this.view = new Parameters(names, params);
    }

    /**
     * Runs one step on the next batch of the plan.
     *
     * @return whether it was applied (see {@link SgdSai#step()}); the batch is consumed either way unless it throws
     */
    public boolean step() {
        if (orderFor != epoch) {
            order = plan.order(epoch);
            orderFor = epoch;
        }
        int s = stepInEpoch;
        int batch = plan.batchRows(s);
        for (float[] g : grads) {
            Arrays.fill(g, 0f);
        }
        double loss = 0;
        for (int m = 0; m < plan.microBatches(s); m++) {
            int from = s * plan.batchSize() + m * plan.microBatchSize();
            int to = Math.min(s * plan.batchSize() + batch, from + plan.microBatchSize());
            List<T> micro = new ArrayList<>(to - from);
            for (int p = from; p < to; p++) {
                micro.add(rows.get(order[p]));
            }
            Gradient g = Shard.compute(fn, view, micro, batch, epoch, s, m);
            String error = Shard.invalid(g, names, lengths, epoch, s, m);
            if (error != null) {
                throw new IllegalArgumentException(error);
            }
            for (int t = 0; t < names.length; t++) {
                float[] x = g.sums()[t];
                float[] acc = grads[t];
                for (int i = 0; i < acc.length; i++) {
                    acc[i] += x[i];
                }
            }
            loss += g.loss();
        }
        boolean applied;
        try {
            applied = opt.step();
        } catch (NonFiniteGradientException e) {
            throw e.withContext("epoch " + epoch + ", step " + s); // as SparkTrainer reports it
        }
        lastLoss = loss;
        if (++stepInEpoch == plan.stepsPerEpoch()) {
            stepInEpoch = 0;
            epoch++;
        }
        return applied;
    }

    /**
     * Runs {@code n} steps.
     *
     * @param n number of steps
     * @return the mean of their batch losses (NaN if {@code n} is 0)
     */
    public double steps(int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            step();
            sum += lastLoss;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /**
     * Runs the steps left in the current epoch.
     *
     * @return the mean of their batch losses
     */
    public double epoch() {
        return steps(plan.stepsPerEpoch() - stepInEpoch);
    }

    /**
     * The loss of the last step's batch.
     *
     * @return the loss of the last step's batch
     */
    public double lastLoss() {
        return lastLoss;
    }

    /**
     * A copy of the current values of tensor {@code name}.
     *
     * @param name the tensor's name
     * @return its values
     */
    public float[] parameters(String name) {
        return params[Arrays.asList(names).indexOf(name)].clone();
    }

    /**
     * Copies of every tensor's current values, by name, in order.
     *
     * @return copies of every tensor's current values, by name, in order
     */
    public Map<String, float[]> parameters() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int t = 0; t < names.length; t++) {
            m.put(names[t], params[t].clone());
        }
        return m;
    }

    /**
     * The optimizer ({@link SgdSai} or {@code AdamW}: for its g-SNRs, state size, backend).
     *
     * @return the optimizer ({@link SgdSai} or {@code AdamW})
     */
    public Optimizer optimizer() {
        return opt;
    }

    @Override
    public void close() {
        opt.close();
    }
}
