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
from mmengine.config import Config
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
    parser.add_argument("--overview", type=int, default=8, help="pictures in overview.png")
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


def draw_val_predictions(runner: Runner, cfg: Config, out_dir: Path, overview: int) -> Path:
    """Write ``<stem>.png`` (ground truth | prediction) per val image and an overview sheet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model = runner.model
    model.cfg = cfg  # what mmdet's inference_detector reads the test pipeline from
    model.eval()
    dataset = ground_truth_dataset(cfg)
    classes = dataset.metainfo["classes"]
    palette = dataset.metainfo["palette"]
    pictures: List[np.ndarray] = []
    for index in tqdm(range(len(dataset)), desc="drawing", unit="img"):
        sample = dataset[index]
        image_rgb = sample["img"][..., ::-1].copy()
        with torch.no_grad():
            pred = inference_detector(model, sample["img_path"]).pred_instances
        truth = draw_instances(
            image_rgb,
            sample["gt_masks"].masks.astype(bool),
            sample["gt_bboxes_labels"],
            None,
            classes,
            palette,
        )
        guess = draw_instances(image_rgb, pred.masks, pred.labels, pred.scores, classes, palette)
        gap = np.full((image_rgb.shape[0], 4, 3), 255, np.uint8)
        picture = np.concatenate([truth, gap, guess], axis=1)
        stem = Path(sample["img_path"]).stem
        cv2.imwrite(str(out_dir / f"{stem}.png"), picture[..., ::-1])
        if len(pictures) < overview:
            pictures.append(picture)
    sheet = np.concatenate(pictures, axis=0)
    sheet_path = out_dir / "overview.png"
    cv2.imwrite(str(sheet_path), sheet[..., ::-1])
    return sheet_path


def main() -> None:
    """Run the whole demo and print a summary."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    check_splits(cfg)
    start = time.perf_counter()
    runner = train(cfg)
    minutes = (time.perf_counter() - start) / 60
    metrics = evaluate_best(runner, args.work_dir)
    sheet = draw_val_predictions(runner, cfg, Path(args.work_dir) / "overlays", args.overview)
    print(
        "\n== demo summary\n"
        f"training: {minutes:.1f} min on {torch.get_num_threads()} CPU thread(s)\n"
        f"val mask mAP {metrics['coco/segm_mAP']:.3f} "
        f"(AP50 {metrics['coco/segm_mAP_50']:.3f}, AP75 {metrics['coco/segm_mAP_75']:.3f}); "
        f"box mAP {metrics['coco/bbox_mAP']:.3f}\n"
        f"pictures (ground truth | prediction): {sheet.parent} (overview: {sheet})"
    )


if __name__ == "__main__":
    main()
