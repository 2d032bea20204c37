#!/usr/bin/env bash
# The project's own Docker engine (Debian docker.io 20.10), used to build the images and by the
# Testcontainers tests. It never touches another Docker installation:
#   - its own socket (unix:///run/lameduck-docker.sock), pidfile, --exec-root (/run/lameduck-docker)
#     and --data-root (~/.cache/lameduck/docker: built images survive a stop, so rebuilds are fast);
#   - its own bridge, lameduck0 (172.31.254.1/24), created on start and deleted on stop; no
#     iptables rules, no IP forwarding, no masquerading (--iptables=false --ip-forward=false
#     --ip-masq=false). Containers reach nothing outside the host, and published ports
#     (-p 127.0.0.1:PORT:...) work through docker-proxy.
#
# Usage: scripts/install/docker.sh start    start it unless it runs (idempotent); prints DOCKER_HOST=...
#        scripts/install/docker.sh stop     stop it by its PID; removes the bridge and every mount it left
#        scripts/install/docker.sh status   exit 0 when it answers
#        scripts/install/docker.sh env      prints `export DOCKER_HOST=...` (eval "$(scripts/install/docker.sh env)")
#        scripts/install/docker.sh docker ARGS...   runs the pinned CLI against it (e.g. `docker images`)
# The CLI is pinned to Debian's /usr/bin/docker (20.10): its built-in BuildKit builds agent/Dockerfile
# with DOCKER_BUILDKIT=1 (the Docker 28 CLI in /usr/local/bin has no buildx and falls back to nothing).
# Needs root (network bridge, mounts); as another user it exits 1 with the reason.
set -euo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh" docker.sh
DATA_ROOT="$CACHE/docker"
EXEC_ROOT=/run/lameduck-docker
SOCKET=/run/lameduck-docker.sock
PIDFILE="$EXEC_ROOT.pid"
LOG="$CACHE/log/dockerd.log"
BRIDGE=lameduck0
BRIDGE_CIDR=172.31.254.1/24
DOCKERD=/usr/sbin/dockerd
DOCKER_CLI=/usr/bin/docker
export DOCKER_HOST="unix://$SOCKET"


running_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q dockerd "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

answers() { "$DOCKER_CLI" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_if_missing() {
  [ -x "$DOCKERD" ] && [ -x "$DOCKER_CLI" ] && return 0
  log "installing Debian docker.io (dockerd, containerd, runc)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2
}

# Unmounts everything dockerd (or its containerd) left under its roots: after a crash or kill -9
# overlay and netns mounts stay behind.
unmount_leftovers() {
  local m
  for root in "$EXEC_ROOT" "$DATA_ROOT"; do
    awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
    done
  done
}

start() {
  [ "$(id -u)" = 0 ] || { log "dockerd needs root (this is uid $(id -u))"; exit 1; }
  if running_pid >/dev/null && answers; then
    echo "DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  install_if_missing
  stop_quietly
  mkdir -p "$DATA_ROOT" "$EXEC_ROOT" "$(dirname "$LOG")"
  [ -f "$CACHE/docker-daemon.json" ] || echo '{}' >"$CACHE/docker-daemon.json"
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  # setsid: the engine outlives the calling shell (a test's set-up, a script) until `stop`.
  setsid "$DOCKERD" \
    --config-file "$CACHE/docker-daemon.json" \
    --host "unix://$SOCKET" \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" \
    --bridge "$BRIDGE" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --storage-driver overlay2 \
    --log-level warn \
    </dev/null >>"$LOG" 2>&1 9>&- &
  for _ in $(seq 1 150); do
    answers && { echo "DOCKER_HOST=$DOCKER_HOST"; return 0; }
    sleep 0.1
  done
  log "dockerd did not answer on $SOCKET within 15s; last lines of $LOG:"
  tail -n 20 "$LOG" >&2
  stop_quietly
  exit 1
}

# Stops the engine by its PID (SIGTERM, then SIGKILL after 20s) and removes what it leaves behind.
stop_quietly() {
  local pid
  if pid=$(running_pid); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    if [ -d "/proc/$pid" ]; then
      log "dockerd $pid ignored SIGTERM for 20s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # The containerd dockerd started for itself: normally gone with it, not after a SIGKILL.
  local cpid
  cpid=$(cat "$EXEC_ROOT/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$cpid" ] && [ -d "/proc/$cpid" ] && grep -q containerd "/proc/$cpid/comm" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    for _ in $(seq 1 50); do [ -d "/proc/$cpid" ] || break; sleep 0.1; done
  fi
  unmount_leftovers
  ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
  rm -rf "$EXEC_ROOT" "$PIDFILE" "$SOCKET"
}

# start and stop hold a lock, so concurrent callers (a test's set-up, scripts/images.sh) do not race.
locked() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/docker.lock"
  flock -w 120 9 || { log "another scripts/install/docker.sh held $CACHE/docker.lock for 2 minutes"; exit 1; }
  "$@"
}

case "${1:-}" in
  start) locked start ;;
  stop) locked stop_quietly ;;
  status) running_pid >/dev/null && answers ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  docker) shift; exec "$DOCKER_CLI" "$@" ;;
  *) echo "usage: $0 start|stop|status|env|docker ARGS..." >&2; exit 2 ;;
esac
