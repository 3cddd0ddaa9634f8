// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of daemon threads, owned by one backend, that run the items of a {@link Job} together with the
 * calling thread. Items are claimed from a shared ticket, so who runs an item varies but what each item
 * computes does not: callers make results independent of the thread count. Nothing is allocated per run.
 */
final class WorkerPool implements AutoCloseable {

    /** Work split into independent items {@code 0 .. items-1}. */
    interface Job {
        void run(int item);
    }

    private final Thread[] workers;
    /** (run number << 32) | next item: a claim from an older run can never take an item of a newer one. */
    private final AtomicLong ticket = new AtomicLong();
    private final AtomicInteger done = new AtomicInteger();
    private volatile int run;
    private volatile boolean closed;
    private volatile Job job;
    private volatile int items;

    /** A pool for {@code threads} threads in all: the caller plus {@code threads - 1} workers. */
    WorkerPool(int threads, String name) {
        workers = new Thread[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            Thread t = new Thread(this::workerLoop, name + "-" + (w + 1));
            t.setDaemon(true);
            try {
                t.start();
            } catch (OutOfMemoryError | IllegalStateException e) {
                // The system refused a thread: stop the ones started, and say why.
                closed = true;
                for (int k = 0; k < w; k++) {
                    LockSupport.unpark(workers[k]);
                }
                throw new IllegalStateException("could not start backend thread " + (w + 2) + " of " + threads + ": " + e
                        + "; ask for fewer threads (builder.threads(n))", e);
            }
            workers[w] = t;
        }
    }

    /** Threads taking part in a run, the caller included. */
    int threads() {
        return workers.length + 1;
    }

    /** Runs every item of {@code job} and returns when all are done. */
    void run(Job job, int items) {
        if (workers.length == 0 || items <= 1) {
            for (int i = 0; i < items; i++) {
                job.run(i);
            }
            return;
        }
        int r = run + 1;
        // The ticket moves to the new run before job and items change, so a worker still holding the old run
        // number can claim nothing, whatever job or item count it reads.
        done.set(0);
        ticket.set((long) r << 32);
        this.items = items;
        this.job = job;
        run = r;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        work(r, job, items);
        while (done.get() < items) {
            Thread.onSpinWait();
        }
    }

    private void work(int r, Job j, int n) {
        while (true) {
            long t = ticket.get();
            int item = (int) t;
            if ((int) (t >>> 32) != r || item >= n) {
                return;
            }
            if (ticket.compareAndSet(t, t + 1)) {
                j.run(item);
                done.incrementAndGet();
            }
        }
    }

    private void workerLoop() {
        int seen = 0;
        while (!closed) {
            int r = run;
            if (r != seen) {
                seen = r;
                work(r, job, items);
            } else {
                LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        for (Thread w : workers) {
            try {
                w.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
