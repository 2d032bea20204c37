#!/usr/bin/env bash
# Writes the agent configuration's JSON schema, generated from the config loader (`lameduck validate
# --print-schema`), into the chart's values.schema.json under properties.config, so `helm install`
# rejects a typo under `config:` instead of every sidecar exiting 3.
# Usage: scripts/generate-config-schema.sh        (ConfigSchemaTest fails when the chart's copy is out of date)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f target/lameduck.jar ] || [ -n "$(find src pom.xml -newer target/lameduck.jar -print -quit)" ]; then
  echo "building target/lameduck.jar ..." >&2
  scripts/mvn -q -DskipTests package
fi
schema="$(mktemp)"
trap 'rm -f "$schema"' EXIT
agent/lameduck validate --print-schema > "$schema"
python3 - "$schema" helm/lameduck/values.schema.json <<'PY'
import json, sys
schema_file, chart_file = sys.argv[1], sys.argv[2]
with open(schema_file) as f:
    config = json.load(f)
with open(chart_file) as f:
    chart = json.load(f)
chart["properties"]["config"] = config
with open(chart_file, "w") as f:
    f.write(json.dumps(chart, indent=2, ensure_ascii=False) + "\n")
PY
echo "wrote properties.config of helm/lameduck/values.schema.json" >&2
