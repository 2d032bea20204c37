#!/usr/bin/env bash
# The long fuzz run (not part of scripts/test.sh, which only replays the corpus): Jazzer fuzzes each @FuzzTest for its
# maxDuration (or FUZZ_DURATION, e.g. 10m) and writes new interesting inputs and crashes to
# src/test/resources/<package>/<Class>Inputs/<method>/ (commit the ones worth keeping: the test command replays them).
#   scripts/fuzz.sh                       # both fuzz tests
#   scripts/fuzz.sh ConfigLoaderFuzzTest  # one of them
set -euo pipefail
cd "$(dirname "$0")/.."
tests="${1:-ConfigLoaderFuzzTest,AdminRequestFuzzTest}"
extra=()
if [[ -n "${FUZZ_DURATION:-}" ]]; then
  extra+=("-Djazzer.max_duration=${FUZZ_DURATION}")
fi
JAZZER_FUZZ=1 exec scripts/mvn test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false "${extra[@]}"
