#!/usr/bin/env bash
# Install (if needed) and run the test suite: bash tools/run_tests.sh [pytest args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${VIRTUAL_ENV:-$ROOT/.venv}/bin/python"
export PATH="$(dirname "$PY"):$PATH"
exec "$PY" -m pytest tests -q -p no:cacheprovider "$@"
