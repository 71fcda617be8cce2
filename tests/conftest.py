"""Suite-wide pytest set-up.

- Tests marked ``cuda`` are skipped on machines without a GPU.
- ``tiny_checkpoint``: ``configs/solov2_demo.py`` trained for one iteration (4 demo images, no
  validation) by ``tools/train.py`` in a subprocess, once per test session: its predictions are
  poor but real, and its checkpoint is what a user's training writes (weights, ``dataset_meta``
  with classes and palette). ``predictor`` and ``keep_all`` build on it.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.cuda`` tests, with the reason shown, when CUDA is not available."""
    if torch.cuda.is_available():
        return
    skip_cuda = pytest.mark.skip(reason="needs a CUDA GPU (run on the GPU machine)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip_cuda)


REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"

# One iteration of 4 images, no validation, one checkpoint: ~30 s on 2 CPU cores.
TINY_TRAINING = [
    "train_cfg.max_epochs=1",
    "train_dataloader.batch_size=4",
    "train_dataloader.dataset.indices=4",
    "train_dataloader.num_workers=0",
    "train_dataloader.persistent_workers=False",
    "val_cfg=None",
    "val_dataloader=None",
    "val_evaluator=None",
    "default_hooks.checkpoint.save_best=None",
]
# The barely trained model scores every candidate low: keep them all, at most 8 per image.
KEEP_ALL = dict(score_thr=0.0, filter_thr=0.0, max_per_img=8)


def train_tiny_checkpoint(work_dir: Path) -> Path:
    """Train the tiny demo model into ``work_dir`` (once: an existing checkpoint is reused).

    Returns:
        Path: ``work_dir/epoch_1.pth``.
    """
    checkpoint = work_dir / "epoch_1.pth"
    if checkpoint.is_file():
        return checkpoint
    command = [sys.executable, "tools/train.py", str(DEMO_CONFIG), "--work-dir", str(work_dir)]
    result = subprocess.run(
        [*command, "--cfg-options", *TINY_TRAINING],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert checkpoint.is_file(), f"tools/train.py wrote no {checkpoint}"
    return checkpoint


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of ``configs/solov2_demo.py`` after one training iteration."""
    return train_tiny_checkpoint(tmp_path_factory.getbasetemp() / "tiny_solov2")


@pytest.fixture(scope="session")
def predictor(tiny_checkpoint: Path):
    """``SOLOv2Predictor`` on the tiny checkpoint, on the CPU, keeping 8 instances an image."""
    from solov2_plugin.apis import SOLOv2Predictor

    return SOLOv2Predictor(DEMO_CONFIG, tiny_checkpoint, device="cpu", **KEEP_ALL)


@pytest.fixture(scope="session")
def keep_all() -> dict:
    """Test settings keeping every candidate of the barely trained model, 8 an image at most."""
    return dict(KEEP_ALL)
