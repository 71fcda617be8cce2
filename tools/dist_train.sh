#!/usr/bin/env bash
# Train with one process per device (or per CPU share) on this machine, or on each of
# several machines, through torchrun (python -m torch.distributed.run), as mmdet's
# tools/dist_train.sh does.
#
#   bash tools/dist_train.sh CONFIG NPROC [train.py options...]
#
# CONFIG  an mmengine config, e.g. configs/solov2_demo.py
# NPROC   processes on this machine (one per GPU; on a machine without CUDA they train on
#         the CPUs over gloo, see solov2_plugin/engine/cpu_distributed.py)
# Further arguments go to tools/train.py (--work-dir, --resume, --amp, --cfg-options ...).
#
# Environment (defaults in brackets):
#   NNODES       machines taking part [1]
#   NODE_RANK    this machine's index, 0 .. NNODES-1 [0]
#   MASTER_ADDR  address of machine 0, reachable from all [127.0.0.1]
#   PORT         free TCP port on machine 0 [29500]
#   PYTHON       interpreter [python]
# Several machines: run the same command on each, with the same NNODES, MASTER_ADDR and PORT
# and its own NODE_RANK. Each process's batch is train_dataloader.batch_size, so the total
# batch is NNODES x NPROC x batch_size.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: bash $0 CONFIG NPROC [train.py options...]" >&2
    echo "  env: NNODES [1], NODE_RANK [0], MASTER_ADDR [127.0.0.1], PORT [29500], PYTHON [python]" >&2
    exit 2
fi

CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PORT=${PORT:-29500}
PYTHON=${PYTHON:-python}
TOOLS=$(dirname "$0")

PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node-rank="$NODE_RANK" \
    --master-addr="$MASTER_ADDR" \
    --master-port="$PORT" \
    --nproc-per-node="$NPROC" \
    "$TOOLS/train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
