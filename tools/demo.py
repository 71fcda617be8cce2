"""The main job on the embedded demo data: check it, train, evaluate, draw.

1. checks both demo splits (as ``tools/check_dataset.py``) and stops on any problem;
2. trains ``configs/solov2_demo.py`` (a small SOLOv2 from scratch, fixed seed), keeping
   the checkpoint with the best COCO mask mAP on the val split;
3. evaluates that checkpoint on the val split and prints its COCO mask and box AP;
4. draws ground truth beside prediction for the val images into ``<work-dir>/overlays``,
   with ``overview.png`` gathering the first few.

Usage::

    python tools/demo.py [--config configs/solov2_demo.py] [--work-dir work_dirs/solov2_demo]
"""

from __future__ import annotations

import argparse
import os.path as osp
import sys
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)
from solov2_plugin.apis.demo import (
    find_best_checkpoint,
    format_coco_metrics,
    require_best_checkpoint,
)
from solov2_plugin.apis.runner_config import load_config
from solov2_plugin.datasets import check_split
from solov2_plugin.engine import GTPredOverlayHook
from solov2_plugin.visualization import write_overview


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/solov2_demo.py")
    parser.add_argument("--work-dir", default="work_dirs/solov2_demo")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. train_cfg.max_epochs=10",
    )
    parser.add_argument(
        "--skip-training",
        action="store_true",
        help="evaluate and draw the best checkpoint already in the work dir",
    )
    parser.add_argument("--overview", type=int, default=8, help="pictures in overview.png")
    parser.add_argument(
        "--show-score-thr", type=float, default=0.3, help="draw predictions scoring above this"
    )
    return parser.parse_args()


def check_splits(cfg: Config) -> bool:
    """Check the train and val splits as ``tools/check_dataset.py`` does; False on any problem."""
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        root = loader.dataset.data_root
        print(f"== checking {root}", flush=True)
        report = check_split(root, classes=cfg.classes)
        for line in report.lines():
            print(line)
        if report.exit_status != 0:
            print(f"error: the demo data in '{root}' has problems (listed above).", file=sys.stderr)
            return False
    return True


def main() -> int:
    """Run the whole demo and print a summary; return the exit status."""
    args = parse_args()
    try:
        cfg = load_config(args.config, args.work_dir, args.cfg_options)
        best = require_best_checkpoint(cfg.work_dir) if args.skip_training else None
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not check_splits(cfg):
        return 1
    overlays = osp.join(cfg.work_dir, "overlays")
    hook = dict(type="GTPredOverlayHook", out_dir=osp.abspath(overlays))
    hook.update(score_thr=args.show_score_thr)
    cfg.custom_hooks = [*cfg.get("custom_hooks", []), hook]
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    if not args.skip_training:
        runner.train()
        best = find_best_checkpoint(cfg.work_dir)
    minutes = (time.perf_counter() - start) / 60
    if best is None:
        print("== no best checkpoint was saved (no validation ran): evaluating the last weights")
    else:
        runner.load_checkpoint(best)
        print(f"== evaluating {best}")
    metrics = runner.test()  # also draws the pictures (GTPredOverlayHook)
    drawn = next(hook for hook in runner.hooks if isinstance(hook, GTPredOverlayHook)).written
    sheet = osp.join(overlays, "overview.png")
    if drawn and args.overview > 0:
        write_overview(drawn[: args.overview], sheet)
    print("\n== demo summary")
    if not args.skip_training:
        print(f"training: {minutes:.1f} min on {torch.get_num_threads()} CPU thread(s)")
    print(
        f"val {format_coco_metrics(metrics)}\n"
        f"pictures (ground truth | prediction): {overlays} (overview: {sheet})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
