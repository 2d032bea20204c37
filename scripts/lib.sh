# Sourced by the scripts, never run: `. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME`. What they share: the cache
# root every download and build goes under (LAMEDUCK_CACHE, default ~/.cache/lameduck), one log line format on
# stderr ("[NAME HH:MM:SS] message", so interleaved scripts can be told apart and timed), one way to fail, and Go's
# settings for the tools built from the module proxy.
CACHE="${LAMEDUCK_CACHE:-$HOME/.cache/lameduck}"
LOG_NAME="${1:-$(basename "$0")}"
log() { echo "[$LOG_NAME $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# Go's module and build caches under CACHE, the machine's own toolchain (no download of another), static binaries.
go_cache() { export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOTOOLCHAIN=local CGO_ENABLED=0; }
# CPU weights as on a real node. The cluster's daemons and the benchmark's load generators run on this machine as
# plain processes; in the root CPU cgroup (cgroup v1) each of their runnable threads weighs as much (1024 shares) as
# all the pods together (the kubelet's cgroupRoot, also 1024), so under load a pod got a small fraction of what a real
# node gives it. On a real node the kubelet and the runtime share systemd's system.slice (1024), the pods share
# kubepods (the node's allocatable CPU in shares, e.g. 2048 for 2 cores), and the load comes from elsewhere.
# `cpu_group NAME PID` puts PID (and the children it starts from then on) into /sys/fs/cgroup/cpu/NAME:
#   lameduck-system  the cluster's daemons (scripts/cluster.sh)           1024 shares, as system.slice
#   lameduck-load    the benchmark and what it starts (vegeta, haproxy)   1024 shares
# and `cpu_pods_group` gives the kubelet's cgroupRoot the node's CPUs in shares. LAMEDUCK_NODE_CPU_GROUPS=0 leaves every
# process where it is (as before 2026-12-07; for comparisons). Without a cgroup v1 cpu controller this does nothing.
CPU_CGROUPS=/sys/fs/cgroup/cpu
cpu_groups_on() { [ "${LAMEDUCK_NODE_CPU_GROUPS:-1}" != 0 ] && [ -w "$CPU_CGROUPS/cgroup.procs" ] && [ -f "$CPU_CGROUPS/cpu.shares" ]; }
cpu_group() { # name pid
  cpu_groups_on || return 0
  mkdir -p "$CPU_CGROUPS/$1" 2>/dev/null && echo 1024 > "$CPU_CGROUPS/$1/cpu.shares" 2>/dev/null \
    && echo "$2" > "$CPU_CGROUPS/$1/cgroup.procs" 2>/dev/null || log "warning: could not put pid $2 into cpu cgroup $1"
}
cpu_pods_group() { # the kubelet's cgroupRoot
  cpu_groups_on || return 0
  mkdir -p "$CPU_CGROUPS/$1" 2>/dev/null && echo $(( $(nproc) * 1024 )) > "$CPU_CGROUPS/$1/cpu.shares" 2>/dev/null \
    || log "warning: could not set the cpu shares of $1"
}
