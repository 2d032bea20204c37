#!/usr/bin/env bash
# The long fuzz run (not part of scripts/test.sh, which only replays the committed corpus). Jazzer fuzzes one
# @FuzzTest per JVM (a second one in the same run is skipped), so each test gets its own Maven run, for the
# maxDuration of its annotation (ConfigLoaderFuzzTest 60 s, AdminRequestFuzzTest 120 s), FUZZ_ROUNDS times
# (default 1). Rounds continue from the working corpus in .cifuzz-corpus/ (git-ignored). Crashes are written to
# src/test/resources/<package>/<Class>Inputs/<method>/ and fail the run; commit them with the fix, so the test
# command replays them.
#   scripts/fuzz.sh                                   # both fuzz tests, one round each
#   FUZZ_ROUNDS=10 scripts/fuzz.sh ConfigLoaderFuzzTest
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${FUZZ_ROUNDS:-1}"
[[ "$rounds" =~ ^[1-9][0-9]{0,2}$ ]] || { echo "fuzz.sh: FUZZ_ROUNDS must be 1..999, not '$rounds'" >&2; exit 3; }
IFS=, read -r -a tests <<< "${1:-ConfigLoaderFuzzTest,AdminRequestFuzzTest}"
for ((round = 1; round <= rounds; round++)); do
  for test in "${tests[@]}"; do
    echo "[fuzz.sh] round $round/$rounds: $test" >&2
    JAZZER_FUZZ=1 scripts/mvn -q test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false
  done
done
echo "[fuzz.sh] done: $rounds round(s) of ${tests[*]}, no crash" >&2
