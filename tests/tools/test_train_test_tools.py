"""``tools/train.py configs/solov2_x50.py`` trains as is (shrunk here), resumes, and
``tools/test.py`` evaluates the checkpoint it wrote."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import cv2
import pytest
import torch

import solov2_plugin  # noqa: F401  (allow-lists what our checkpoints hold for torch.load)

REPO = Path(__file__).resolve().parents[2]

# The seed's model at a fraction of its width and input size, on 4 + 2 demo images.
SHRINK = [
    "model.backbone.base_channels=16",
    "model.backbone.groups=4",
    "model.backbone.base_width=4",
    "model.backbone.norm_cfg.num_groups=4",
    "model.neck.in_channels=[64,128,256,512]",
    "model.neck.out_channels=32",
    "model.mask_head.in_channels=32",
    "model.mask_head.feat_channels=32",
    "model.mask_head.stacked_convs=1",
    "model.mask_head.norm_cfg.num_groups=4",
    "model.mask_head.mask_feature_head.in_channels=32",
    "model.mask_head.mask_feature_head.mid_channels=16",
    "model.mask_head.mask_feature_head.out_channels=32",
    "model.mask_head.mask_feature_head.norm_cfg.num_groups=4",
    "train_dataloader.dataset.pipeline.2.scale=(256,128)",
    "val_dataloader.dataset.pipeline.1.scale=(256,128)",
    "train_dataloader.dataset.indices=4",
    "val_dataloader.dataset.indices=2",
    "test_dataloader.dataset.pipeline.1.scale=(256,128)",
    "test_dataloader.dataset.indices=2",
    "train_dataloader.num_workers=0",
    "train_dataloader.persistent_workers=False",
    "val_dataloader.num_workers=0",
    "val_dataloader.persistent_workers=False",
    "test_dataloader.num_workers=0",
    "test_dataloader.persistent_workers=False",
    # Keep every candidate at test time: an untrained model scores ~0.01, and CocoMetric
    # reports nothing at all when nothing is predicted.
    "model.test_cfg.score_thr=0.0",
    "model.test_cfg.filter_thr=0.0",
    "model.test_cfg.nms_pre=50",
    "model.test_cfg.max_per_img=20",
    "randomness.seed=0",
]


METRICS = {
    f"coco/{kind}_mAP{suffix}"
    for kind in ("bbox", "segm")
    for suffix in ("", "_50", "_75", "_s", "_m", "_l")
}
# "Epoch(train) [1][2/2]  lr: ...  loss: 2.0698  loss_mask: 0.9371  loss_cls: 1.1327"
TRAIN_LINE = re.compile(r"Epoch\(train\) +\[(\d+)\]\[(\d+)/(\d+)\] .*")


def run_tool(*args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600, env=env
    )


def run_ok(*args: str) -> str:
    result = run_tool(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def scalars(run_dir: Path) -> List[dict]:
    """The records of a training run's ``vis_data/scalars.json``, one per line."""
    lines = (run_dir / "vis_data" / "scalars.json").read_text().splitlines()
    return [json.loads(line) for line in lines]


def run_dirs(work_dir: Path) -> List[Path]:
    """The timestamped folders of the runs in ``work_dir``, oldest first."""
    return sorted(
        p for p in work_dir.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}_\d{6}", p.name)
    )


def logged_metric(log: str, key: str) -> float:
    """The last value of ``key`` printed in the log (4 decimals)."""
    return float(re.findall(rf"{re.escape(key)}: (-?[\d.]+)", log)[-1])


