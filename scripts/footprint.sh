#!/usr/bin/env bash
# Benchmark: the agent's time to READY and idle RSS, median of N runs (default 5), with the JVM flags
# from agent/jvm.options, first without and then with the class-data-sharing archive that
# agent/cds-archive.sh makes (the image ships one). Time to READY = process start until GET /readyz
# first answers 200 (polled every 10 ms); idle RSS = VmRSS of the java process 3 s after READY, with
# no traffic. Prints one line per run, the medians, and the machine it ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
[ -f target/lameduck.jar ] || scripts/mvn -q -DskipTests package
port=17979
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {
  local label=$1 ready_ms=() rss_kb=()
  for i in $(seq 1 "$runs"); do
    local start pid t rss
    start=$(date +%s%N)
    LAMEDUCK_SERVER_HOST=127.0.0.1 LAMEDUCK_SERVER_PORT=$port agent/lameduck serve --config agent/lameduck.yaml >/dev/null 2>&1 &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.01; done
    t=$(( ($(date +%s%N) - start) / 1000000 ))
    sleep 3
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    echo "$label run $i: ready after ${t} ms, idle RSS $((rss / 1024)) MiB"
    ready_ms+=("$t"); rss_kb+=("$rss")
  done
  echo "$label: median of $runs: time to READY $(median "${ready_ms[@]}") ms, idle RSS $(( $(median "${rss_kb[@]}") / 1024 )) MiB"
}

rm -f target/lameduck.jsa
measure "no CDS archive"
agent/cds-archive.sh target/lameduck.jar >/dev/null
measure "with CDS archive"
echo "JVM flags: $(grep -v '^\s*#' agent/jvm.options | tr '\n' ' ')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)}' /proc/meminfo) GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
