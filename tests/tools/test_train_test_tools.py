"""``tools/train.py configs/solov2_x50.py`` trains as is (shrunk here), resumes, and
``tools/test.py`` evaluates the checkpoint it wrote."""

import subprocess
import sys
from pathlib import Path

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
    "model.neck.norm_cfg.num_groups=4",
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
]


def run_tool(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_train_x50_resume_then_test(tmp_path):
    work_dir = str(tmp_path / "work")
    common = ["--work-dir", work_dir, "--cfg-options", *SHRINK]
    log = run_tool("tools/train.py", "configs/solov2_x50.py", *common, "train_cfg.max_epochs=1")
    assert "Epoch(train) [1][2/2]" in log
    assert "coco/segm_mAP" in log  # validated with CocoMetric built from the samples

    checkpoint = torch.load(Path(work_dir) / "epoch_1.pth", weights_only=True)
    assert checkpoint["meta"]["dataset_meta"]["classes"] == (
        "disc",
        "block",
        "triangle",
        "ring",
        "rod",
    )
    assert len(checkpoint["meta"]["dataset_meta"]["palette"]) == 5

    log = run_tool(
        "tools/train.py", "configs/solov2_x50.py", *common, "train_cfg.max_epochs=2", "--resume"
    )
    assert "resumed epoch: 1" in log
    assert "Epoch(train) [2][2/2]" in log

    log = run_tool(
        "tools/test.py",
        "configs/solov2_x50.py",
        str(Path(work_dir) / "epoch_2.pth"),
        *common,
    )
    assert "Epoch(test) [2/2]" in log and "coco/segm_mAP" in log
