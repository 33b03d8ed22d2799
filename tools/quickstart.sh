#!/usr/bin/env bash
# The main job, from a fresh clone: install, prepare CIFAR-10, train the quickstart
# config (~10 min on 2 CPU cores) and evaluate it on the 10,000 test images.
#   bash tools/quickstart.sh [CONFIG [TRAIN OPTIONS...]]
#       default CONFIG: configs/fast/airbench_style_quick_cifar10.py; TRAIN OPTIONS go
#       to tools/train.py, e.g. --cfg-options optim_wrapper.dtype=float32
# CIFAR-10 comes from data/cifar10 if present, else from $CIFAR_SRC (an archive or
# folder, see tools/prepare_cifar.py), else ../shared/cifar, else the official download.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIG="${1:-configs/fast/airbench_style_quick_cifar10.py}"
shift $(( $# > 0 ? 1 : 0 ))
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
cpu_ticks() { awk '/^cpu /{print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat 2>/dev/null || echo "0 0"; }
read -r steal0 total0 < <(cpu_ticks)
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
train_end=$(date +%s)
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
TTA=()  # test-time augmentation when the config defines it
if "$PY" -c "import sys; from mmengine.config import Config; \
sys.exit(0 if Config.fromfile(sys.argv[1]).get('tta_model') else 1)" "$CONFIG" 2>/dev/null; then
    TTA=(--tta)
fi
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test" "${TTA[@]}" | tee "$WORK_DIR/test_result.txt"
end=$(date +%s)
read -r steal1 total1 < <(cpu_ticks)
steal_pct=$(awk -v s=$((steal1 - steal0)) -v t=$((total1 - total0)) \
    'BEGIN { printf "%.0f", (t > 0 ? 100 * s / t : 0) }')
cpu="$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo 2>/dev/null || true)"
echo "[quickstart] $CONFIG: training $((train_end - start)) s, train + test $((end - start)) s" \
     "on ${cpu:-this CPU} (steal ${steal_pct}% of CPU time);" \
     "test result: $(tail -n 1 "$WORK_DIR/test_result.txt")"
