"""Train a model from an mmengine config (single process, or one process per rank).

Examples::

    python tools/train.py configs/solov2_demo.py
    python tools/train.py configs/solov2_x50.py --work-dir work_dirs/x50 --resume auto
    torchrun --nproc-per-node 2 tools/train.py configs/solov2_demo.py --launcher pytorch
"""

from __future__ import annotations

import argparse
import os
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)
from solov2_plugin.apis.runner_config import LAUNCHERS, build_train_config
from solov2_plugin.engine import CorruptCheckpointError, UnsafeCheckpointError
from solov2_plugin.engine.cpu_distributed import join_cpu_process_group


def parse_args() -> argparse.Namespace:
    """Command-line options, in the style of mmdet 3.x's tools."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file, e.g. configs/solov2_demo.py")
    parser.add_argument("--work-dir", help="where logs and checkpoints go")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="auto|PATH",
        help="resume from PATH, or from the latest checkpoint in the work dir with 'auto'",
    )
    parser.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision: float16 on a CUDA GPU, bfloat16 on a CPU (fast where it has "
        "AVX512-BF16 or AMX)",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. train_cfg.max_epochs=2",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main() -> int:
    """Train; return the exit status (2 for a bad option or a checkpoint that must not or
    cannot be loaded, with one line saying why)."""
    args = parse_args()
    try:
        cfg = build_train_config(
            args.config,
            work_dir=args.work_dir,
            cfg_options=args.cfg_options,
            launcher=args.launcher,
            resume=args.resume,
            amp=args.amp,
        )
    except (FileNotFoundError, ValueError, UnsafeCheckpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    join_cpu_process_group(cfg)
    try:
        Runner.from_cfg(cfg).train()
    except (UnsafeCheckpointError, CorruptCheckpointError) as error:  # load_from names one
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
