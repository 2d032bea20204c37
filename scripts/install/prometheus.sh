#!/usr/bin/env bash
# Makes sure Prometheus and promtool are installed (Debian's `prometheus` package, 2.42 on
# bookworm) and prints their paths. Idempotent: installs nothing when both are already present.
# The metrics tests need promtool; the tests tagged "prometheus" also need the server.
set -euo pipefail

if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "prometheus/promtool missing; run as root (or: sudo apt-get install prometheus)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends prometheus
fi

echo "promtool: $(command -v promtool)"
echo "prometheus: $(command -v prometheus)"
