// SPDX-License-Identifier: Apache-2.0
/**
 * JMH benchmarks of the sgdsai backends against each other and against memory-bandwidth baselines, and the
 * report that turns JMH's JSON into tables and a plot. Run from the shaded {@code target/benchmarks.jar}.
 */
open module io.github.sgdsai.jmh {
    requires io.github.sgdsai;
    requires io.github.sgdsai.cpu;
    requires jdk.incubator.vector;
    requires jmh.core;
    requires com.google.gson;
    requires org.knowm.xchart;
    requires java.desktop;
    requires java.management;
}
