#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, in its own network namespace:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, containerd + runc + bridge CNI,
# kube-proxy. Used by the node-tier tests (tag `node`) and by hand:
#
#   scripts/cluster.sh up       start it (cleans up leftovers of an earlier or killed run first)
#   scripts/cluster.sh down     stop it and leave nothing behind (processes, namespace, mounts, cgroups, sysctls)
#   scripts/cluster.sh status   what runs; exit 0 only when the node is Ready
#   scripts/cluster.sh env      `export KUBECONFIG=...` (eval it) to use kubectl/helm from the host
#   scripts/cluster.sh exec CMD run CMD inside the node's network namespace (e.g. curl a ClusterIP)
#   scripts/cluster.sh import TAR...   import docker-saved image tarballs into the node's containerd
#
# Layout: network namespace `lameduck-kube` with the node at 10.200.0.2 (veth to the host at 10.200.0.1;
# the host routes the pod CIDR 10.244.0.0/24 and the service CIDR 10.96.0.0/24 through it, so tests on the
# host reach pods, ClusterIPs and the API at https://10.200.0.2:6443). Everything the cluster writes lives
# in $LAMEDUCK_CLUSTER_DIR (default /var/lib/lameduck-cluster), removed by `down`; the last run's logs are
# kept in ~/.cache/lameduck/cluster-logs. Binaries come from scripts/install/kube-binaries.sh (built once, cached),
# containerd/runc/CNI/iptables from Debian packages (installed when missing).
# Why each odd setting is here: ../shared/CLUSTER.md (restrict_oom_score_adj, cgroup v1, host sysctls).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" cluster
DIR="${LAMEDUCK_CLUSTER_DIR:-/var/lib/lameduck-cluster}"
LOGS_KEPT="$CACHE/cluster-logs"
NETNS=lameduck-kube
HOST_IF=ldk-host NODE_IF=ldk-node
HOST_IP=10.200.0.1 NODE_IP=10.200.0.2
POD_CIDR=10.244.0.0/24 SERVICE_CIDR=10.96.0.0/24 API_SERVICE_IP=10.96.0.1
NODE_NAME=lameduck-node
CGROUP_ROOT=lameduck
# A slow data plane (as in large clusters) for benchmarks: kube-proxy applies EndpointSlice changes at most
# this often.
PROXY_MIN_SYNC="${LAMEDUCK_KUBE_PROXY_MIN_SYNC:-1s}"
# The host sysctls the kubelet changes: saved by `up`, restored by `down`.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops)
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)

in_node() { nsenter --net="/var/run/netns/$NETNS" "$@"; }

