"""``tools/demo.py`` (what ``make demo`` runs) checks, trains, evaluates and draws end to end."""

import subprocess
import sys
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[2]

# One short epoch on 8 + 4 demo images: the pipeline, not the accuracy, is under test.
QUICK = [
    "train_cfg.max_epochs=1",
    "train_cfg.val_interval=1",
    "train_dataloader.dataset.indices=8",
    "val_dataloader.dataset.indices=4",
    "test_dataloader.dataset.indices=4",
    "train_dataloader.num_workers=0",
    "train_dataloader.persistent_workers=False",
    "val_dataloader.num_workers=0",
    "val_dataloader.persistent_workers=False",
    "test_dataloader.num_workers=0",
    "test_dataloader.persistent_workers=False",
]


def test_demo_runs_end_to_end(tmp_path):
    work_dir = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "tools/demo.py",
            "--work-dir",
            str(work_dir),
            "--overview",
            "4",
            "--cfg-options",
            *QUICK,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count("0 problem(s), 0 warning(s)") == 2  # both splits checked
    assert "== demo summary" in out and "val mask mAP" in out
    overlays = sorted((work_dir / "overlays").glob("val_*.png"))
    assert len(overlays) == 4
    pair = cv2.imread(str(overlays[0]))
    assert pair.shape == (256, 2 * 256 + 4, 3)  # ground truth | gap | prediction
    sheet = cv2.imread(str(work_dir / "overlays" / "overview.png"))
    assert sheet.shape == (2 * 256, 2 * (2 * 256 + 4) + 8, 3)
