"""Checkpoints save, load and resume under torch's ``weights_only=True`` loading; files with
pickled code are refused naming the file."""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch import nn
from torch.utils.data import Dataset

from solov2_plugin.engine import (
    ATOMIC_BACKEND,
    AtomicLocalBackend,
    UnsafeCheckpointError,
    atomic_write,
    load_from_local_safely,
)
from solov2_plugin.engine.checkpoint import rebuild_history_buffer
from solov2_plugin.engine.portable_state import TAG


class ToyRegressor(BaseModel):
    """y = w x + b, enough for the runner to log losses into HistoryBuffers."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets, mode="tensor"):
        preds = self.linear(torch.stack(inputs))
        if mode == "loss":
            return {"loss": ((preds.squeeze(1) - torch.stack(targets)) ** 2).mean()}
        return preds


class ToyData(Dataset):
    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        x = torch.tensor([float(index), 1.0])
        return {"inputs": x, "targets": x.sum()}


def make_runner(work_dir, max_iters: int, resume: bool, load_from=None) -> Runner:
    return Runner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type="DefaultSampler", shuffle=False),
            batch_size=2,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.001)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type="AtomicCheckpointHook", interval=2, by_epoch=False),
            logger=dict(type="LoggerHook", interval=1),
        ),
        custom_hooks=[dict(type="PortableCheckpointHook")],
        resume=resume,
        load_from=load_from,
        default_scope="mmdet",
        experiment_name=f"toy_{os.path.basename(str(work_dir))}_{max_iters}_{resume}",
    )


def test_train_save_resume_reaches_iteration_4(tmp_path):
    make_runner(tmp_path, max_iters=2, resume=False).train()
    checkpoint = tmp_path / "iter_2.pth"
    assert checkpoint.is_file()
    assert (tmp_path / "last_checkpoint").read_text() == str(checkpoint)
    # The saved message hub is plain data: torch's strict loader accepts it as is.
    state = torch.load(checkpoint, weights_only=True)
    saved_loss = state["message_hub"]["log_scalars"]["train/loss"]
    assert saved_loss[TAG] == "HistoryBuffer" and len(saved_loss["log"]) == 2

    runner = make_runner(tmp_path, max_iters=4, resume=True)
    runner.train()
    assert runner.iter == 4
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 4  # two iterations before the resume, two after
    np.testing.assert_array_equal(losses[:2], saved_loss["log"])  # restored, not re-logged


def test_checkpoint_of_an_earlier_plugin_version_still_loads(tmp_path):
    """Earlier versions pickled HistoryBuffers as calls of rebuild_history_buffer."""

    class LegacyBuffer:
        def __reduce__(self):
            return rebuild_history_buffer, ([1.5, 2.25, 3.0], [1.0, 1.0, 1.0], 10)

    path = tmp_path / "legacy.pth"
    torch.save({"buffer": LegacyBuffer(), "array": np.arange(3, dtype=np.int32)}, path)
    loaded = load_from_local_safely(str(path))
    np.testing.assert_array_equal(loaded["buffer"].data[0], [1.5, 2.25, 3.0])
    assert loaded["buffer"].max_length == 10
    np.testing.assert_array_equal(loaded["array"], np.arange(3, dtype=np.int32))
    # The allow-list is scoped to our loader: plain torch.load still refuses the file.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


class CallsGetattr:
    """Pickles as ``getattr('text', 'upper')``: a generic callable, which must be refused."""

    def __reduce__(self):
        return getattr, ("text", "upper")


class RunsShellCommand:
    """Pickles as ``os.system(command)``: code run by whoever unpickles it unsafely."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_checkpoint_with_pickled_callable_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": CallsGetattr()}, path)
    with pytest.raises(UnsafeCheckpointError, match="evil.pth"):
        CheckpointLoader.load_checkpoint(str(path))


def test_load_from_a_checkpoint_running_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "shell.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": RunsShellCommand(f"touch {marker}")}, path)
    runner = make_runner(tmp_path / "work", max_iters=2, resume=False, load_from=str(path))
    with pytest.raises(UnsafeCheckpointError, match="shell.pth"):
        runner.train()
    assert not marker.exists()


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        CheckpointLoader.load_checkpoint(str(tmp_path / "nowhere.pth"))


def test_plain_history_buffer_pickling_is_untouched():
    """Importing the plugin installs no pickling hook and no process-wide allow-list entry."""
    import copyreg

    assert HistoryBuffer not in copyreg.dispatch_table
    buffer = HistoryBuffer([1.0, 2.0], [1, 1], 5)
    assert buffer.__reduce_ex__(2)[0] is not rebuild_history_buffer
    safe = torch.serialization.get_safe_globals()
    assert rebuild_history_buffer not in safe and np.ndarray not in safe


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "epoch_1.pth"
    atomic_write(b"old", target)
    atomic_write(b"new content", target)
    assert target.read_bytes() == b"new content"

    def crash(descriptor):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)  # the write fails before the rename
    with pytest.raises(OSError, match="disk gone"):
        atomic_write(b"torn", target)
    assert target.read_bytes() == b"new content"  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pth"]  # no temporary left


def test_atomic_backend_is_what_the_checkpoint_hook_saves_through(tmp_path):
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend=ATOMIC_BACKEND))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text("text", tmp_path / "a" / "note.txt")
    assert (tmp_path / "a" / "note.txt").read_text() == "text"
    hook = HOOKS.build(dict(type="AtomicCheckpointHook", interval=1))
    assert hook.backend_args == dict(backend=ATOMIC_BACKEND)
    remote = HOOKS.build(dict(type="AtomicCheckpointHook", interval=1, out_dir="s3://bucket/run"))
    assert remote.backend_args is None  # a remote store keeps mmengine's backend


def test_checkpoint_hook_keeps_the_newest_and_prunes_after_saving(tmp_path):
    runner = Runner(
        model=ToyRegressor(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type="DefaultSampler", shuffle=False),
            batch_size=2,
            num_workers=0,
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.001)),
        train_cfg=dict(by_epoch=False, max_iters=3),
        default_hooks=dict(
            checkpoint=dict(
                type="AtomicCheckpointHook", interval=1, by_epoch=False, max_keep_ckpts=1
            ),
        ),
        default_scope="mmdet",
        experiment_name="toy_prune",
    )
    runner.train()
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["iter_3.pth"]
    assert (tmp_path / "last_checkpoint").read_text() == str(tmp_path / "iter_3.pth")
    assert not list(tmp_path.glob(".*tmp-*"))


def test_predictor_refuses_a_checkpoint_carrying_code(tmp_path):
    from solov2_plugin.apis import SOLOv2Predictor

    marker = tmp_path / "pwned"
    path = tmp_path / "shell.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": RunsShellCommand(f"touch {marker}")}, path)
    config = Path(__file__).resolve().parents[2] / "configs" / "solov2_demo.py"
    with pytest.raises(UnsafeCheckpointError, match="shell.pth"):
        SOLOv2Predictor(config, path, device="cpu")
    assert not marker.exists()


@pytest.mark.slow
def test_test_tool_refuses_a_checkpoint_carrying_code(tmp_path):
    """tools/test.py builds its runner, then refuses the checkpoint with one line."""
    marker = tmp_path / "pwned"
    path = tmp_path / "shell.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": RunsShellCommand(f"touch {marker}")}, path)
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "tools/test.py", "configs/solov2_demo.py", str(path)]
        + ["--work-dir", str(tmp_path / "work")],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"error: Refused to load checkpoint '{path}'" in result.stderr
    assert not marker.exists()
