#!/usr/bin/env bash
# Multi-process training: tools/dist_train.sh CONFIG NUM_PROCS [train.py options]
# One process per GPU with nccl; on a machine without CUDA the processes train on
# the CPU with gloo (cifar_plugins switches the backend and DDP device ids).
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as in mmpretrain.
set -e
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
if [ -z "$CONFIG" ] || [ -z "$NPROC" ]; then
    echo "usage: $0 CONFIG NUM_PROCS [train.py options]" >&2
    exit 2
fi
# Without CUDA, split the cores between processes instead of oversubscribing them.
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / NPROC > 0 ? $(nproc) / NPROC : 1 ))}
fi

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
