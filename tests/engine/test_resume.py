"""Resuming repeats the uninterrupted run exactly; ``--resume auto`` skips torn checkpoints.

In-process runs of a toy model whose data pipeline draws from Python's, numpy's and torch's
global generators, in training and in validation (as flips and crops do); the real model,
killed by SIGKILL, is ``test_resume_crash.py`` (slow).
"""

import random
import shutil

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from solov2_plugin.engine import (
    NoLoadableCheckpointError,
    UnsafeCheckpointError,
    capture_rng_state,
    find_resume_checkpoint,
    restore_rng_state,
    resume,
)


class ToyRegressor(BaseModel):
    """y = w x + b."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, targets, mode="tensor"):
        preds = self.linear(torch.stack(inputs)).squeeze(1)
        if mode == "loss":
            return {"loss": ((preds - torch.stack(targets)) ** 2).mean()}
        return [dict(pred=p, target=t) for p, t in zip(preds, targets)]


class NoisyData(Dataset):
    """Samples jittered by all three global generators, like random augmentations."""

    def __len__(self) -> int:
        return 6

    def __getitem__(self, index: int) -> dict:
        jitter = np.random.normal(0, 0.1) + random.uniform(-0.1, 0.1) + torch.rand(1).item()
        x = torch.tensor([float(index) + jitter, 1.0])
        return {"inputs": x, "targets": torch.tensor(2.0 * index)}


class MeanSquaredError(BaseMetric):
    def process(self, data_batch, data_samples) -> None:
        self.results += [float((s["pred"] - s["target"]) ** 2) for s in data_samples]

    def compute_metrics(self, results) -> dict:
        return {"mse": float(np.mean(results))}


def make_runner(work_dir, name: str, resume: bool, random_state_hook: bool = True) -> Runner:
    hooks = [dict(type="PortableCheckpointHook")]
    if random_state_hook:
        hooks.append(dict(type="RandomStateCheckpointHook"))
    loader = dict(dataset=NoisyData(), batch_size=2, num_workers=0)
    return Runner(
        model=ToyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=True)),
        val_dataloader=dict(loader, sampler=dict(type="DefaultSampler", shuffle=False)),
        val_evaluator=dict(type=MeanSquaredError),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        default_hooks=dict(
            checkpoint=dict(type="AtomicCheckpointHook", interval=1),
            logger=dict(type="LoggerHook", interval=1),
        ),
        custom_hooks=hooks,
        randomness=dict(seed=3, deterministic=True),
        resume=resume,
        default_scope="mmdet",
        experiment_name=name,
    )


def train_and_resume(tmp_path, random_state_hook: bool):
    """An uninterrupted 3-epoch run, and one resumed from its epoch-1 checkpoint."""
    tag = "with" if random_state_hook else "without"
    reference = make_runner(tmp_path / f"ref_{tag}", f"ref_{tag}", False, random_state_hook)
    reference.train()
    resumed_dir = tmp_path / f"resumed_{tag}"
    resumed_dir.mkdir()
    shutil.copy(tmp_path / f"ref_{tag}" / "epoch_1.pth", resumed_dir / "epoch_1.pth")
    (resumed_dir / "last_checkpoint").write_text(str(resumed_dir / "epoch_1.pth"))
    resumed = make_runner(resumed_dir, f"resumed_{tag}", True, random_state_hook)
    resumed.train()
    return reference, resumed


def weights(runner: Runner) -> dict:
    return runner.model.state_dict()


def test_resumed_run_is_bit_identical_to_the_uninterrupted_one(tmp_path):
    reference, resumed = train_and_resume(tmp_path, random_state_hook=True)
    assert resumed.iter == reference.iter == 9
    for key, value in weights(reference).items():
        assert torch.equal(value, weights(resumed)[key]), key
    ref_losses = reference.message_hub.get_scalar("train/loss").data[0]
    resumed_losses = resumed.message_hub.get_scalar("train/loss").data[0]
    assert len(ref_losses) == 9
    np.testing.assert_array_equal(ref_losses, resumed_losses)  # exact, all 9 iterations


def test_without_saved_random_states_the_resumed_run_drifts(tmp_path):
    """mmengine alone re-seeds on resume, and validation shifts training's streams."""
    reference, resumed = train_and_resume(tmp_path, random_state_hook=False)
    drift = max(
        (value - weights(resumed)[key]).abs().max().item()
        for key, value in weights(reference).items()
    )
    assert drift > 1e-4


