#!/usr/bin/env bash
# Install (if needed) and run the test suite: bash tools/run_tests.sh [pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${VIRTUAL_ENV:-$ROOT/.venv}/bin/python"
export PATH="$(dirname "$PY"):$PATH"
# 2 worker processes (pytest-xdist): much of the suite is single-threaded start-up of
# the tools, so 2 processes keep both cores busy; TEST_WORKERS=0 runs in one process
exec "$PY" -m pytest tests -q -p no:cacheprovider -n "${TEST_WORKERS:-2}" "$@"
