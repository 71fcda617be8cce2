#!/usr/bin/env bash
# Train on a slurm cluster, one task per GPU, as mmdet's tools/slurm_train.sh does: srun
# starts the tasks and mmengine's slurm launcher builds the process group from slurm's
# variables (SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST).
#
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]
#
# Needs CUDA: mmengine's slurm launcher calls torch.cuda.set_device and uses the nccl
# backend, so it does not run on CPU-only nodes (for CPUs, use tools/dist_train.sh).
#
# Environment (defaults in brackets):
#   GPUS           tasks (GPUs) in all [8]
#   GPUS_PER_NODE  tasks (GPUs) per node [8]
#   CPUS_PER_TASK  CPU cores per task, for the data loader's workers [5]
#   SRUN_ARGS      further srun options, e.g. "--quotatype=auto" or "--time=12:00:00" []
#   PYTHON         interpreter [python]
#   MASTER_PORT    rendezvous port (mmengine's default 29500 when unset)
# Each task's batch is train_dataloader.batch_size, so the total batch is GPUS x batch_size.
set -euo pipefail

if [ "$#" -lt 4 ]; then
    echo "usage: bash $0 PARTITION JOB_NAME CONFIG WORK_DIR [train.py options...]" >&2
    echo "  env: GPUS [8], GPUS_PER_NODE [8], CPUS_PER_TASK [5], SRUN_ARGS [], PYTHON [python]" >&2
    exit 2
fi

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
shift 4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
TOOLS=$(dirname "$0")

# SRUN_ARGS is split into words on purpose (several options in one variable).
# shellcheck disable=SC2086
PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}" \
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres="gpu:$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$TOOLS/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "$@"
