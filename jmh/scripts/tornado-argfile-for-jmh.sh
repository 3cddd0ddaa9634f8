#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Writes, to stdout, the TornadoVM SDK's tornado-argfile with a module path that leaves out the SDK's own
# copies of JMH (1.29) and jopt-simple: on the module path they are resolved as automatic modules and
# shadow the JMH 1.37 inside jmh/target/benchmarks.jar. Usage:
#   jmh/scripts/tornado-argfile-for-jmh.sh > /tmp/tornado-jmh-argfile
#   java @/tmp/tornado-jmh-argfile -jar jmh/target/benchmarks.jar ... -p impl=tornado
set -euo pipefail
sdk=${TORNADOVM_HOME:?set TORNADOVM_HOME to a TornadoVM SDK}
jars=$(ls "$sdk"/share/java/tornado/*.jar | grep -vE '/(jmh-core|jopt-simple|junit|hamcrest-core|tornado-benchmarks|tornado-unittests)-[^/]*\.jar$' | paste -sd: -)
sed -E "s#^--module-path .*#--module-path ${jars}#" "$sdk/tornado-argfile"
