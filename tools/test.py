"""Evaluate a checkpoint on a config's test split (COCO mask and box AP by default).

Examples::

    python tools/test.py configs/solov2_demo.py work_dirs/solov2_demo/best.pth
    python tools/test.py CONFIG CKPT --show-dir overlays --out results.pkl
"""

from __future__ import annotations

import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)


def parse_args() -> argparse.Namespace:
    """Command-line options, in the style of mmdet 3.x's tools."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--work-dir", help="where the evaluation log goes")
    parser.add_argument("--out", help="dump the predictions to this .pkl file")
    parser.add_argument("--show-dir", help="draw predictions into this folder (under work dir)")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. test_dataloader.batch_size=2",
    )
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    return parser.parse_args()


def build_config(args: argparse.Namespace) -> Config:
    """Load the config and apply the command-line options to it."""
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f"Checkpoint '{args.checkpoint}' does not exist.")
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = (
        args.work_dir
        or cfg.get("work_dir")
        or osp.join("work_dirs", osp.splitext(osp.basename(args.config))[0])
    )
    cfg.load_from = args.checkpoint
    if args.show_dir:
        visualization = cfg.default_hooks.setdefault("visualization", {})
        visualization.update(type="DetVisualizationHook", draw=True, test_out_dir=args.show_dir)
    if args.out:
        if not args.out.endswith((".pkl", ".pickle")):
            raise SystemExit(f"--out must name a .pkl file, got '{args.out}'.")
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = [*evaluators, dict(type="DumpDetResults", out_file_path=args.out)]
    return cfg


def main() -> None:
    """Evaluate and print the metrics."""
    runner = Runner.from_cfg(build_config(parse_args()))
    runner.test()


if __name__ == "__main__":
    main()
