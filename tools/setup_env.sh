#!/usr/bin/env bash
# Create (or reuse) the project's virtualenv and install the tested stack into it.
#   bash tools/setup_env.sh          -> .venv with cifar-plugins installed editable
# Reuses an active virtualenv ($VIRTUAL_ENV) instead of creating .venv.
# Idempotent: a stamp of the requirement files skips pip when nothing changed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
VENV="${VIRTUAL_ENV:-$ROOT/.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
STAMP="$VENV/.cifar_plugins_stamp"
WANT="$(cat setup.py requirements/*.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "[setup] environment up to date ($VENV)"
    exit 0
fi
echo "[setup] installing torch, mmengine, mmcv-lite, mmpretrain, openmim (a few minutes the first time)"
"$PY" -m pip install --quiet --upgrade "pip>=23"
"$PY" -m pip install --quiet -c requirements/constraints.txt -e ".[tests]"
"$PY" -m pip check
"$PY" - <<'PY'
import torch, mmengine, mmcv, mmpretrain, cifar_plugins
print(f'[setup] torch {torch.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__}, mmpretrain {mmpretrain.__version__}, '
      f'cifar_plugins {cifar_plugins.__version__}, cuda={torch.cuda.is_available()}')
PY
echo "$WANT" > "$STAMP"