preflight() {
  [ "$(id -u)" = 0 ] || die "needs root (network namespaces, mounts, cgroups)"
  ip netns list >/dev/null 2>&1 || die "network namespaces are not available (ip netns)"
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v nsenter >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

bin_dir() { scripts/install/kube-binaries.sh | tail -n 1; }

# ---------------------------------------------------------------- teardown (also of leftovers)
kill_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# Every process left in the pods' cgroups (containers, shims' children), then the cgroups themselves.
kill_pod_cgroups() {
  local ctl
  for ctl in /sys/fs/cgroup/*/; do
    [ -d "$ctl$CGROUP_ROOT" ] || continue
    find "$ctl$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
  done
  sleep 0.2
  for ctl in /sys/fs/cgroup/*/; do
    [ -d "$ctl$CGROUP_ROOT" ] || continue
    find "$ctl$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

down() {
  local c
  for ((i=${#COMPONENTS[@]}-1; i>=0; i--)); do
    c=${COMPONENTS[$i]}
    [ "$c" = containerd ] && kill_pod_cgroups
    kill_pidfile "$DIR/run/$c.pid"
  done
  # Shims of our containerd outlive it by design: end them too (they name our socket on their command line).
  pkill -KILL -f "containerd-shim.*$DIR/run/containerd" 2>/dev/null || true
  kill_pod_cgroups
  rmdir "$CPU_CGROUPS/lameduck-system" 2>/dev/null || true # empty once the daemons are gone
  if [ -d "$DIR" ]; then
    # Mounts made by the kubelet and containerd (volumes, rootfs, sandboxes), deepest first.
    awk -v d="$DIR" '$2 ~ "^"d {print $2}' /proc/self/mounts | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  fi
  if ip netns list 2>/dev/null | grep -qw "$NETNS"; then
    ip netns delete "$NETNS" || true
  fi
  ip link delete "$HOST_IF" 2>/dev/null || true
  if [ -f "$DIR/sysctls.saved" ]; then
    while read -r key value; do sysctl -qw "$key=$value" >/dev/null 2>&1 || true; done < "$DIR/sysctls.saved"
  fi
  if [ -d "$DIR/logs" ]; then
    rm -rf "$LOGS_KEPT"; mkdir -p "$(dirname "$LOGS_KEPT")"; cp -r "$DIR/logs" "$LOGS_KEPT"
  fi
  rm -rf "$DIR"
}

# ---------------------------------------------------------------- set-up
network() {
  ip netns add "$NETNS"
  ip link add "$HOST_IF" type veth peer name "$NODE_IF"
  ip link set "$NODE_IF" netns "$NETNS"
  ip addr add "$HOST_IP/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  in_node ip link set lo up
  in_node ip addr add "$NODE_IP/24" dev "$NODE_IF"
  in_node ip link set "$NODE_IF" up
  in_node ip route add default via "$HOST_IP"
  # Per-namespace sysctls: route for the pods, let bridged pod traffic through iptables (kube-proxy).
  in_node sysctl -qw net.ipv4.ip_forward=1
  in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || log "warning: bridge-nf-call-iptables not settable"
  ip route add "$POD_CIDR" via "$NODE_IP"
  ip route add "$SERVICE_CIDR" via "$NODE_IP"
}

certificates() {
  local pki="$DIR/pki"
  mkdir -p "$pki"; cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=lameduck-test-ca" 2>/dev/null
  cert() { # name, subject, [extensions]
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    printf '%s\n' "${3:-basicConstraints=CA:FALSE}" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
  }
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:$API_SERVICE_IP,IP:$NODE_IP,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
  cert admin "/O=system:masters/CN=lameduck-admin"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cd "$REPO"
  cat > "$DIR/admin.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lameduck
  cluster: {server: "https://$NODE_IP:6443", certificate-authority: "$pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
contexts:
- name: lameduck
  context: {cluster: lameduck, user: admin, namespace: default}
current-context: lameduck
EOF
}

configs() {
  mkdir -p "$DIR/cni/net.d" "$DIR/cni/ipam"
  cat > "$DIR/cni/net.d/10-lameduck.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "lameduck", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}],
            "dataDir": "$DIR/cni/ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
EOF
  cat > "$DIR/containerd.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$DIR/run/containerd/state"
[grpc]
  address = "$DIR/run/containerd/containerd.sock"
[ttrpc]
  address = "$DIR/run/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # The machine lacks CAP_SYS_RESOURCE: without this every sandbox fails ("can't get final child's PID").
  restrict_oom_score_adj = true
  # Pod network namespaces under our state dir (not /var/run/netns), so the teardown finds every one of them.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
EOF
  cat > "$DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
  x509: {clientCAFile: "$DIR/pki/ca.crt"}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
containerRuntimeEndpoint: "unix://$DIR/run/containerd/containerd.sock"
address: $NODE_IP
healthzBindAddress: 127.0.0.1
podCIDR: $POD_CIDR
failSwapOn: false
resolvConf: /etc/resolv.conf
# The disk is shared with everything else on the machine: never evict test pods for it.
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"}
# emptyDir usage measured every 5 s (default 1 m): a pod over its emptyDir.sizeLimit is evicted within about 20 s,
# which is how the tests cause a kubelet eviction (no node pressure, no other pod touched).
volumeStatsAggPeriod: 5s
imageGCHighThresholdPercent: 100
# Readiness changes reach the API at once; status sync is the default 10 s.
serializeImagePulls: false
EOF
}

start() { # name, args... : runs inside the node's network namespace (and CPU cgroup lameduck-system), logs to $DIR/logs/name.log
  local name=$1; shift
  ( cpu_group lameduck-system "$BASHPID"; exec nsenter --net="/var/run/netns/$NETNS" setsid "$@" ) > "$DIR/logs/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/run/$name.pid"
}

wait_for() { # what, seconds, command...
  local what=$1 seconds=$2; shift 2
  local until=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$until" ]; then
      log "$what did not come up within ${seconds}s; last log lines:"
      tail -n 30 "$DIR/logs/"*.log >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

kubectl_() { "$BIN/kubectl" --kubeconfig "$DIR/admin.kubeconfig" "$@"; }

up() {
  preflight
  BIN=$(bin_dir)
  log "removing leftovers of earlier runs"
  down
  mkdir -p "$DIR/run/containerd" "$DIR/logs" "$DIR/etcd" "$DIR/kubelet"
  : > "$DIR/sysctls.saved"
  for key in "${SYSCTLS[@]}"; do echo "$key $(sysctl -n "$key")" >> "$DIR/sysctls.saved"; done
  # The kubelet's sandbox image, built locally (no registry): its name goes into containerd's config.
  PAUSE_IMAGE=$(scripts/images.sh pause | sed -n 's/^IMAGE=pause NAME=\([^ ]*\) .*/\1/p')
  [ -n "$PAUSE_IMAGE" ] || die "scripts/images.sh pause did not name the pause image"
  network
  certificates
  configs
  for ctl in /sys/fs/cgroup/*/; do
    case "$ctl" in */unified/) continue ;; esac
    mkdir -p "$ctl$CGROUP_ROOT" 2>/dev/null || true
  done
  cpu_pods_group "$CGROUP_ROOT" # weights as on a real node: lib.sh

  start etcd "$BIN/etcd" --data-dir "$DIR/etcd" --listen-client-urls http://127.0.0.1:2379 \
    --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
    --listen-metrics-urls http://127.0.0.1:2381
  start containerd containerd --config "$DIR/containerd.toml"
  local pki="$DIR/pki"
  start kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
    --advertise-address="$NODE_IP" --bind-address=0.0.0.0 --secure-port=6443 \
    --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
    --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --kubelet-client-certificate="$pki/admin.crt" --kubelet-client-key="$pki/admin.key" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --authorization-mode=Node,RBAC \
    --kubelet-preferred-address-types=InternalIP --profiling=false
  wait_for kube-apiserver 60 kubectl_ get --raw /readyz
  start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$DIR/admin.kubeconfig" \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true --leader-elect=false --bind-address=127.0.0.1 \
    --cluster-cidr="$POD_CIDR" --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
  start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$DIR/admin.kubeconfig" --leader-elect=false \
    --bind-address=127.0.0.1 --profiling=false
  wait_for containerd 30 test -S "$DIR/run/containerd/containerd.sock"
  import_images_from_cache
  start kubelet "$BIN/kubelet" --config="$DIR/kubelet.yaml" --kubeconfig="$DIR/admin.kubeconfig" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$DIR/kubelet" --v=1
  start kube-proxy "$BIN/kube-proxy" --kubeconfig="$DIR/admin.kubeconfig" --proxy-mode=iptables \
    --hostname-override="$NODE_NAME" --cluster-cidr="$POD_CIDR" \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256 \
    --iptables-min-sync-period="$PROXY_MIN_SYNC" --v=2
  wait_for "node $NODE_NAME Ready" 90 node_ready
  wait_for "default ServiceAccount" 60 kubectl_ get serviceaccount default
  log "cluster up: node $NODE_NAME Ready; API https://$NODE_IP:6443; eval \"\$(scripts/cluster.sh env)\" to use kubectl"
}

node_ready() {
  [ "$(kubectl_ get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

# The images scripts/images.sh has built (listed in its images.txt) go into the node's containerd; the base
# image only as a layer of the agent image.
import_images_from_cache() {
  local tar
  for tar in $(sed -n '/^IMAGE=base /d; s/.* TAR=\(.*\)$/\1/p' "$CACHE/images/images.txt"); do
    [ -f "$tar" ] && import "$tar"
  done
}

import() {
  local tar
  for tar in "$@"; do
    ctr --address "$DIR/run/containerd/containerd.sock" -n k8s.io images import --all-platforms "$tar" >/dev/null \
      || die "could not import $tar into the node's containerd"
  done
}

status() {
  local c pid ok=0
  for c in "${COMPONENTS[@]}"; do
    pid=$(cat "$DIR/run/$c.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$c running (pid $pid)"; else echo "$c not running"; ok=1; fi
  done
  BIN=$(bin_dir)
  if [ -f "$DIR/admin.kubeconfig" ] && node_ready; then echo "node $NODE_NAME Ready"; else echo "node not Ready"; ok=1; fi
  return $ok
}

case "${1:-}" in
  up) up ;;
  down) [ "$(id -u)" = 0 ] || die "needs root"; down; log "cluster down" ;;
  status) status ;;
  env) echo "export KUBECONFIG=$DIR/admin.kubeconfig PATH=$(dirname "$(scripts/install/helm.sh | tail -n 1)"):$(bin_dir):\$PATH" ;;
  exec) shift; in_node "$@" ;;
  import) shift; import "$@" ;;
  *) echo "usage: scripts/cluster.sh up|down|status|env|exec CMD...|import TAR..." >&2; exit 2 ;;
esac
