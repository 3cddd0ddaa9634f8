// SPDX-License-Identifier: Apache-2.0
package io.github.sgdsai.jmh;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Runs {@link Gpt2StepBenchmark} and {@link Gpt2BaselineBenchmark} interleaved, so that each optimizer is measured
 * right after its same-traffic baseline (same model, same threads) on a machine whose load changes over minutes:
 * for each model, thread count and traffic kind, the baseline, then the optimizers with that traffic. Every run is a
 * fork of its own, so one model's arrays are alive at a time. Takes JMH's command-line options ({@code -wi}, {@code -i},
 * {@code -w}, {@code -r}, {@code -f}, {@code -jvmArgsAppend}, ...); {@code -p model=}, {@code -p threads=},
 * {@code -p optimizer=} and {@code -p check=} choose what runs (default: every value); {@code -rff FILE} is where
 * all results go, as one JMH JSON file, rewritten after every run. Do not name benchmarks or pass {@code -tu}.
 *
 * <p>{@code java -cp jmh/target/benchmarks.jar io.github.sgdsai.jmh.Gpt2Run -wi 1 -i 3 -f 1 -rff gpt2.json}
 */
public final class Gpt2Run {
    private Gpt2Run() {
    }

    /** Entry point; see the class documentation. */
    public static void main(String[] args) throws CommandLineOptionException, RunnerException, IOException {
        CommandLineOptions cmd = new CommandLineOptions(args);
        List<String> models = values(cmd, "model", "small", "medium", "large");
        List<String> threads = values(cmd, "threads", "1", "2");
        List<String> optimizers = values(cmd, "optimizer", Gpt2Model.OPTIMIZERS.toArray(new String[0]));
        List<String> checks = values(cmd, "check", "checked");
        String out = cmd.getResult().orElse("gpt2.json");
        Path part = Files.createTempFile("gpt2-run", ".json");
        List<RunResult> all = new ArrayList<>();
        for (String model : models) {
            for (String th : threads) {
                for (String check : checks) {
                    Set<String> baselines = new HashSet<>();
                    for (String traffic : List.of("sgd", "adamw", "adam-mini")) {
                        for (String opt : optimizers) {
                            if (!Gpt2Shapes.trafficOf(opt).equals(traffic)) {
                                continue;
                            }
                            if (baselines.add(traffic)) {
                                all.addAll(run(cmd, part, Gpt2BaselineBenchmark.class, model, th, check, "traffic", traffic));
                                write(all, out);
                            }
                            all.addAll(run(cmd, part, Gpt2StepBenchmark.class, model, th, check, "optimizer", opt));
                            write(all, out);
                        }
                    }
                }
            }
        }
        Files.deleteIfExists(part);
        System.out.println("wrote " + all.size() + " results to " + out);
    }

    private static List<String> values(CommandLineOptions cmd, String key, String... defaults) {
        return cmd.getParameter(key).hasValue() ? List.copyOf(cmd.getParameter(key).get()) : List.of(defaults);
    }

    private static Collection<RunResult> run(CommandLineOptions cmd, Path part, Class<?> bench, String model, String threads,
                                             String check, String key, String value) throws RunnerException {
        Options o = new OptionsBuilder().parent(cmd).include("^" + Pattern.quote(bench.getName()) + "\\.step$")
                .param("model", model).param("threads", threads).param("check", check).param(key, value)
                .resultFormat(ResultFormatType.JSON).result(part.toString()).shouldFailOnError(true).build();
        return new Runner(o).run();
    }

    private static void write(List<RunResult> results, String file) {
        ResultFormatFactory.getInstance(ResultFormatType.JSON, file).writeOut(results);
    }
}
