#!/usr/bin/env bash
# Builds the real Kubernetes binaries the integration tests run against: the control plane
# (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), the node (kubelet, kube-proxy;
# scripts/cluster.sh runs them) and etcd, in the directory layout fabric8 kube-api-test expects:
#   ~/.cache/lameduck/kube/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kube-controller-manager,...}
# No registry ships these binaries, so they are built from the k8s.io/kubernetes Go module at one
# pinned version, with every k8s.io staging module replaced by its matching v0.x.y release.
# Everything (module downloads, Go build cache, binaries) is cached under ~/.cache/lameduck, so a
# second run returns at once. Prints the binary directory on its last line.
set -euo pipefail

KUBE_VERSION="${LAMEDUCK_KUBE_VERSION:-1.34.2}"
ETCD_VERSION="${LAMEDUCK_ETCD_VERSION:-3.5.21}"
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" kube-binaries
BIN_DIR="$CACHE/kube/k8s/${KUBE_VERSION}-linux-amd64"
WORK="$CACHE/kube/build-${KUBE_VERSION}"
go_cache; export GOFLAGS="-mod=mod -buildvcs=false"


KUBE_COMMANDS=(kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet kube-proxy)

have_all() {
  for b in etcd "${KUBE_COMMANDS[@]}"; do [ -x "$BIN_DIR/$b" ] || return 1; done
}

if have_all; then echo "$BIN_DIR"; exit 0; fi
command -v go >/dev/null || { log "Go is required to build the Kubernetes binaries (install golang)"; exit 1; }
mkdir -p "$BIN_DIR" "$WORK"

# --- Kubernetes: a throwaway module requiring k8s.io/kubernetes with staging replacements ---
build_kube() {
  local minor="${KUBE_VERSION#*.}"; minor="${minor%%.*}"
  local staging="v0.${KUBE_VERSION#*.}"
  cd "$WORK"
  if [ ! -f go.mod ]; then
    log "resolving k8s.io/kubernetes v${KUBE_VERSION} (first run downloads ~1 GiB of modules)"
    local gomod
    gomod=$(go mod download -json "k8s.io/kubernetes@v${KUBE_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module lameduck.io/kubebuild"
      echo
      echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
      echo
      echo "require k8s.io/kubernetes v${KUBE_VERSION}"
      echo
      # Every "k8s.io/x => ./staging/src/k8s.io/x" in Kubernetes' own go.mod becomes "=> k8s.io/x v0.y.z".
      grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" \
        | awk -v v="$staging" '{print "replace " $1 " => " $1 " " v}'
    } > go.mod.tmp
    mv go.mod.tmp go.mod
  fi
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=v${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor}"
  for cmd in "${KUBE_COMMANDS[@]}"; do
    [ -x "$BIN_DIR/$cmd" ] && continue
    log "go build $cmd (several minutes on a fresh machine)"
    go build -trimpath -ldflags "$ld" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd"
    mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
  done
}

# --- etcd: its server module, built the same way (its go.mod points at sibling directories) ---
build_etcd() {
  [ -x "$BIN_DIR/etcd" ] && return 0
  local dir="$CACHE/kube/build-etcd-${ETCD_VERSION}"
  mkdir -p "$dir"; cd "$dir"
  if [ ! -f go.mod ]; then
    local gomod
    gomod=$(go mod download -json "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module lameduck.io/etcdbuild"
      echo
      echo "go $(sed -n 's/^go \([0-9.]*\).*/\1/p' "$gomod")"
      echo
      echo "require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}"
      echo
      grep -E '^\s*go\.etcd\.io/etcd/[a-z0-9/]+ => \.\./' "$gomod" \
        | awk -v v="${ETCD_VERSION}" '{ split(v, p, ".");
            # client/v2 is the one etcd module on a v2 path: released as v2.3<minor><patch 2 digits>.
            ver = ($1 ~ /\/v2$/) ? sprintf("v2.3%02d.%d", p[2], p[3]) : "v" v;
            print "replace " $1 " => " $1 " " ver }'
    } > go.mod.tmp
    mv go.mod.tmp go.mod
  fi
  log "go build etcd v${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
}

build_etcd
build_kube
have_all
log "binaries ready in $BIN_DIR"
echo "$BIN_DIR"
