#!/usr/bin/env bash
# Optional: type-checks the benchmark harness (scripts/bench/*.py) with mypy --strict. Not part of scripts/test.sh,
# which runs the harness's unit tests with the standard library alone; run this after changing the harness.
# Installs mypy from PyPI into a venv of its own, cached under ~/.cache/lameduck (LAMEDUCK_CACHE).
# Usage: scripts/bench/typecheck.sh     Exit: mypy's (0 no issues, 1 type errors).
set -euo pipefail
cd "$(dirname "$0")"
CACHE="${LAMEDUCK_CACHE:-$HOME/.cache/lameduck}"
VENV="$CACHE/mypy-venv"
MYPY=mypy==2.4.1
if ! "$VENV/bin/mypy" --version >/dev/null 2>&1 || [ "$(cat "$VENV/.requirement" 2>/dev/null)" != "$MYPY" ]; then
  echo "[typecheck.sh] creating $VENV with $MYPY" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$MYPY"
  echo "$MYPY" > "$VENV/.requirement"
fi
# matplotlib is imported by the chart only, from the benchmark's own venv: no stubs needed here.
exec "$VENV/bin/mypy" --cache-dir "$CACHE/mypy-cache" --strict --ignore-missing-imports \
  bench.py goals.py kube.py load.py measure.py report.py results.py scenarios.py steady.py
