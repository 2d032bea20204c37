#!/usr/bin/env bash
# Builds the project's container images without any registry, on the project's own Docker engine
# (scripts/install/docker.sh), and writes `docker save` tarballs the test cluster imports with
# `ctr -n k8s.io images import TAR`:
#   base   localhost/lameduck-base:H   debootstrap --variant=minbase bookworm (+ tini, + iproute2 for ss) and a jlink'd Java 17
#                                      runtime (from the host JDK) in /opt/java/openjdk, as on eclipse-temurin
#   agent  localhost/lameduck:H        agent/Dockerfile itself, JAR_FROM=context (target/lameduck.jar, target/lameduck-sockdiag) on the base
#   demo   localhost/lameduck-demo:H   demo/ (Go, stdlib only): static binary on an empty image
#   pause  localhost/lameduck-pause:H  the kubelet's sandbox image: gcc -static of Kubernetes' pause.c
# H is a hash of each image's inputs: an image is rebuilt only when they change, and when nothing
# changed the script returns in well under a second without starting the engine.
#
# Usage: scripts/images.sh [base|agent|demo|pause ...]     (default: all four)
# stdout: one line per image, for scripts and tests to parse:
#   IMAGE=agent NAME=localhost/lameduck:0123456789ab TAR=/root/.cache/lameduck/images/tar/agent-0123456789ab.tar
# (the same lines are kept in ~/.cache/lameduck/images/images.txt). Progress goes to stderr.
# If the engine is running already, every listed image is also present in it afterwards (loaded from
# its tarball when missing). If this script had to start the engine, it stops it again at the end
# (LAMEDUCK_KEEP_DOCKER=1 keeps it running).
# Needs: root, Debian's debootstrap (installed when missing), the host's OpenJDK 17 with jmods, Go, gcc,
# and target/lameduck.jar with target/lameduck-sockdiag for the agent (scripts/mvn -DskipTests package).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" images.sh
IMAGES="$CACHE/images"
TARS="$IMAGES/tar"
STAMPS="$IMAGES/stamps"
SUITE=bookworm
MIRROR="${LAMEDUCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
JDK="${LAMEDUCK_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
KUBE_VERSION="${LAMEDUCK_KUBE_VERSION:-1.34.2}"
# The modules the agent needs: `jdeps --print-module-deps --ignore-missing-deps --multi-release 17
# target/lameduck.jar`, plus jdk.crypto.ec (a TLS provider jdeps cannot see: EC certificates of API servers).
JRE_MODULES="java.base,java.desktop,java.naming,java.net.http,java.security.jgss,java.sql,jdk.management,jdk.unsupported,jdk.crypto.ec"
# Bump when the way an image is made changes in a way its inputs do not show.
RECIPE=1

go_cache; export GOFLAGS="-buildvcs=false"
export DOCKER_BUILDKIT=1
DOCKER=(scripts/install/docker.sh docker)

hash_of() { sha256sum | cut -c1-12; }
files_hash() { (cd "$ROOT" && sha256sum "$@") | hash_of; }

unmount_below() {
  awk -v d="$1" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
}

engine_started_here=false
DEBOOTSTRAP_DIR_IN_USE=
engine() {
  if ! scripts/install/docker.sh status; then
    log "starting the Docker engine (scripts/install/docker.sh start)"
    scripts/install/docker.sh start >/dev/null
    engine_started_here=true
  fi
}
cleanup() {
  if [ -n "$DEBOOTSTRAP_DIR_IN_USE" ]; then unmount_below "$DEBOOTSTRAP_DIR_IN_USE"; rm -rf "$DEBOOTSTRAP_DIR_IN_USE"; fi
  rm -rf "${work:-/nonexistent-lameduck}"
  if $engine_started_here && [ "${LAMEDUCK_KEEP_DOCKER:-0}" != 1 ]; then scripts/install/docker.sh stop; fi
}
trap cleanup EXIT
work=$(mktemp -d)

# up_to_date KIND HASH: the tarball of this exact input hash exists (and, when the engine runs, the
# image is in it, loaded from the tarball if it was not).
up_to_date() {
  local kind=$1 hash=$2 name=$3 tar="$TARS/$1-$2.tar"
  [ -f "$tar" ] && [ "$(cat "$STAMPS/$kind" 2>/dev/null)" = "$hash" ] || return 1
  if scripts/install/docker.sh status && ! "${DOCKER[@]}" image inspect "$name" >/dev/null 2>&1; then
    log "$kind: loading $name from $tar"
    "${DOCKER[@]}" load -q -i "$tar" >&2
  fi
}

