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
