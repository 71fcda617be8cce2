"""Train a model from an mmengine config (single process, or one process per rank).

Examples::

    python tools/train.py configs/solov2_demo.py
    python tools/train.py configs/solov2_x50.py --work-dir work_dirs/x50 --resume auto
    torchrun --nproc-per-node 2 tools/train.py configs/solov2_demo.py --launcher pytorch
"""

from __future__ import annotations

import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)


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
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. train_cfg.max_epochs=2",
    )
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options to it."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = (
        args.work_dir
        or cfg.get("work_dir")
        or osp.join("work_dirs", osp.splitext(osp.basename(args.config))[0])
    )
    if args.amp:
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.resume == "auto":
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main() -> None:
    """Train."""
    runner = Runner.from_cfg(build_config(parse_args()))
    runner.train()


if __name__ == "__main__":
    main()
