#!/usr/bin/env bash
# Writes the start-up cache for the agent jar, which the launcher (agent/lameduck) then uses:
#   - on a Java 25+ runtime, an ahead-of-time cache (JEP 483/514: classes loaded and linked, plus method profiles)
#     JAR -> JAR without .jar + .aot;
#   - on older runtimes, a class-data-sharing archive, JAR -> .jsa: a static one from the class list
#     cds-classes.lst next to this script (scripts/cds-classlist.sh records it against a real API server: the
#     Kubernetes client, TLS and model classes a training run here cannot load), else a dynamic one.
# Either roughly halves the CPU to READY (see docs/performance.md, "Footprint"). Training run (the AOT cache, and
# the archive without a list): start the agent on a loopback port with the flags of jvm.options (the cache is only
# used with the same flags), wait until READY, exercise /status, /metrics and a drain (so those classes are in it too), then
# SIGTERM; the JVM writes the cache at exit.
# Usage: agent/cds-archive.sh [JAR]   (default: target/lameduck.jar); prints the file written.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="${1:-$here/../target/lameduck.jar}"
port="${LAMEDUCK_CDS_PORT:-17978}"
mapfile -t flags < <(grep -v '^\s*#' "$here/jvm.options" | grep -v '^\s*$')
major=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
if [ "${major%%.*}" -ge 25 ]; then
  cache="${jar%.jar}.aot"
  output=("-XX:AOTCacheOutput=$cache" "-Xlog:aot=error" "-Xlog:cds=error")
else
  cache="${jar%.jar}.jsa"
  output=("-XX:ArchiveClassesAtExit=$cache")
fi
classlist="$here/cds-classes.lst"
if [ "${major%%.*}" -lt 25 ] && [ -f "$classlist" ]; then
  rm -f "$cache"
  # Classes of the list that are not in this runtime or jar (a jlinked runtime lacks modules) are skipped.
  java "${flags[@]}" -Xshare:dump -XX:SharedClassListFile="$classlist" -XX:SharedArchiveFile="$cache" -cp "$jar" \
    >"$cache.log" 2>&1 || { tail -n 20 "$cache.log" >&2; echo "cds-archive: the static dump failed" >&2; exit 1; }
  rm -f "$cache.log"
  echo "$cache"
  exit 0
fi
client() { java -Xshare:auto -XX:TieredStopAtLevel=1 -jar "$jar" "$@" --agent "http://127.0.0.1:$port" >/dev/null 2>&1; }

rm -f "${jar%.jar}.aot" "${jar%.jar}.jsa"
LAMEDUCK_SERVER_HOST=127.0.0.1 LAMEDUCK_SERVER_PORT="$port" LAMEDUCK_DRAIN_PROPAGATION_DELAY=0s KUBECONFIG= \
  java "${flags[@]}" "${output[@]}" -jar "$jar" serve >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do client status && break; sleep 0.2; done
client status || { kill "$pid" 2>/dev/null; echo "cds-archive: the training agent did not start" >&2; exit 1; }
client prestop
kill -TERM "$pid"
wait "$pid"
[ -s "$cache" ] || { echo "cds-archive: no cache written" >&2; exit 1; }
echo "$cache"
