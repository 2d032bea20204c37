#!/usr/bin/env bash
# Builds the agent (if needed) and runs it standalone with the example configuration.
# Usage: scripts/run-agent.sh [extra `serve` options]    (stop it with Ctrl-C: it drains, then exits 0)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f target/lameduck.jar ] || [ -n "$(find src pom.xml -newer target/lameduck.jar -print -quit)" ]; then
  echo "building target/lameduck.jar ..." >&2
  scripts/mvn -q -DskipTests package
  # The JVM below replaces this shell (exec: signals reach it directly) and keeps its process, so its own
  # "READY ... after the JVM started" counts from this script's start: the build included.
  echo "built in ${SECONDS} s (the agent's READY time below includes it)" >&2
fi
exec agent/lameduck serve --config agent/lameduck.yaml "$@"
