#!/usr/bin/env bash
# Benchmarks: rollouts under load on the real single-node cluster (scripts/cluster.sh), each way of
# terminating a pod side by side (no preStop; preStop sleep 5/10/15/20; Lameduck per withdrawal strategy and as
# a native sidecar), on a fast and a slow data plane, through each consumer of the endpoints: the Service's
# ClusterIP (kube-proxy), and an L7 proxy with pooled keep-alive connections to the pod IPs (HAProxy Ingress,
# scripts/l7.sh) as shipped and lagging (endpoint changes applied 10 s late). Load: GET with and without
# keep-alive, and POST with keep-alive (never resent by the client). Writes BENCHMARKS.md, benchmarks.png and
# benchmarks.json (into docs/benchmarks by default). All of it (2 planes x 3 consumers x 9 scenarios) takes
# about three hours; choose with --planes/--consumers/--scenarios. `--quick` is a smoke run of a few minutes
# (four scenarios through the ClusterIP, Lameduck leaving at the trigger among them, and one through the L7 proxy, one rollout each, into
# target/bench-quick) that the README test command runs. After the scenarios (not with --quick), the chart's example
# is left alone on the quiet node and its idle agents measured (--idle SECONDS, default 60, from 2 min after Ready).
#
# Usage: scripts/bench.sh [--quick] [--rollouts N] [--planes fast,slow] [--consumers clusterip,l7,l7-lagging,l7-lagging-noretry]
#                         [--scenarios a,b] [--parallel N] [--idle SECONDS] ...
#        scripts/bench.sh --report-only DIR   (BENCHMARKS.md and the chart again from DIR/benchmarks.json: no measurement)
#        scripts/bench.sh --help      (every option, with its bounds and default)
# Exit: 0 measured, and no Lameduck scenario failed a request; 1 a scenario could not be measured or a
# Lameduck scenario failed requests (the report is written all the same); 3 bad arguments.
# Needs root (the cluster) and what scripts/test.sh installs; builds what is missing: the Kubernetes
# binaries, helm, vegeta, the images (and target/lameduck.jar for the agent image), a Python venv with
# matplotlib for the chart (PyPI), and for the L7 consumers haproxy-ingress (Go module proxy) and haproxy's
# Debian packages (unpacked, not installed: scripts/l7.sh), all cached under ~/.cache/lameduck.
set -euo pipefail
cd "$(dirname "$0")/.."
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" bench.sh
VENV="$CACHE/bench-venv"
MATPLOTLIB=matplotlib==3.11.2

if ! "$VENV/bin/python" -c "import matplotlib" 2>/dev/null || [ "$(cat "$VENV/.requirement" 2>/dev/null)" != "$MATPLOTLIB" ]; then
  log "creating $VENV with $MATPLOTLIB"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MATPLOTLIB"
  echo "$MATPLOTLIB" > "$VENV/.requirement"
fi
for arg in "$@"; do
  case "$arg" in
    -h|--help) exec "$VENV/bin/python" scripts/bench/bench.py --help ;;
    --report-only|--report-only=*) exec "$VENV/bin/python" scripts/bench/bench.py "$@" ;;   # no cluster, no build
  esac
done
BENCH_VALIDATE_ONLY=1 "$VENV/bin/python" scripts/bench/bench.py "$@"   # bad arguments exit 3 before any build
[ "$(id -u)" = 0 ] || { log "needs root: the benchmark runs a real node (network namespaces, mounts, cgroups)"; exit 3; }
BIN_DIR="$(scripts/install/kube-binaries.sh | tail -n 1)"
export BENCH_KUBECTL="$BIN_DIR/kubectl"
export BENCH_HELM="$(scripts/install/helm.sh | tail -n 1)"
export BENCH_VEGETA="$(scripts/install/vegeta.sh | tail -n 1)"
if [ ! -f target/lameduck.jar ] || [ ! -f target/lameduck-sockdiag ] || [ -n "$(find src/main pom.xml -newer target/lameduck.jar -print -quit)" ]; then
  log "packaging target/lameduck.jar for the agent image"
  scripts/mvn -q -DskipTests package >&2
fi
BENCH_IMAGES="$(scripts/images.sh | grep '^IMAGE=')"
export BENCH_IMAGES
# One node per machine: wait for a test run (NodeCluster) or another benchmark that holds it.
exec 9>/tmp/lameduck-cluster.lock
flock -w 1800 9 || { echo "bench: another test run or benchmark held /tmp/lameduck-cluster.lock for 30 minutes" >&2; exit 1; }
# The load generators (vegeta) and the L7 proxies run here, not on a node: one CPU cgroup for all of it (lib.sh).
cpu_group lameduck-load $$
exec "$VENV/bin/python" scripts/bench/bench.py "$@"
