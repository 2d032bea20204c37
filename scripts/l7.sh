#!/usr/bin/env bash
# An L7 consumer of the endpoints for the benchmark: the HAProxy Ingress controller
# (github.com/jcmoraisjr/haproxy-ingress v0.14.7) driving Debian bookworm's haproxy 2.6, out of the cluster
# (--kubeconfig) inside the node's network namespace (lameduck-kube, as scripts/cluster.sh runs kube-proxy).
#
# Why this one: it is a real, widely used ingress controller that watches EndpointSlices and sends requests
# straight to the pod IPs through haproxy, whose server-side keep-alive connections are pooled and reused
# across client requests (haproxy 2.x `http-reuse safe`, the controller's `option http-keep-alive`), so a pod
# keeps getting requests on old connections until the proxy applies the endpoint change. It applies changes
# through haproxy's runtime API without a reload, as in production. It builds from the Go module proxy with
# no replace directives, and its `--wait-before-update` delays applying a change after the first event of a
# batch: the "lagging" setting uses 10 s (as shipped: 200 ms, then at most one update per 2 s by
# --rate-limit-update=0.5). Also as shipped, and kept: haproxy checks each server with a TCP connect every 2 s
# (`check inter 2s`, down after 3 failures) and resends a request whose connection was refused to another
# server (`option redispatch`), so a closed listener alone costs no request here; a connection that closes
# under a request does. `start ... --no-redispatch` turns the resending off (`no option redispatch`; haproxy then
# retries a refused connection on the same server, 3 times, and answers 503): the benchmark's `l7-lagging-noretry`,
# a consumer that keeps sending to a pod that has gone, as a load balancer without retries does.
# Versions: the module proxy serves v0.14.7 of this module (v0.15+ are not available there); v0.14 generates
# haproxy 2.4 configuration, which haproxy 2.6 accepts (checked at every start: the controller runs `haproxy -c`,
# then starts haproxy in master-worker mode). haproxy's Debian
# package is not installed: its .deb and those of the libraries it needs beyond the base system (liblua5.3-0,
# libopentracing-c-wrapper0 + libopentracing1; lua-json + lua-lpeg for the controller's Lua scripts) are fetched
# with `apt-get download` and unpacked under the cache, so no haproxy service is started and nothing outside
# the cache changes.
# (Traefik was the alternative; haproxy-ingress was chosen for its explicit update-delay flag and a
# proxy whose connection pooling is documented and configurable.)
#
#   scripts/l7.sh install                 build/fetch what is missing into ~/.cache/lameduck/l7; prints its dir
#   scripts/l7.sh start NAME WAIT PORT [--no-redispatch]
#                                         start controller NAME (its own ingress class, e.g. l7 / l7-lagging)
#                                         applying endpoint changes WAIT (a Go duration) late; haproxy serves
#                                         http://10.200.0.2:PORT inside the node's namespace (also reachable
#                                         from the host); needs the cluster (scripts/cluster.sh up);
#                                         --no-redispatch: a refused connection's request is not resent elsewhere
#                                         (LAMEDUCK_L7_SYSLOG=IP:PORT: haproxy sends a log line per request there, UDP
#                                         syslog, as seen from the node's namespace; for diagnosis, off by default)
#   scripts/l7.sh stop NAME               stop it: controller, haproxy master and workers, its files
#   scripts/l7.sh down                    stop every instance (also leftovers of a killed run)
#
# An Ingress reaches instance NAME with the annotation `kubernetes.io/ingress.class: NAME`. Instance state
# (haproxy config, maps, sockets, pid) lives in /var/lib/lameduck-l7/NAME (LAMEDUCK_L7_DIR) and is removed by
# stop; the last logs stay in ~/.cache/lameduck/l7/logs. Ports used inside the node namespace: PORT (http), PORT+1000
# (https, unused), PORT+2000 (haproxy stats), PORT+3000 (haproxy healthz), PORT+4000 (controller healthz).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${LAMEDUCK_HAPROXY_INGRESS_VERSION:-v0.14.7}"
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" l7
HOME_L7="$CACHE/l7"
# Instance state (haproxy's config, maps, sockets): removed by stop/down, like scripts/cluster.sh's
# /var/lib/lameduck-cluster. Its path must have no dot: haproxy-ingress v0.14 names map files by replacing the
# first "." of their full path (under ~/.cache that gave /root/__prefix.cache/...: no host ever matched).
RUN="${LAMEDUCK_L7_DIR:-/var/lib/lameduck-l7}"
LOGS="$HOME_L7/logs"
# haproxy and the libraries it needs beyond the base system; lua-json + lua-lpeg for the controller's Lua
# scripts (its own image installs a JSON module for them too).
DEBS=(haproxy liblua5.3-0 libopentracing-c-wrapper0 libopentracing1 lua-json lua-lpeg)
CLUSTER_DIR="${LAMEDUCK_CLUSTER_DIR:-/var/lib/lameduck-cluster}"
NETNS=lameduck-kube
NODE_IP=10.200.0.2
CONFIG_NAMESPACE=lameduck-l7
go_cache; export GOFLAGS="-mod=readonly -buildvcs=false"


