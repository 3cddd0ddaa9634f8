#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the language-model experiment: experiments/char-lm/run-lm.sh full experiments/char-lm/results/lm
# (or: tiny OUTDIR; one OUTDIR SGDSAI|ADAMW|DJL_ADAMW LR SEED STEPS), or the optimizer-step benchmark:
# experiments/char-lm/run-lm.sh bench experiments/char-lm/results/step-times.md [repeats]. Builds the module,
# copies its classes and the dependency class path aside (so rebuilding during a run cannot change it), then runs
# java with one PyTorch thread, offline (the native library comes from the pytorch-native-cpu jar). The JDK is the
# JDK 25 that ./mvnw uses (.mvn/jdk.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
java_home=$(.mvn/jdk.sh)
m=experiments/char-lm
./mvnw -q -B -pl "$m" -am compile dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$PWD/$m/target/lm-deps.txt"
run=$m/target/lm-run
rm -rf "$run" && mkdir -p "$run"
cp -r $m/target/classes "$run/lm" && cp -r djl/target/classes "$run/djl" && cp -r core/target/classes "$run/core" \
  && cp -r backend-cpu/target/classes "$run/cpu"
deps=$(tr ':' '\n' < $m/target/lm-deps.txt | grep -v '/target/classes$' | paste -sd: -)
export OMP_NUM_THREADS=1
main=io.github.sgdsai.experiments.lm.CharLm
if [ "${1:-}" = bench ]; then main=io.github.sgdsai.experiments.lm.StepBench; shift; fi
exec "$java_home/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
  -Djava.awt.headless=true -cp "$run/lm:$run/djl:$run/core:$run/cpu:$deps" "$main" "$@"
