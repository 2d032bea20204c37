#!/usr/bin/env bash
# Benchmark: the agent's time to READY, CPU to READY and idle RSS, median of N runs (default 5), standalone (no
# Kubernetes API) with the JVM flags from agent/jvm.options: on the host's Java 17 without and with the
# class-data-sharing archive (what the image ships), and on Java 25 (from $LAMEDUCK_JDK25, default Temurin 25 under
# /usr/lib/jvm) without and with the ahead-of-time cache, as agent/cds-archive.sh makes them. Time to READY =
# process start until GET /readyz first answers 200 (polled every 10 ms); CPU to READY = user + system time of the
# process at that moment (/proc/PID/stat); idle RSS = VmRSS 3 s after READY, with no traffic, and its anonymous part
# (RssAnon: what each agent pays alone; the rest are file pages, such as the read-only part of the start-up cache,
# that the agents on a node share). Prints one line per run, the medians, and the machine it ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
case "$runs" in ''|*[!0-9]*) echo "usage: scripts/footprint.sh [RUNS (1-50)]" >&2; exit 3 ;; esac
[ "$runs" -ge 1 ] && [ "$runs" -le 50 ] || { echo "usage: scripts/footprint.sh [RUNS (1-50)]" >&2; exit 3; }
JDK25="${LAMEDUCK_JDK25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[ -f target/lameduck.jar ] || scripts/mvn -q -DskipTests package
port=17979
ticks=$(getconf CLK_TCK)
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {
  local label=$1 ready_ms=() cpu_ms=() rss_kb=() anon_kb=()
  for i in $(seq 1 "$runs"); do
    local start pid t cpu rss anon
    start=$(date +%s%N)
    LAMEDUCK_SERVER_HOST=127.0.0.1 LAMEDUCK_SERVER_PORT=$port LAMEDUCK_KUBE_MODE=disabled \
      agent/lameduck serve --config agent/lameduck.yaml >/dev/null 2>&1 &
    pid=$!
    until curl -sf -o /dev/null "http://127.0.0.1:$port/readyz"; do sleep 0.01; done
    t=$(( ($(date +%s%N) - start) / 1000000 ))
    cpu=$(awk -v hz="$ticks" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat")
    sleep 3
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    anon=$(awk '/RssAnon/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" || true
    echo "$label run $i: ready after ${t} ms, ${cpu} ms CPU, idle RSS $((rss / 1024)) MiB (anonymous $((anon / 1024)) MiB)"
    ready_ms+=("$t"); cpu_ms+=("$cpu"); rss_kb+=("$rss"); anon_kb+=("$anon")
  done
  echo "$label: median of $runs: time to READY $(median "${ready_ms[@]}") ms, CPU to READY $(median "${cpu_ms[@]}") ms, idle RSS $(( $(median "${rss_kb[@]}") / 1024 )) MiB, anonymous $(( $(median "${anon_kb[@]}") / 1024 )) MiB"
}

runtime() { # label, then the measurements on the java found first on PATH
  local label=$1
  rm -f target/lameduck.jsa target/lameduck.aot
  measure "$label, no start-up cache"
  agent/cds-archive.sh target/lameduck.jar >/dev/null
  measure "$label, with $(ls target/lameduck.aot target/lameduck.jsa 2>/dev/null | sed 's/.*\.//') cache"
  echo "$label: $(java -version 2>&1 | head -1)"
}

runtime "Java 17"
if [ -x "$JDK25/bin/java" ]; then
  PATH="$JDK25/bin:$PATH" runtime "Java 25"
else
  echo "no Java 25 at $JDK25 (set LAMEDUCK_JDK25): skipped"
fi
rm -f target/lameduck.jsa target/lameduck.aot
echo "JVM flags: $(grep -v '^\s*#' agent/jvm.options | tr '\n' ' ')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)}' /proc/meminfo) GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