# save KIND HASH NAME: writes the tarball, drops older ones of the kind, records the hash.
save() {
  local kind=$1 hash=$2 name=$3 tar="$TARS/$1-$2.tar"
  mkdir -p "$TARS" "$STAMPS"
  "${DOCKER[@]}" save -o "$tar.tmp" "$name"
  mv -f "$tar.tmp" "$tar"
  find "$TARS" -maxdepth 1 -name "$kind-*.tar" ! -name "$kind-$hash.tar" -delete
  echo "$hash" >"$STAMPS/$kind"
  # Older builds of the same image leave the engine too (their layers stay as build cache).
  local old
  for old in $("${DOCKER[@]}" images --format '{{.Repository}}:{{.Tag}}' "${name%:*}"); do
    [ "$old" = "$name" ] || "${DOCKER[@]}" rmi "$old" >/dev/null 2>&1 || true
  done
}

declare -A NAME_OF
emit() { echo "IMAGE=$1 NAME=${NAME_OF[$1]} TAR=$TARS/$1-$2.tar"; }

# --- base: the debootstrap root file system (cached tarball) + a jlink'd runtime + tini ---
rootfs_tarball() {
  local key="$SUITE-minbase-tini-iproute2-r$RECIPE"
  local tarball="$IMAGES/rootfs/$key.tar.gz"
  ROOTFS=$tarball
  if [ ! -f "$tarball" ]; then
    command -v debootstrap >/dev/null || {
      log "installing debootstrap"; apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2; }
    local dir="$IMAGES/rootfs/$key.tmp"
    # debootstrap mounts /proc and /sys inside the target; unmount them if it is interrupted.
    DEBOOTSTRAP_DIR_IN_USE=$dir
    unmount_below "$dir"; rm -rf "$dir"
    mkdir -p "$IMAGES/rootfs"
    log "base: debootstrap --variant=minbase --include=tini,iproute2 $SUITE (about a minute or two, once)"
    debootstrap --variant=minbase --include=tini,iproute2 "$SUITE" "$dir" "$MIRROR" >"$IMAGES/rootfs/debootstrap.log" 2>&1 \
      || { tail -n 20 "$IMAGES/rootfs/debootstrap.log" >&2; die "debootstrap failed (log: $IMAGES/rootfs/debootstrap.log)"; }
    # What an image does not need: package caches and lists, docs, man pages, translations, the host's
    # resolver and hostname (the runtime provides them).
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* \
      "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/* "$dir"/var/log/*.log \
      "$dir"/etc/resolv.conf "$dir"/etc/hostname
    tar -C "$dir" --numeric-owner -czf "$tarball.tmp" .
    mv -f "$tarball.tmp" "$tarball"
    rm -rf "$dir"
    DEBOOTSTRAP_DIR_IN_USE=
  fi
}

jre_dir() {
  local key
  key=$( { cat "$JDK/release"; echo "$JRE_MODULES r$RECIPE"; } | hash_of)
  local dir="$IMAGES/jre/$key"
  JRE=$dir
  if [ ! -x "$dir/bin/java" ]; then
    [ -d "$JDK/jmods" ] || die "no $JDK/jmods: install openjdk-17-jdk-headless (jlink needs the jmods)"
    log "base: jlink $JRE_MODULES (with its class-data-sharing archive; about 30s, once)"
    rm -rf "$dir" "$dir.tmp"; mkdir -p "$(dirname "$dir")"
    "$JDK/bin/jlink" --add-modules "$JRE_MODULES" --strip-debug --no-man-pages --no-header-files \
      --generate-cds-archive --output "$dir.tmp" >&2
    mv "$dir.tmp" "$dir"
  fi
}

build_base() {
  local hash
  rootfs_tarball
  jre_dir
  hash=$(echo "$(basename "$ROOTFS") $(basename "$JRE") r$RECIPE" | hash_of)
  NAME_OF[base]="localhost/lameduck-base:$hash"
  BASE_HASH=$hash
  up_to_date base "$hash" "${NAME_OF[base]}" && return 0
  engine
  log "base: importing ${NAME_OF[base]}"
  local dir="$work/base"
  mkdir -p "$dir/opt/java"
  tar -C "$dir" -xzf "$ROOTFS"
  cp -a "$JRE" "$dir/opt/java/openjdk"
  tar -C "$dir" --numeric-owner -c . | "${DOCKER[@]}" import \
    --change 'ENV JAVA_HOME=/opt/java/openjdk' \
    --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["bash"]' \
    - "${NAME_OF[base]}" >/dev/null
  rm -rf "$dir"
  save base "$hash" "${NAME_OF[base]}"
}

