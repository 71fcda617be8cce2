"""The main job on the embedded demo data: check it, train, evaluate, draw.

1. checks both demo splits (``tools/check_dataset.py``) and stops on any problem;
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
import glob
import os.path as osp
import sys
import time
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import torch
from mmdet.apis import inference_detector
from mmdet.registry import DATASETS
from mmengine.config import Config, DictAction
from mmengine.runner import Runner
from tqdm import tqdm

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)
from solov2_plugin.visualization import draw_instances

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from check_dataset import main as check_split  # noqa: E402  (sibling tool)


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


def check_splits(cfg: Config) -> None:
    """Stop with the checker's report when a split has problems."""
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        root = loader.dataset.data_root
        print(f"== checking {root}")
        if check_split([root, "--classes", *cfg.classes, "--no-progress"]) != 0:
            raise SystemExit(f"The demo data in '{root}' has problems (listed above).")


def train(cfg: Config) -> Runner:
    """Train with the config; return the runner (its model holds the last weights)."""
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def evaluate_best(runner: Runner, work_dir: str) -> Dict[str, float]:
    """Load the best checkpoint into the runner's model and evaluate it on the val split."""
    best = sorted(glob.glob(osp.join(work_dir, "best_coco_segm_mAP_*.pth")), key=osp.getmtime)
    if best:
        runner.load_checkpoint(best[-1])
        print(f"== evaluating {best[-1]}")
    return runner.test()


def ground_truth_dataset(cfg: Config):
    """The val split, loading images and ground-truth masks at their original size."""
    dataset_cfg = cfg.val_dataloader.dataset.copy()
    dataset_cfg.pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadSeedInstanceMasks")]
    return DATASETS.build(dataset_cfg)


def draw_val_predictions(
    runner: Runner, cfg: Config, out_dir: Path, overview: int, score_thr: float
) -> Path:
    """Write ``<stem>.png`` (ground truth | prediction) per val image and an overview sheet.

    The overview puts two pairs side by side per row. Only predictions scoring above
    ``score_thr`` are drawn (evaluation keeps the low-scoring ones, which COCO AP needs).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model = runner.model
    model.cfg = cfg  # what mmdet's inference_detector reads the test pipeline from
    model.eval()
    dataset = ground_truth_dataset(cfg)
    classes = dataset.metainfo["classes"]
    palette = dataset.metainfo["palette"]
    pictures: List[np.ndarray] = []
    gap = None
    for index in tqdm(range(len(dataset)), desc="drawing", unit="img"):
        sample = dataset[index]
        image_rgb = sample["img"][..., ::-1].copy()
        with torch.no_grad():
            pred = inference_detector(model, sample["img_path"]).pred_instances
        pred = pred[pred.scores > score_thr]
        truth = draw_instances(
            image_rgb,
            sample["gt_masks"].masks.astype(bool),
            sample["gt_bboxes_labels"],
            None,
            classes,
            palette,
        )
        guess = draw_instances(image_rgb, pred.masks, pred.labels, pred.scores, classes, palette)
        gap = np.full((truth.shape[0], 4, 3), 255, np.uint8)
        picture = np.concatenate([truth, gap, guess], axis=1)
        stem = Path(sample["img_path"]).stem
        cv2.imwrite(str(out_dir / f"{stem}.png"), picture[..., ::-1])
        if len(pictures) < overview:
            pictures.append(picture)
    if len(pictures) % 2:
        pictures.append(np.full_like(pictures[0], 255))
    pairs = zip(pictures[0::2], pictures[1::2])
    rows = [np.concatenate([left, gap, gap, right], axis=1) for left, right in pairs]
    sheet = np.concatenate(rows, axis=0)
    sheet_path = out_dir / "overview.png"
    cv2.imwrite(str(sheet_path), sheet[..., ::-1])
    return sheet_path


def format_metrics(metrics: Dict[str, float]) -> str:
    """One line of COCO APs; CocoMetric reports none when nothing was predicted: AP 0."""

    def ap(name: str) -> float:
        return metrics.get(f"coco/{name}", 0.0)

    return (
        f"mask mAP {ap('segm_mAP'):.3f} (AP50 {ap('segm_mAP_50'):.3f}, "
        f"AP75 {ap('segm_mAP_75'):.3f}); box mAP {ap('bbox_mAP'):.3f}"
    )


def main() -> None:
    """Run the whole demo and print a summary."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir
    check_splits(cfg)
    start = time.perf_counter()
    runner = Runner.from_cfg(cfg) if args.skip_training else train(cfg)
    minutes = (time.perf_counter() - start) / 60
    metrics = evaluate_best(runner, args.work_dir)
    sheet = draw_val_predictions(
        runner, cfg, Path(args.work_dir) / "overlays", args.overview, args.show_score_thr
    )
    print("\n== demo summary")
    if not args.skip_training:
        print(f"training: {minutes:.1f} min on {torch.get_num_threads()} CPU thread(s)")
    print(
        f"val {format_metrics(metrics)}\n"
        f"pictures (ground truth | prediction): {sheet.parent} (overview: {sheet})"
    )


if __name__ == "__main__":
    main()
