#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Prints the home of a JDK 25 (or newer) on this machine, for ./mvnw to run Maven on: the compiler, the tests,
# javadoc and the example all run on the JVM that runs Maven. Looks, in order, at JAVA_HOME, JAVA25_HOME, the
# javac on PATH, and the usual install folders (/usr/lib/jvm, /usr/java, /opt/java, /usr/jdk, macOS
# JavaVirtualMachines, ~/.sdkman, ~/.jdks, ~/.m2/jdks, ~/.gradle/jdks, ~/.asdf, ~/.jbang), preferring a JDK 25
# over a newer one. Without one it prints one line saying so and exits 1.
#   SGDSAI_JDK_SEARCH=dir1:dir2  replaces the install folders (and the PATH lookup), e.g. to test the error.
# Usage: .mvn/jdk.sh            (prints the JDK home)
need=25

major() { # $1: a JDK home; prints its feature version (from its release file) or fails
  [ -n "$1" ] && [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] && [ -f "$1/release" ] || return 1
  v=$(sed -n 's/^JAVA_VERSION="\{0,1\}\([0-9][0-9]*\).*/\1/p' "$1/release" | head -n 1)
  [ -n "$v" ] || return 1
  echo "$v"
}
full_version() { sed -n 's/^JAVA_VERSION="\{0,1\}\([^"]*\).*/\1/p' "$1/release" 2>/dev/null | head -n 1; }

# the JDK the user asked for, if it will do
for d in "${JAVA_HOME-}" "${JAVA25_HOME-}"; do
  m=$(major "$d") && [ "$m" -ge "$need" ] && { echo "$d"; exit 0; }
done

# the javac on PATH (its JDK home), then the install folders
path_jdk=
if javac_bin=$(command -v javac 2>/dev/null); then
  javac_bin=$(readlink -f "$javac_bin" 2>/dev/null || echo "$javac_bin")
  path_jdk=$(dirname "$(dirname "$javac_bin")")
fi
first=$path_jdk
if [ -n "${SGDSAI_JDK_SEARCH-}" ]; then
  search=$SGDSAI_JDK_SEARCH first=
else
  search="/usr/lib/jvm:/usr/java:/opt/java:/usr/jdk:/Library/Java/JavaVirtualMachines:$HOME/Library/Java/JavaVirtualMachines"
  search="$search:$HOME/.sdkman/candidates/java:$HOME/.jdks:$HOME/.m2/jdks:$HOME/.gradle/jdks"
  search="$search:$HOME/.asdf/installs/java:$HOME/.jbang/cache/jdks"
fi
newer=
for d in $first $(IFS=:; for p in $search; do [ -d "$p" ] && ls -d "$p"/*/ "$p"/*/Contents/Home/ 2>/dev/null; done); do
  d=${d%/}
  m=$(major "$d") || continue
  [ "$m" -eq "$need" ] && { echo "$d"; exit 0; }
  [ "$m" -gt "$need" ] && [ -z "$newer" ] && newer=$d
done
[ -n "$newer" ] && { echo "$newer"; exit 0; }

# none: say what there is
if [ -n "${JAVA_HOME-}" ]; then
  found="$(full_version "$JAVA_HOME") at $JAVA_HOME (JAVA_HOME)"
elif [ -n "$path_jdk" ]; then
  found="$(full_version "$path_jdk") at $path_jdk (PATH)"
elif java_bin=$(command -v java 2>/dev/null); then
  found="a java at $java_bin (PATH)"
else
  found="no Java at all"
fi
echo "JDK $need needed; found $found and no JDK $need in JAVA${need}_HOME or the usual install folders: install one (e.g. Temurin $need) or set JAVA_HOME to it" >&2
exit 1
