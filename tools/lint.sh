#!/usr/bin/env bash
# Lint as CI does, in mmpretrain's style (settings in setup.cfg):
#   bash tools/lint.sh [paths]     -> flake8, isort --check-only, yapf --diff
# on cifar_plugins/ and tools/ by default; exits non-zero if any of them finds something.
# To apply isort's and yapf's changes: .venv/bin/isort PATHS && .venv/bin/yapf -i -r PATHS
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${VIRTUAL_ENV:-$ROOT/.venv}/bin/python"
if [ "$#" -gt 0 ]; then PATHS=("$@"); else PATHS=(cifar_plugins tools); fi
failed=()
echo "[lint] flake8 ${PATHS[*]}"
"$PY" -m flake8 "${PATHS[@]}" || failed+=(flake8)
echo "[lint] isort --check-only ${PATHS[*]}"
"$PY" -m isort --check-only --diff "${PATHS[@]}" || failed+=(isort)
echo "[lint] yapf --diff ${PATHS[*]}"
"$PY" -m yapf --diff --recursive "${PATHS[@]}" || failed+=(yapf)
if [ "${#failed[@]}" -gt 0 ]; then
    echo "[lint] FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "[lint] clean"
