#!/usr/bin/env bash
# Writes a class-data-sharing archive for the agent jar (JAR -> JAR without .jar + .jsa), which the
# launcher then uses: it roughly halves the time to READY (see README, "Footprint").
# Training run: start the agent on a loopback port, wait until READY, exercise /status, /metrics and a
# drain (so those classes are archived too), then SIGTERM; the JVM writes the archive at exit.
# Usage: agent/cds-archive.sh [JAR]   (default: target/lameduck.jar)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="${1:-$here/../target/lameduck.jar}"
archive="${jar%.jar}.jsa"
port="${LAMEDUCK_CDS_PORT:-17978}"
mapfile -t flags < <(grep -v '^\s*#' "$here/jvm.options" | grep -v '^\s*$')
client() { java -Xshare:auto -XX:TieredStopAtLevel=1 -jar "$jar" "$@" --agent "http://127.0.0.1:$port" >/dev/null 2>&1; }

rm -f "$archive"
LAMEDUCK_SERVER_HOST=127.0.0.1 LAMEDUCK_SERVER_PORT="$port" LAMEDUCK_DRAIN_PROPAGATION_DELAY=0s KUBECONFIG= \
  java "${flags[@]}" -XX:ArchiveClassesAtExit="$archive" -jar "$jar" serve >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do client status && break; sleep 0.2; done
client status || { kill "$pid" 2>/dev/null; echo "cds-archive: the training agent did not start" >&2; exit 1; }
client prestop
kill -TERM "$pid"
wait "$pid"
[ -s "$archive" ] || { echo "cds-archive: no archive written" >&2; exit 1; }
echo "$archive"