CONTROLLER="$HOME_L7/haproxy-ingress-$VERSION"
HAPROXY_ROOT="$HOME_L7/haproxy-root"
module_dir() { echo "$GOMODCACHE/github.com/jcmoraisjr/haproxy-ingress@$VERSION"; }

install() {
  mkdir -p "$HOME_L7"
  if [ ! -x "$CONTROLLER" ]; then
    command -v go >/dev/null || die "Go is required to build haproxy-ingress (install golang)"
    local mod
    # `go install ...@version` would need the module's version list, which the proxy does not serve: download
    # the one version and build inside its (read-only) module directory with its own go.mod and go.sum.
    log "go mod download github.com/jcmoraisjr/haproxy-ingress@$VERSION"
    mod=$(cd "$HOME_L7" && go mod download -json "github.com/jcmoraisjr/haproxy-ingress@$VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    [ -d "$mod" ] || die "could not download github.com/jcmoraisjr/haproxy-ingress@$VERSION"
    log "go build haproxy-ingress $VERSION (about a minute the first time)"
    (cd "$mod" && go build -trimpath -ldflags "-s -w -X github.com/jcmoraisjr/haproxy-ingress/pkg/version.RELEASE=$VERSION" \
      -o "$CONTROLLER.tmp" ./pkg)
    mv "$CONTROLLER.tmp" "$CONTROLLER"
  fi
  if [ ! -x "$HAPROXY_ROOT/usr/sbin/haproxy" ] || [ ! -f "$HAPROXY_ROOT/usr/share/lua/5.3/json.lua" ]; then
    local tmp
    tmp=$(mktemp -d "$HOME_L7/debs.XXXXXX")
    log "apt-get download ${DEBS[*]} (unpacked under $HAPROXY_ROOT, not installed)"
    apt-get update -qq >&2 || true
    (cd "$tmp" && chmod 777 . && apt-get download "${DEBS[@]}" >&2) || { rm -rf "$tmp"; die "apt-get download ${DEBS[*]} failed"; }
    rm -rf "$HAPROXY_ROOT.tmp"
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$HAPROXY_ROOT.tmp"; done
    rm -rf "$tmp" "$HAPROXY_ROOT"
    mv "$HAPROXY_ROOT.tmp" "$HAPROXY_ROOT"
  fi
  LD_LIBRARY_PATH="$HAPROXY_ROOT/usr/lib/x86_64-linux-gnu" "$HAPROXY_ROOT/usr/sbin/haproxy" -v >/dev/null \
    || die "$HAPROXY_ROOT/usr/sbin/haproxy does not run (missing libraries?)"
  echo "$HOME_L7"
}

kubectl_() { "$(scripts/install/kube-binaries.sh | tail -n 1)/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" "$@"; }

# The processes of instance NAME: its session (the controller runs under setsid; haproxy's master and
# workers stay in that session although the controller puts them in their own process group).
session_pids() { # sid
  ps -e -o pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'
}

stop() {
  local name=$1 dir="$RUN/$1" sid pids
  [ -d "$dir" ] || return 0
  if [ -f "$dir/controller.pid" ]; then
    sid=$(cat "$dir/controller.pid")
    if kill -0 "$sid" 2>/dev/null; then
      kill -TERM "$sid" 2>/dev/null || true   # the controller stops haproxy's master, which stops its workers
      for _ in $(seq 1 100); do [ -n "$(session_pids "$sid")" ] || break; sleep 0.1; done
    fi
    pids=$(session_pids "$sid")
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  mkdir -p "$LOGS"
  [ -f "$dir/controller.log" ] && cp "$dir/controller.log" "$LOGS/$name.log"
  rm -rf "$dir"
  rmdir "$RUN" 2>/dev/null || true
}

down() {
  local d
  [ -d "$RUN" ] || return 0
  for d in "$RUN"/*/; do [ -d "$d" ] && stop "$(basename "$d")"; done
  rmdir "$RUN" 2>/dev/null || true
}

start() {
  local name=$1 wait=$2 port=$3 redispatch=${4:-} defaults="option idle-close-on-response"
  case "$redispatch" in
    "") ;;
    --no-redispatch) defaults+=$'\n'"no option redispatch" ;;  # after the template's own `option redispatch`
    *) die "scripts/l7.sh start: unknown option '$redispatch' (the only one is --no-redispatch)" ;;
  esac
  [[ "$name" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || die "bad instance name '$name'"
  [[ "$wait" =~ ^[0-9]+(ms|s)$ ]] || die "bad wait '$wait' (e.g. 200ms, 5s)"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1024 ] && [ "$port" -le 60000 ] || die "bad port '$port'"
  [ -z "${LAMEDUCK_L7_SYSLOG:-}" ] || [[ "$LAMEDUCK_L7_SYSLOG" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$ ]] \
    || die "bad LAMEDUCK_L7_SYSLOG '$LAMEDUCK_L7_SYSLOG' (IP:PORT of a UDP syslog listener, e.g. 127.0.0.1:5140)"
  [ -f /var/run/netns/$NETNS ] || die "no network namespace $NETNS: scripts/cluster.sh up first"
  case "$RUN" in *.*) die "LAMEDUCK_L7_DIR=$RUN has a dot in its path: haproxy-ingress would misname its map files";; esac
  install >/dev/null
  stop "$name"
  local dir="$RUN/$name" mod
  mod=$(module_dir)
  mkdir -p "$dir/fs/etc/haproxy/lua"
  cp "$mod"/rootfs/etc/lua/*.lua "$dir/fs/etc/haproxy/lua/"
  chmod -R u+w "$dir/fs"
  # The controller's global configuration: its ports (each instance its own, all in the node namespace), no
  # https redirect, and haproxy's defaults otherwise (keep-alive to the servers, connections pooled) but one:
  # `option idle-close-on-response`. The benchmark runs several scenarios through one proxy, and every Ingress
  # a scenario creates or deletes makes the controller reload haproxy ("need to reload due to config changes:
  # [hosts]"); on a reload the old worker closes its idle client connections at once, so a client writing a POST
  # on one just then fails ("server closed idle connection") whatever the pods do: one POST in a run, 9 s after
  # the latest deletion and 0.2 s into a reload for a neighbour's teardown. With the option the old worker waits
  # for the next request on such a connection and answers it with `Connection: close`, as haproxy did before 2.4.
  # The side the benchmark measures, haproxy to the pods, is unchanged.
  kubectl_ create namespace "$CONFIG_NAMESPACE" --dry-run=client -o yaml | kubectl_ apply -f - >/dev/null
  kubectl_ -n "$CONFIG_NAMESPACE" create configmap "$name" --dry-run=client -o yaml \
    --from-literal=http-port="$port" --from-literal=https-port=$((port + 1000)) \
    --from-literal=stats-port=$((port + 2000)) --from-literal=healthz-port=$((port + 3000)) \
    --from-literal=bind-ip-addr-http="$NODE_IP" --from-literal=bind-ip-addr-stats=127.0.0.1 \
    --from-literal=bind-ip-addr-healthz=127.0.0.1 --from-literal=ssl-redirect=false \
    --from-literal=config-defaults="$defaults" ${LAMEDUCK_L7_SYSLOG:+--from-literal=syslog-endpoint=$LAMEDUCK_L7_SYSLOG} | kubectl_ apply -f - >/dev/null
  # Templates are read from ./rootfs (relative: --local-filesystem-prefix switches to it): run in the module dir.
  (
    cd "$mod"
    export PATH="$HAPROXY_ROOT/usr/sbin:$PATH" LD_LIBRARY_PATH="$HAPROXY_ROOT/usr/lib/x86_64-linux-gnu" \
      LUA_PATH_5_3="$HAPROXY_ROOT/usr/share/lua/5.3/?.lua;$HAPROXY_ROOT/usr/share/lua/5.3/?/init.lua;;" \
      LUA_CPATH_5_3="$HAPROXY_ROOT/usr/lib/x86_64-linux-gnu/lua/5.3/?.so;;"
    # setsid may fork: the new session's leader writes its own pid (= the session id) before it becomes the controller.
    exec nsenter --net="/var/run/netns/$NETNS" setsid --wait sh -c 'echo $$ > "$0"; exec "$@"' "$dir/controller.pid" "$CONTROLLER" \
      --kubeconfig="$CLUSTER_DIR/admin.kubeconfig" --local-filesystem-prefix="$dir/fs" \
      --configmap="$CONFIG_NAMESPACE/$name" --ingress-class="$name" --controller-class="lameduck-$name" \
      --watch-ingress-without-class=false --enable-endpointslices-api --watch-gateway=false \
      --update-status=false --master-worker --wait-before-update="$wait" \
      --healthz-port=$((port + 4000)) --profiling=false --disable-pod-list --disable-node-list \
      --disable-api-warnings --v=2 > "$dir/controller.log" 2>&1 < /dev/null
  ) &
  local launcher=$!
  # Ready when haproxy answers on its http port (its default backend: 404 for an unknown host).
  local until=$(( $(date +%s) + 60 ))
  until nsenter --net="/var/run/netns/$NETNS" curl -s -o /dev/null -m 2 "http://$NODE_IP:$port/" 2>/dev/null; do
    if ! kill -0 "$launcher" 2>/dev/null || [ "$(date +%s)" -ge "$until" ]; then
      tail -n 30 "$dir/controller.log" >&2 || true
      stop "$name"
      die "$name did not come up (log above; kept in $LOGS/$name.log)"
    fi
    sleep 0.2
  done
  log "$name up: http://$NODE_IP:$port (ingress class $name, endpoint changes applied after $wait)"
}

case "${1:-}" in
  install) install ;;
  start) [ $# = 4 ] || [ $# = 5 ] || die "usage: scripts/l7.sh start NAME WAIT PORT [--no-redispatch]"; start "${@:2}" ;;
  stop) [ $# = 2 ] || die "usage: scripts/l7.sh stop NAME"; stop "$2" ;;
  down) down ;;
  *) echo "usage: scripts/l7.sh install|start NAME WAIT PORT [--no-redispatch]|stop NAME|down" >&2; exit 2 ;;
esac
