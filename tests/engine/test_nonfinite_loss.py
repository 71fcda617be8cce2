"""A NaN loss injected into a tiny MMEngine run is skipped or stops the run, naming the images."""

import logging

import pytest
import torch
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.hooks import Hook
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

from solov2_plugin.engine.nonfinite_loss import (
    NonFiniteLossAmpOptimWrapper,
    NonFiniteLossOptimWrapper,
    RecordBatchImagesHook,
    batch_image_names,
)

BAD_BATCH = 1  # the second iteration's loss is NaN


class _Images(Dataset):
    """Four one-image batches; the image of index ``BAD_BATCH`` makes the loss NaN."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        sample = DetDataSample(
            metainfo=dict(img_path=f"data/img_{index}.png", poison=index == BAD_BATCH)
        )
        return dict(inputs=torch.ones(3), data_samples=sample)


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, data_samples=None, mode="loss"):
        loss = self.linear(torch.stack(inputs)).pow(2).mean()
        if any(sample.poison for sample in data_samples):
            loss = loss * float("nan")
        return dict(loss=loss)


class _WeightRecorder(Hook):
    def __init__(self):
        self.weights = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.weights.append(runner.model.linear.weight.detach().clone())


class _Messages(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _run(tmp_path, name, wrapper_type="NonFiniteLossOptimWrapper", **wrapper):
    recorder = _WeightRecorder()
    runner = Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        experiment_name=name,
        train_dataloader=dict(
            dataset=_Images(),
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
            batch_size=1,
            num_workers=0,
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(
            type=wrapper_type,
            optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=0.1),
            **wrapper,
        ),
        custom_hooks=[RecordBatchImagesHook(), recorder],
        default_hooks=dict(checkpoint=None),
        # The plugin's scope, as in its configs: a runner leaves its scope current for the
        # rest of the process, and later tests build mmdet modules.
        default_scope="mmdet",
    )
    messages = _Messages()
    runner.logger.addHandler(messages)
    try:
        runner.train()
    finally:
        runner.logger.removeHandler(messages)
    return runner, recorder.weights, messages.lines


def test_registered_under_their_names():
    assert OPTIM_WRAPPERS.get("NonFiniteLossOptimWrapper") is NonFiniteLossOptimWrapper
    assert OPTIM_WRAPPERS.get("NonFiniteLossAmpOptimWrapper") is NonFiniteLossAmpOptimWrapper
    assert isinstance(HOOKS.build(dict(type="RecordBatchImagesHook")), RecordBatchImagesHook)


@pytest.mark.parametrize(
    "wrapper_type", ["NonFiniteLossOptimWrapper", "NonFiniteLossBF16OptimWrapper"]
)
def test_skip_keeps_the_weights_logs_the_step_and_training_goes_on(tmp_path, wrapper_type):
    runner, weights, lines = _run(tmp_path, "skip", wrapper_type, action="skip")
    assert type(runner.optim_wrapper).__name__ == wrapper_type
    assert len(weights) == 4, "training must run all four iterations"
    assert torch.equal(weights[BAD_BATCH], weights[BAD_BATCH - 1]), "skipped step moved weights"
    assert not torch.equal(weights[BAD_BATCH + 1], weights[BAD_BATCH]), "next step must update"
    assert torch.isfinite(runner.model.linear.weight).all()
    assert runner.optim_wrapper.total_skips == 1
    assert runner.optim_wrapper.consecutive_skips == 0
    warning = [line for line in lines if "Non-finite loss" in line]
    assert len(warning) == 1
    assert f"iteration {BAD_BATCH + 1} (runner.iter={BAD_BATCH})" in warning[0]
    assert f"data/img_{BAD_BATCH}.png" in warning[0]
    assert "data/img_0.png" not in warning[0]
    assert "skipping this step" in warning[0]
    # The names are cleared after each iteration and never resumed from checkpoints.
    assert runner.message_hub.get_info("solov2_plugin/batch_img_paths") is None


def test_stop_raises_naming_the_iteration_and_images(tmp_path):
    with pytest.raises(FloatingPointError) as error:
        _run(tmp_path, "stop", action="stop")
    message = str(error.value)
    assert f"iteration {BAD_BATCH + 1}" in message
    assert f"data/img_{BAD_BATCH}.png" in message
    assert "action='stop'" in message


def test_too_many_consecutive_skips_stop():
    model = nn.Linear(2, 1)
    wrapper = NonFiniteLossOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_consecutive=2
    )
    nan = model(torch.ones(1, 2)).sum() * float("nan")
    wrapper.update_params(nan)
    with pytest.raises(FloatingPointError, match="2 steps in a row"):
        wrapper.update_params(model(torch.ones(1, 2)).sum() * float("inf"))


def test_without_the_hook_the_message_says_how_to_name_images():
    MessageHub.get_instance("no_hook")  # a fresh current hub: no iteration, no names
    model = nn.Linear(2, 1)
    wrapper = NonFiniteLossOptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), action="stop"
    )
    with pytest.raises(FloatingPointError, match="RecordBatchImagesHook") as error:
        wrapper.update_params((model(torch.ones(1, 2)).sum() ** 2 + 1) * float("inf"))
    assert "Non-finite loss (inf) at an unknown iteration" in str(error.value)


def test_bad_arguments_are_refused():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="action must be one of"):
        NonFiniteLossOptimWrapper(optimizer=optimizer, action="ignore")
    with pytest.raises(ValueError, match="max_consecutive"):
        NonFiniteLossOptimWrapper(optimizer=optimizer, max_consecutive=0)


def test_batch_image_names_falls_back_to_ids():
    samples = [DetDataSample(metainfo=dict(img_id=7)), DetDataSample()]
    assert batch_image_names(dict(data_samples=samples)) == ["img_id=7", "<unknown>"]
    assert batch_image_names(dict(inputs=[])) == []
