#!/usr/bin/env bash
# Writes the values table of the chart's README, helm/lameduck/README.md, from helm/lameduck/values.yaml: every value
# with its dotted key, type, default and the comment above it in values.yaml. Only the part between the README's
# BEGIN/END GENERATED markers is written; the introduction above them is hand-written and kept. Idempotent: a second
# run changes nothing.
# Usage: scripts/generate-chart-readme.sh [OUTPUT]     (default: helm/lameduck/README.md itself)
# ChartReadmeTest fails when the committed README is out of date, so run this after every change to values.yaml.
# Needs Java 17 and nothing else: the generator, src/test/java/io/lameduck/deploy/ChartReadme.java, uses the JDK only
# and runs with Java's source launcher (no build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/helm/lameduck/README.md}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
"$java" "$root/src/test/java/io/lameduck/deploy/ChartReadme.java" \
  "$root/helm/lameduck/values.yaml" "$root/helm/lameduck/README.md" "$out"
