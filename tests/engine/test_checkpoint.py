"""Checkpoints save and resume under torch's ``weights_only=True`` loading."""

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch import nn
from torch.utils.data import Dataset

from solov2_plugin.engine import UnsafeCheckpointError, load_from_local_safely


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


def make_runner(work_dir, max_iters: int, resume: bool) -> Runner:
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
            checkpoint=dict(type="CheckpointHook", interval=2, by_epoch=False),
            logger=dict(type="LoggerHook", interval=1),
        ),
        resume=resume,
        default_scope="mmdet",
    )


def test_train_save_resume_reaches_iteration_4(tmp_path):
    make_runner(tmp_path, max_iters=2, resume=False).train()
    checkpoint = tmp_path / "iter_2.pth"
    assert checkpoint.is_file()
    # The saved message hub is plain data: torch's strict loader accepts it as is.
    state = torch.load(checkpoint, weights_only=True)
    assert isinstance(state["message_hub"]["log_scalars"]["train/loss"], HistoryBuffer)

    runner = make_runner(tmp_path, max_iters=4, resume=True)
    runner.train()
    assert runner.iter == 4
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 4  # two iterations before the resume, two after


def test_history_buffer_round_trips_exactly(tmp_path):
    buffer = HistoryBuffer(max_length=10)
    for value in (1.5, np.float64(2.25), 3):
        buffer.update(value)
    path = tmp_path / "hub.pth"
    torch.save({"buffer": buffer, "array": np.arange(3, dtype=np.int32)}, path)
    loaded = load_from_local_safely(str(path))
    np.testing.assert_array_equal(loaded["buffer"].data[0], buffer.data[0])
    np.testing.assert_array_equal(loaded["buffer"].data[1], buffer.data[1])
    assert loaded["buffer"].max_length == 10
    assert loaded["buffer"].mean() == buffer.mean()
    np.testing.assert_array_equal(loaded["array"], np.arange(3, dtype=np.int32))


class CallsGetattr:
    """Pickles as ``getattr('text', 'upper')``: a generic callable, which must be refused."""

    def __reduce__(self):
        return getattr, ("text", "upper")


def test_checkpoint_with_pickled_callable_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "payload": CallsGetattr()}, path)
    with pytest.raises(UnsafeCheckpointError, match="evil.pth"):
        CheckpointLoader.load_checkpoint(str(path))


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        CheckpointLoader.load_checkpoint(str(tmp_path / "nowhere.pth"))
