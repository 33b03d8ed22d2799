#!/usr/bin/env bash
# The main job, from a fresh clone: install, prepare CIFAR-10, train the quickstart
# config (~10 min on 2 CPU cores) and evaluate it on the 10,000 test images.
#   bash tools/quickstart.sh [CONFIG [TRAIN OPTIONS...]]
#       default CONFIG: configs/fast/quickstart_cifar10.py; TRAIN OPTIONS go
#       to tools/train.py, e.g. --cfg-options optim_wrapper.dtype=float32
# CIFAR-10 comes from data/cifar10 if present, else from $CIFAR_SRC (an archive or
# folder, see tools/prepare_cifar.py), else ../shared/cifar, else the official download.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIG=configs/fast/quickstart_cifar10.py
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then CONFIG="$1"; shift; fi  # else options only
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="work_dirs/$NAME"

bash tools/setup_env.sh
PY="${VIRTUAL_ENV:-$ROOT/.venv}/bin/python"

if [ ! -f data/cifar10/cifar-10-batches-py/test_batch ]; then
    SRC="${CIFAR_SRC:-}"
    if [ -z "$SRC" ] && [ -f ../shared/cifar/restore.py ]; then SRC=../shared/cifar; fi
    if [ -n "$SRC" ]; then
        "$PY" tools/prepare_cifar.py cifar10 --src "$SRC"
    else
        echo "[quickstart] no local CIFAR-10: the first run downloads it (170 MB)"
    fi
fi

# CPU time taken by the hypervisor from this VM ("steal") slows every figure below;
# the summary states its share so timings from a busy host are not mistaken for ours.
read -r steal0 total0 < <("$PY" -c "from cifar_plugins.analysis.complexity import cpu_ticks
print(*(cpu_ticks() or (0, 0)))")
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
train_end=$(date +%s)
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
# test with the config the run saved, so train options (--cfg-options) apply to the test too
RUN_CONFIG="$WORK_DIR/$NAME.py"
[ -f "$RUN_CONFIG" ] || RUN_CONFIG="$CONFIG"
TTA=()  # test-time augmentation when the config defines it
if [ "$("$PY" -c "import sys; from mmengine.config import Config; \
print('yes' if Config.fromfile(sys.argv[1]).get('tta_model') else 'no')" "$RUN_CONFIG")" = yes ]; then
    TTA=(--tta)
fi
"$PY" tools/test.py "$RUN_CONFIG" "$CKPT" --work-dir "$WORK_DIR/test" "${TTA[@]}" \
    | tee "$WORK_DIR/test_result.txt"
end=$(date +%s)
machine="$("$PY" -c "import sys
from cifar_plugins.analysis.complexity import cpu_name, cpu_ticks, steal_share
steal = steal_share((int(sys.argv[1]), int(sys.argv[2])), cpu_ticks())
print(f'{cpu_name()} (steal {0 if steal is None else round(100 * steal)}% of CPU time)')" \
    "$steal0" "$total0")"
echo "[quickstart] $CONFIG: training $((train_end - start)) s, train + test $((end - start)) s" \
     "on $machine, test-time augmentation: ${TTA[*]:-off};" \
     "test result: $(tail -n 1 "$WORK_DIR/test_result.txt")"
