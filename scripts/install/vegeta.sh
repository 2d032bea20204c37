#!/usr/bin/env bash
# Makes sure vegeta (the open-loop HTTP load generator the node tests and benchmarks use) is installed under
# ~/.cache/lameduck/bin and prints its path on the last line. Built from the Go module proxy once, then cached.
set -euo pipefail
VERSION="${LAMEDUCK_VEGETA_VERSION:-v12.13.0}"
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" vegeta.sh
BIN="$CACHE/bin"
if [ -x "$BIN/vegeta-$VERSION" ]; then echo "$BIN/vegeta-$VERSION"; exit 0; fi
command -v go >/dev/null || { echo "[vegeta.sh] Go is required to build vegeta (install golang)" >&2; exit 1; }
mkdir -p "$BIN"
go_cache; export GOBIN="$BIN.tmp-vegeta"
echo "[vegeta.sh] go install github.com/tsenart/vegeta/v12@$VERSION" >&2
go install "github.com/tsenart/vegeta/v12@$VERSION"
mv "$GOBIN/vegeta" "$BIN/vegeta-$VERSION"
rmdir "$GOBIN" 2>/dev/null || true
echo "$BIN/vegeta-$VERSION"
