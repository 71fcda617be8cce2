"""Evaluate a checkpoint on a config's test split (COCO mask and box AP by default).

Examples::

    python tools/test.py configs/solov2_demo.py work_dirs/solov2_demo/best.pth
    python tools/test.py CONFIG CKPT --show-dir overlays --out results.pkl
"""

from __future__ import annotations

import argparse
import sys

from mmengine.config import DictAction
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)
from solov2_plugin.apis.runner_config import LAUNCHERS, build_test_config
from solov2_plugin.engine import CorruptCheckpointError, UnsafeCheckpointError


def parse_args() -> argparse.Namespace:
    """Command-line options, in the style of mmdet 3.x's tools."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="config file")
    parser.add_argument("checkpoint", help="checkpoint file (.pth)")
    parser.add_argument("--work-dir", help="where the evaluation log goes")
    parser.add_argument("--out", help="dump the predictions to this .pkl file")
    parser.add_argument(
        "--show-dir",
        help="draw ground truth | prediction per image into this folder "
        "(a relative one lies under <work dir>/<timestamp>/)",
    )
    parser.add_argument(
        "--show-score-thr", type=float, default=0.3, help="draw predictions scoring above this"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. test_dataloader.batch_size=2",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none")
    return parser.parse_args()


def main() -> int:
    """Evaluate and print the metrics; return the exit status (2 for a bad option or a
    checkpoint refused as unsafe, with one line saying why)."""
    args = parse_args()
    try:
        cfg = build_test_config(
            args.config,
            args.checkpoint,
            work_dir=args.work_dir,
            cfg_options=args.cfg_options,
            launcher=args.launcher,
            out=args.out,
            show_dir=args.show_dir,
            show_score_thr=args.show_score_thr,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        Runner.from_cfg(cfg).test()
    except (UnsafeCheckpointError, CorruptCheckpointError) as error:  # refused or unreadable
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