@pytest.mark.slow
def test_train_x50_resume_then_test(tmp_path):
    work_dir = tmp_path / "work"
    common = ["--work-dir", str(work_dir), "--cfg-options", *SHRINK]
    log = run_ok("tools/train.py", "configs/solov2_x50.py", *common, "train_cfg.max_epochs=1")
    # One log line per iteration (logger interval 1) and one scalars record, whose loss is
    # the sum of the two terms; the log prints them rounded to 4 decimals.
    lines = TRAIN_LINE.finditer(log)
    assert [m.group(1, 2, 3) for m in lines] == [("1", "1", "2"), ("1", "2", "2")]
    (first_run,) = run_dirs(work_dir)
    records = scalars(first_run)
    train = [r for r in records if "loss" in r]
    assert [(r["epoch"], r["iter"], r["step"]) for r in train] == [(1, 1, 1), (1, 2, 2)]
    for record, line in zip(train, TRAIN_LINE.finditer(log)):
        assert record["loss"] == pytest.approx(record["loss_cls"] + record["loss_mask"], rel=1e-6)
        for key in ("loss", "loss_cls", "loss_mask"):
            assert f" {key}: {record[key]:.4f}" in line.group(0)
    (val,) = [r for r in records if "coco/segm_mAP" in r]
    assert val["step"] == 1 and set(val) >= METRICS
    for key in METRICS:
        assert round(val[key], 4) == logged_metric(log, key), key
    assert (work_dir / "best_coco_segm_mAP_epoch_1.pth").is_file()

    checkpoint = torch.load(work_dir / "epoch_1.pth", weights_only=True)
    assert checkpoint["meta"]["dataset_meta"]["classes"] == (
        "disc",
        "block",
        "triangle",
        "ring",
        "rod",
    )
    assert len(checkpoint["meta"]["dataset_meta"]["palette"]) == 5
    assert checkpoint["meta"]["epoch"] == 1 and checkpoint["meta"]["iter"] == 2

    log = run_ok(
        "tools/train.py", "configs/solov2_x50.py", *common, "train_cfg.max_epochs=2", "--resume"
    )
    assert "resumed epoch: 1, iter: 2" in log
    assert [m.group(1, 2) for m in TRAIN_LINE.finditer(log)] == [("2", "1"), ("2", "2")]
    records = scalars(run_dirs(work_dir)[-1])
    assert [r["step"] for r in records if "loss" in r] == [3, 4]  # iterations go on counting
    (val,) = [r for r in records if "coco/segm_mAP" in r]
    assert val["step"] == 2

    show = tmp_path / "show"
    log = run_ok(
        "tools/test.py",
        "configs/solov2_x50.py",
        str(work_dir / "epoch_2.pth"),
        *common,
        "--show-dir",
        str(show),
    )
    assert "Epoch(test) [2/2]" in log
    test_run = run_dirs(work_dir)[-1]
    metrics = json.loads((test_run / f"{test_run.name}.json").read_text())
    assert set(metrics) >= METRICS
    for key in METRICS:
        # The test split is the val split: the checkpoint of epoch 2 scores as validated then.
        assert metrics[key] == pytest.approx(val[key], abs=1e-9), key
        assert round(metrics[key], 4) == logged_metric(log, key), key
    # --show-dir: ground truth | prediction at the images' size (256 x 256) for both images.
    pictures = sorted(show.glob("*.png"))
    assert [p.name for p in pictures] == ["val_0000.png", "val_0001.png"]
    assert cv2.imread(str(pictures[0])).shape == (256, 2 * 256 + 4, 3)


@pytest.mark.slow
def test_train_amp_without_gpu_trains_in_bfloat16(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    args = ["--work-dir", str(tmp_path), "--amp", "--cfg-options", *SHRINK]
    result = run_tool(
        "tools/train.py",
        "configs/solov2_x50.py",
        *args,
        "train_cfg.max_epochs=1",
        "train_cfg.val_interval=2",
        env=env,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "type='NonFiniteLossBF16OptimWrapper'" in log
    train = [r for r in scalars(run_dirs(tmp_path)[0]) if "loss" in r]
    assert [r["iter"] for r in train] == [1, 2]
    for record in train:
        assert record["loss"] == pytest.approx(record["loss_cls"] + record["loss_mask"], rel=1e-6)
        assert 0 < record["loss"] < 10
    state = torch.load(tmp_path / "epoch_1.pth", weights_only=True)["state_dict"]
    assert {value.dtype for value in state.values() if value.is_floating_point()} == {torch.float32}


def test_test_tool_names_a_missing_checkpoint(tmp_path):
    result = run_tool("tools/test.py", "configs/solov2_demo.py", str(tmp_path / "nope.pth"))
    assert result.returncode == 2
    assert f"error: Checkpoint '{tmp_path / 'nope.pth'}' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