# --- agent: agent/Dockerfile with the jar of target/ and the local base ---
build_agent() {
  [ -f target/lameduck.jar ] && [ -f target/lameduck-sockdiag ] \
    || die "target/lameduck.jar or target/lameduck-sockdiag is missing: build them first with scripts/mvn -DskipTests package"
  [ -n "${BASE_HASH:-}" ] || build_base
  local hash
  # The jar by the names and contents of its entries, not its bytes: every `mvn package` writes an otherwise
  # identical jar with new timestamps and, from the shade plugin, entries in another order; that must not
  # cost an image build.
  # (`unzip -v` lists each entry's size and CRC-32 from the jar's directory: fast, nothing extracted.)
  hash=$( { echo "${NAME_OF[base]} r$RECIPE"; (cd "$ROOT" && sha256sum agent/Dockerfile agent/Dockerfile.dockerignore \
    agent/lameduck agent/jvm.options agent/cds-archive.sh agent/cds-classes.lst agent/lameduck.yaml target/lameduck-sockdiag); \
    unzip -v target/lameduck.jar | awk 'length($7) == 8 && $7 ~ /^[0-9a-f]+$/ { n = $8; for (i = 9; i <= NF; i++) n = n " " $i; print n, $1, $7 }' \
      | LC_ALL=C sort; } | hash_of)
  NAME_OF[agent]="localhost/lameduck:$hash"
  up_to_date agent "$hash" "${NAME_OF[agent]}" && return 0
  engine
  log "agent: docker build -f agent/Dockerfile --build-arg JAR_FROM=context --build-arg BASE_IMAGE=${NAME_OF[base]}"
  "${DOCKER[@]}" build --progress=plain -f agent/Dockerfile \
    --build-arg JAR_FROM=context --build-arg BASE_IMAGE="${NAME_OF[base]}" \
    -t "${NAME_OF[agent]}" . >"$work/agent-build.log" 2>&1 \
    || { tail -n 30 "$work/agent-build.log" >&2; die "agent image build failed"; }
  save agent "$hash" "${NAME_OF[agent]}"
}

# --- demo: a static Go binary on an empty image ---
build_demo() {
  local hash
  hash=$( { go env GOVERSION; echo "r$RECIPE"; (cd "$ROOT" && sha256sum demo/go.mod demo/*.go demo/Dockerfile); } | hash_of)
  NAME_OF[demo]="localhost/lameduck-demo:$hash"
  up_to_date demo "$hash" "${NAME_OF[demo]}" && return 0
  engine
  log "demo: go build + docker build ${NAME_OF[demo]}"
  local ctx="$work/demo"
  mkdir -p "$ctx/bin"
  cp demo/Dockerfile "$ctx/"
  (cd demo && go build -trimpath -ldflags "-s -w" -o "$ctx/bin/demo" .)
  "${DOCKER[@]}" build --progress=plain -t "${NAME_OF[demo]}" "$ctx" >"$work/demo-build.log" 2>&1 \
    || { tail -n 30 "$work/demo-build.log" >&2; die "demo image build failed"; }
  save demo "$hash" "${NAME_OF[demo]}"
}

# --- pause: the sandbox image, from pause.c of the k8s.io/kubernetes module ---
build_pause() {
  local src="$GOMODCACHE/k8s.io/kubernetes@v$KUBE_VERSION/build/pause/linux/pause.c"
  if [ ! -f "$src" ]; then
    log "pause: go mod download k8s.io/kubernetes@v$KUBE_VERSION (for build/pause/linux/pause.c)"
    (cd "$work" && GOFLAGS=-mod=mod go mod download "k8s.io/kubernetes@v$KUBE_VERSION" >&2)
  fi
  [ -f "$src" ] || die "no $src"
  local hash
  hash=$( { sha256sum "$src"; gcc --version | head -n 1; echo "r$RECIPE"; } | hash_of)
  NAME_OF[pause]="localhost/lameduck-pause:$hash"
  up_to_date pause "$hash" "${NAME_OF[pause]}" && return 0
  engine
  log "pause: gcc -Os -static pause.c + docker build ${NAME_OF[pause]}"
  local ctx="$work/pause"
  mkdir -p "$ctx"
  gcc -Os -static -Wall -DVERSION="v$KUBE_VERSION-lameduck" -o "$ctx/pause" "$src"
  strip "$ctx/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$ctx/Dockerfile"
  "${DOCKER[@]}" build --progress=plain -t "${NAME_OF[pause]}" "$ctx" >"$work/pause-build.log" 2>&1 \
    || { tail -n 30 "$work/pause-build.log" >&2; die "pause image build failed"; }
  save pause "$hash" "${NAME_OF[pause]}"
}

kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(base agent demo pause)
for kind in "${kinds[@]}"; do
  case "$kind" in base|agent|demo|pause) ;; *) die "unknown image '$kind' (base, agent, demo, pause)";; esac
done
[ "$(id -u)" = 0 ] || die "building images needs root (the Docker engine, debootstrap)"
mkdir -p "$TARS" "$STAMPS"
out=()
for kind in "${kinds[@]}"; do
  "build_$kind"
  out+=("$(emit "$kind" "$(cat "$STAMPS/$kind")")")
done
printf '%s\n' "${out[@]}" | tee "$IMAGES/images.txt.tmp"
# images.txt keeps every kind listed so far, the latest line of each.
{ cat "$IMAGES/images.txt" 2>/dev/null || true; cat "$IMAGES/images.txt.tmp"; } \
  | awk '{ split($1, k, "="); last[k[2]] = $0 } END { for (x in last) print last[x] }' | sort >"$IMAGES/images.txt.new"
mv -f "$IMAGES/images.txt.new" "$IMAGES/images.txt"; rm -f "$IMAGES/images.txt.tmp"
log "done"
