"""SIGKILL a real training at several points, resume with ``--resume auto``, end bit-identical.

``tools/train.py`` trains ``configs/solov2_demo.py`` (4 demo images, batch 2, 2 epochs,
validation on 1 image after each epoch, ``randomness=dict(seed=3, deterministic=True)``) in
subprocesses. The crashed run is killed, in turn,

1. ``val:1`` - during the validation after epoch 1 (epoch_1.pth saved just before),
2. ``train_iter:3`` - between iterations 3 and 4 (in epoch 2),
3. ``checkpoint_write:2`` - while epoch_2.pth is being written,

and resumed with ``--resume auto`` after each kill; before the last resume a torn
epoch_2.pth (what a non-atomic save killed mid-write leaves) is put where last_checkpoint
points: ``--resume auto`` names it and falls back to epoch_1.pth. The final weights,
optimizer state and per-iteration losses must equal the uninterrupted run's exactly.
Five runs of ~25 s each on an idle 2-core machine.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
KILL_POINTS = ["val:1", "train_iter:3", "checkpoint_write:2"]
SMALL_TRAINING = [
    "train_cfg.max_epochs=2",
    "train_cfg.val_interval=1",
    "train_dataloader.batch_size=2",
    "train_dataloader.dataset.indices=4",
    "train_dataloader.num_workers=1",  # one worker: its seeding is part of what must resume
    "val_dataloader.dataset.indices=1",
    "val_dataloader.num_workers=0",
    "val_dataloader.persistent_workers=False",
    "randomness.seed=3",
    "randomness.deterministic=True",
    "default_hooks.checkpoint.interval=1",
    "default_hooks.checkpoint.save_best=None",
    "default_hooks.logger.interval=1",
]
LOSS_KEYS = ("loss", "loss_cls", "loss_mask", "lr")

pytestmark = pytest.mark.slow


def write_config(folder: Path, points: List[str]) -> Path:
    """The demo config plus :class:`CrashAtPointsHook` with ``points``."""
    config = folder / "crash_config.py"
    record = str(folder / "crashes.txt")
    config.write_text(
        f"_base_ = [{str(DEMO_CONFIG)!r}]\n"
        "custom_imports = dict(imports=['solov2_plugin', 'solov2_plugin.testing.crash_hook'],"
        " allow_failed_imports=False)\n"
        "custom_hooks = [dict(type='ClassCountCheckHook'), dict(type='RecordBatchImagesHook'),"
        " dict(type='RandomStateCheckpointHook'), dict(type='PortableCheckpointHook'),"
        f" dict(type='CrashAtPointsHook', points={points!r}, record={record!r})]\n"
    )
    return config


class Run(NamedTuple):
    returncode: int
    output: str


def train(config: Path, work_dir: Path, resume: bool) -> Run:
    """Run ``tools/train.py`` on ``config`` (with ``--resume auto`` when ``resume``).

    The run has its own session; once its main process ends (killed or not), whatever is
    left of the session (a DataLoader worker orphaned by SIGKILL) is killed too. The output
    goes to a file: an orphan holding a pipe open would block reading it.
    """
    command = [sys.executable, "tools/train.py", str(config), "--work-dir", str(work_dir)]
    if resume:
        command += ["--resume", "auto"]
    log = work_dir.parent / f"{work_dir.name}_{len(list(work_dir.parent.glob('*.out')))}.out"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [*command, "--cfg-options", *SMALL_TRAINING],
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=600)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
    return Run(returncode, log.read_text())


def logged_losses(work_dir: Path) -> Dict[int, tuple]:
    """Step -> (loss, loss_cls, loss_mask, lr) over every run's ``scalars.json``, later runs
    overriding the steps an earlier, killed run had logged."""
    losses: Dict[int, tuple] = {}
    for scalars in sorted(work_dir.glob("*/vis_data/scalars.json")):  # timestamped run dirs
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            if "loss" in record:
                losses[record["step"]] = tuple(record[key] for key in LOSS_KEYS)
    return losses


def last_checkpoint(work_dir: Path) -> str:
    return Path((work_dir / "last_checkpoint").read_text().strip()).name


def assert_same_training(reference: Path, resumed: Path) -> None:
    """Weights, optimizer state and logged loss histories are exactly equal."""
    ref = torch.load(reference, weights_only=True)
    res = torch.load(resumed, weights_only=True)
    assert ref["state_dict"].keys() == res["state_dict"].keys()
    weights, resumed_weights = ref["state_dict"], res["state_dict"]
    differing = [k for k in weights if not torch.equal(weights[k], resumed_weights[k])]
    assert not differing, f"{len(differing)} tensors differ, e.g. {differing[:3]}"
    for index, state in ref["optimizer"]["state"].items():
        for key, value in state.items():
            assert torch.equal(value, res["optimizer"]["state"][index][key]), (index, key)
    for key in ("train/loss", "train/loss_cls", "train/loss_mask", "train/lr"):
        assert ref["message_hub"]["log_scalars"][key] == res["message_hub"]["log_scalars"][key]


def test_killed_three_times_then_resumed_ends_bit_identical(tmp_path):
    reference_dir, crashed_dir = tmp_path / "reference", tmp_path / "crashed"
    reference = train(write_config(tmp_path, []), reference_dir, resume=False)
    assert reference.returncode == 0, reference.output[-3000:]

    crash_config = write_config(tmp_path, KILL_POINTS)
    first = train(crash_config, crashed_dir, resume=False)
    assert first.returncode == -signal.SIGKILL, first.output[-3000:]
    for fired in range(2, len(KILL_POINTS) + 1):
        resumed = train(crash_config, crashed_dir, resume=True)
        assert resumed.returncode == -signal.SIGKILL, resumed.output[-3000:]
        fired_points = (tmp_path / "crashes.txt").read_text().split()
        assert fired_points == KILL_POINTS[:fired]
    # Killed during the write of epoch_2.pth: only its temporary file exists, and
    # last_checkpoint still names the complete epoch_1.pth.
    assert not (crashed_dir / "epoch_2.pth").exists()
    assert list(crashed_dir.glob(".epoch_2.pth.tmp-*"))
    assert last_checkpoint(crashed_dir) == "epoch_1.pth"

    # A torn epoch_2.pth, as a non-atomic save killed mid-write leaves, named by
    # last_checkpoint: the resume names it in a warning and falls back to epoch_1.pth.
    torn = crashed_dir / "epoch_2.pth"
    torn.write_bytes((reference_dir / "epoch_2.pth").read_bytes()[:1_000_000])
    (crashed_dir / "last_checkpoint").write_text(str(torn))

    final = train(crash_config, crashed_dir, resume=True)
    assert final.returncode == 0, final.output[-3000:]
    assert f"Checkpoint '{torn}' cannot be resumed from" in final.output
    assert "resumed epoch: 1, iter: 2" in final.output
    assert_same_training(reference_dir / "epoch_2.pth", crashed_dir / "epoch_2.pth")
    assert logged_losses(crashed_dir) == logged_losses(reference_dir)
    assert len(logged_losses(reference_dir)) == 4
