"""What ``tools/demo.py`` needs besides the runner: its best checkpoint and its summary line."""

from __future__ import annotations

import glob
import os.path as osp
from typing import Mapping, Optional

BEST_PREFIX = "best_coco_segm_mAP_"


def best_checkpoint_pattern(work_dir: str) -> str:
    """Glob of the checkpoints that mmengine's ``save_best='coco/segm_mAP'`` writes.

    Args:
        work_dir: The run's work dir.

    Returns:
        str: ``<work_dir>/best_coco_segm_mAP_*.pth``.
    """
    return osp.join(work_dir, f"{BEST_PREFIX}*.pth")


def find_best_checkpoint(work_dir: str) -> Optional[str]:
    """The newest best-mask-mAP checkpoint in ``work_dir``, or None when there is none.

    Args:
        work_dir: The run's work dir.

    Returns:
        str | None: Path of the most recently written ``best_coco_segm_mAP_*.pth``.
    """
    found = sorted(glob.glob(best_checkpoint_pattern(work_dir)), key=osp.getmtime)
    return found[-1] if found else None


def require_best_checkpoint(work_dir: str) -> str:
    """Like :func:`find_best_checkpoint`, but a missing checkpoint is an error.

    Args:
        work_dir: The run's work dir.

    Returns:
        str: Path of the newest best checkpoint.

    Raises:
        FileNotFoundError: Nothing matches the glob; the message names it and how to get one.
    """
    best = find_best_checkpoint(work_dir)
    if best is None:
        raise FileNotFoundError(
            f"No checkpoint to evaluate: nothing matches '{best_checkpoint_pattern(work_dir)}'. "
            "Train one first (run tools/demo.py without --skip-training, or `make demo`), or "
            "point --work-dir at the work dir of a finished demo run."
        )
    return best


def format_coco_metrics(metrics: Mapping[str, float]) -> str:
    """One line of COCO APs from mmdet's ``CocoMetric`` results.

    ``CocoMetric`` reports no AP when nothing was predicted; such an AP counts as 0.

    Args:
        metrics: ``runner.test()``'s results, e.g. ``{'coco/segm_mAP': 0.4, ...}``.

    Returns:
        str: e.g. ``'mask mAP 0.400 (AP50 0.747, AP75 0.382); box mAP 0.362'``.
    """

    def ap(name: str) -> float:
        return float(metrics.get(f"coco/{name}", 0.0))

    return (
        f"mask mAP {ap('segm_mAP'):.3f} (AP50 {ap('segm_mAP_50'):.3f}, "
        f"AP75 {ap('segm_mAP_75'):.3f}); box mAP {ap('bbox_mAP'):.3f}"
    )
