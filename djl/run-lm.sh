#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the language-model experiment: djl/run-lm.sh full djl/results/lm   (or: tiny OUTDIR;
# one OUTDIR SGDSAI|ADAMW|DJL_ADAMW LR SEED STEPS), or the optimizer-step benchmark:
# djl/run-lm.sh bench djl/results/step-times.md [repeats]. Builds the module, copies its classes and the
# dependency class path aside (so rebuilding during a run cannot change it), then runs java with one
# PyTorch thread, offline (the native library comes from the pytorch-native-cpu jar).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME
./mvnw -q -B -pl djl -am compile dependency:build-classpath -Dmdep.includeScope=runtime -Dmdep.outputFile="$PWD/djl/target/lm-deps.txt"
run=djl/target/lm-run
rm -rf "$run" && mkdir -p "$run"
cp -r djl/target/classes "$run/djl" && cp -r core/target/classes "$run/core" && cp -r backend-cpu/target/classes "$run/cpu"
deps=$(tr ':' '\n' < djl/target/lm-deps.txt | grep -v '/target/classes$' | paste -sd: -)
export OMP_NUM_THREADS=1
main=io.github.sgdsai.djl.lm.CharLm
if [ "${1:-}" = bench ]; then main=io.github.sgdsai.djl.lm.StepBench; shift; fi
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 -Dai.djl.pytorch.num_interop_threads=1 \
  -Djava.awt.headless=true -cp "$run/djl:$run/core:$run/cpu:$deps" "$main" "$@"
