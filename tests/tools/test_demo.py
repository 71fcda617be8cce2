"""``tools/demo.py`` (what ``make demo`` runs) checks, trains, evaluates and draws end to end."""

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from mmengine.runner import Runner

import solov2_plugin  # noqa: F401  (registers our modules, enables safe checkpoints)
from solov2_plugin.apis.runner_config import build_test_config

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "configs" / "solov2_demo.py")

# Two short epochs on 16 + 4 demo images (seed 0, CPU: deterministic). Every candidate is
# kept at test time so that the barely trained model predicts something to score.
QUICK = {
    "train_cfg.max_epochs": 2,
    "train_cfg.val_interval": 1,
    "train_dataloader.dataset.indices": 16,
    "val_dataloader.dataset.indices": 4,
    "test_dataloader.dataset.indices": 4,
    "train_dataloader.num_workers": 0,
    "train_dataloader.persistent_workers": False,
    "val_dataloader.num_workers": 0,
    "val_dataloader.persistent_workers": False,
    "test_dataloader.num_workers": 0,
    "test_dataloader.persistent_workers": False,
    "model.test_cfg.score_thr": 0.0,
    "model.test_cfg.filter_thr": 0.0,
}
SUMMARY = re.compile(r"val mask mAP ([\d.]+) \(AP50 ([\d.]+), AP75 ([\d.]+)\); box mAP ([\d.]+)")
KEYS = ("coco/segm_mAP", "coco/segm_mAP_50", "coco/segm_mAP_75", "coco/bbox_mAP")


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/demo.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path):
    work_dir = tmp_path / "demo"
    options = [f"{key}={value}" for key, value in QUICK.items()]
    result = run_demo("--work-dir", str(work_dir), "--overview", "3", "--cfg-options", *options)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count("0 problem(s), 0 warning(s)") == 2  # both splits checked
    assert "== demo summary" in out
    printed = [float(value) for value in SUMMARY.search(out).groups()]

    # The best checkpoint is the one validated last or best: its metrics in scalars.json.
    (best,) = work_dir.glob("best_coco_segm_mAP_epoch_*.pth")
    epoch = int(best.stem.rsplit("_", 1)[1])
    (run_dir,) = [p for p in work_dir.iterdir() if re.fullmatch(r"\d{8}_\d{6}", p.name)]
    records = [json.loads(line) for line in (run_dir / "vis_data" / "scalars.json").open()]
    validated = [r for r in records if "coco/segm_mAP" in r]
    assert [r["step"] for r in validated] == [1, 2]
    logged = validated[epoch - 1]
    assert logged["coco/segm_mAP"] == max(r["coco/segm_mAP"] for r in validated)
    assert printed == [round(logged[key], 3) for key in KEYS]

    # Evaluated again here from the saved checkpoint: the same values.
    cfg = build_test_config(DEMO, str(best), work_dir=str(tmp_path / "again"), cfg_options=QUICK)
    metrics = Runner.from_cfg(cfg).test()
    assert printed == [round(metrics[key], 3) for key in KEYS]
    assert metrics["coco/segm_mAP_50"] > 0  # something was found: the check is not 0 == 0

    overlays = work_dir / "overlays"
    pairs = sorted(overlays.glob("val_*.png"))
    assert [p.name for p in pairs] == [f"val_000{i}.png" for i in range(4)]
    assert cv2.imread(str(pairs[0])).shape == (256, 2 * 256 + 4, 3)  # truth | gap | prediction
    sheet = cv2.imread(str(overlays / "overview.png"))
    assert sheet.shape == (2 * 256, 2 * (2 * 256 + 4) + 8, 3)  # 3 pairs, 2 per row
    assert (sheet[256:, 2 * 256 + 4 + 8 :] == 255).all()  # the fourth cell is blank


def test_demo_skip_training_without_checkpoint_names_what_it_looked_for(tmp_path):
    result = run_demo("--skip-training", "--work-dir", str(tmp_path / "none"))
    assert result.returncode == 2
    expected = str(tmp_path / "none" / "best_coco_segm_mAP_*.pth")
    assert f"No checkpoint to evaluate: nothing matches '{expected}'" in result.stderr
    assert "without --skip-training, or `make demo`" in result.stderr
    assert "Traceback" not in result.stderr and "mAP 0" not in result.stdout