def test_random_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.normal()  # leaves a cached gaussian in numpy's state
    path = tmp_path / "rng.pth"
    torch.save(capture_rng_state(), path)
    expected = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    restore_rng_state(torch.load(path, weights_only=True))
    got = (random.random(), np.random.normal(), np.random.rand(), torch.rand(3))
    assert got[:3] == expected[:3]
    assert torch.equal(got[3], expected[3])


@pytest.fixture
def work_dir_with_checkpoints(tmp_path):
    """A work dir with good epoch_1.pth and epoch_2.pth, last_checkpoint naming epoch_2."""
    for epoch in (1, 2):
        torch.save(
            {"state_dict": {"w": torch.ones(1) * epoch}, "meta": {"epoch": epoch}},
            tmp_path / f"epoch_{epoch}.pth",
        )
    (tmp_path / "last_checkpoint").write_text(str(tmp_path / "epoch_2.pth"))
    return tmp_path


def test_resume_auto_takes_the_checkpoint_last_checkpoint_names(work_dir_with_checkpoints):
    assert find_resume_checkpoint(str(work_dir_with_checkpoints)) == str(
        work_dir_with_checkpoints / "epoch_2.pth"
    )


def test_resume_auto_skips_a_truncated_checkpoint_naming_it(work_dir_with_checkpoints, monkeypatch):
    warnings = []
    monkeypatch.setattr(resume, "print_log", lambda message, **kwargs: warnings.append(message))
    newest = work_dir_with_checkpoints / "epoch_2.pth"
    newest.write_bytes(newest.read_bytes()[:100])
    # The temporary file of an interrupted atomic save is never a candidate.
    (work_dir_with_checkpoints / ".epoch_3.pth.tmp-123").write_bytes(b"partial")
    found = find_resume_checkpoint(str(work_dir_with_checkpoints))
    assert found == str(work_dir_with_checkpoints / "epoch_1.pth")
    assert warnings[0].startswith(f"Checkpoint '{newest}' cannot be resumed from (RuntimeError")
    assert warnings[1] == f"Resuming from '{found}', the newest checkpoint that loads."


def test_resume_auto_with_an_empty_last_checkpoint_scans_the_work_dir(work_dir_with_checkpoints):
    (work_dir_with_checkpoints / "last_checkpoint").write_text("")
    assert find_resume_checkpoint(str(work_dir_with_checkpoints)).endswith("epoch_2.pth")


def test_resume_auto_fails_when_no_checkpoint_loads(work_dir_with_checkpoints):
    for epoch in (1, 2):
        (work_dir_with_checkpoints / f"epoch_{epoch}.pth").write_bytes(b"garbage")
    with pytest.raises(
        NoLoadableCheckpointError, match="epoch_1.pth.*epoch_2.pth|epoch_2.pth.*epoch_1.pth"
    ):
        find_resume_checkpoint(str(work_dir_with_checkpoints))


def test_resume_auto_in_an_empty_work_dir_starts_afresh(tmp_path):
    assert find_resume_checkpoint(str(tmp_path / "new")) is None


def test_resume_auto_stops_at_a_checkpoint_carrying_code(work_dir_with_checkpoints):
    class CallsGetattr:
        def __reduce__(self):
            return getattr, ("text", "upper")

    evil = work_dir_with_checkpoints / "epoch_2.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": CallsGetattr()}, evil)
    with pytest.raises(UnsafeCheckpointError, match="epoch_2.pth"):
        find_resume_checkpoint(str(work_dir_with_checkpoints))
