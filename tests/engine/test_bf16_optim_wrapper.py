"""``BF16OptimWrapper``: the forward pass under bfloat16 autocast, backward and step in float32."""

import copy

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

from solov2_plugin.engine import BF16OptimWrapper, NonFiniteLossBF16OptimWrapper
from solov2_plugin.engine.bf16_optim_wrapper import model_device_type


class _Linear(BaseModel):
    """A linear layer with a squared-output loss; remembers the dtype its layer computed in."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(4, 3)
        self.seen_dtype = None

    def forward(self, inputs, data_samples=None, mode="loss"):
        out = self.linear(inputs)
        self.seen_dtype = out.dtype
        return dict(loss=out.float().pow(2).mean())


def _inputs():
    torch.manual_seed(1)
    return torch.randn(8, 4)


def test_train_step_is_the_autocast_step_by_hand():
    model, by_hand = _Linear(), _Linear()
    wrapper = BF16OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.5))
    log = model.train_step(dict(inputs=_inputs()), wrapper)

    optimizer = torch.optim.SGD(by_hand.parameters(), lr=0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = by_hand.linear(_inputs()).float().pow(2).mean()
    loss.backward()
    optimizer.step()

    assert model.seen_dtype == torch.bfloat16
    assert torch.equal(log["loss"], loss.detach())
    for name in ("weight", "bias"):
        ours, expected = getattr(model.linear, name), getattr(by_hand.linear, name)
        assert ours.dtype == torch.float32
        assert torch.equal(ours, expected), name
    assert not torch.is_autocast_enabled("cpu")  # backward and step ran outside autocast


def test_a_float32_step_differs():
    model, plain = _Linear(), _Linear()
    model.train_step(
        dict(inputs=_inputs()),
        BF16OptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.5)),
    )
    plain.train_step(
        dict(inputs=_inputs()), OptimWrapper(optimizer=torch.optim.SGD(plain.parameters(), lr=0.5))
    )
    assert plain.seen_dtype == torch.float32
    assert not torch.equal(model.linear.weight, plain.linear.weight)


def test_context_follows_the_model_device_and_keeps_gradient_accumulation():
    model = _Linear()
    wrapper = BF16OptimWrapper(
        optimizer=torch.optim.SGD(model.parameters(), lr=0.5), accumulative_counts=2
    )
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")
    before = copy.deepcopy(model.linear.weight)
    model.train_step(dict(inputs=_inputs()), wrapper)  # first of two accumulated steps
    assert torch.equal(model.linear.weight, before)
    model.train_step(dict(inputs=_inputs()), wrapper)
    assert not torch.equal(model.linear.weight, before)
    assert model_device_type(model) == "cpu"
    assert model_device_type(nn.ReLU()) == "cpu"  # no parameters


def test_registered_with_its_non_finite_loss_twin():
    assert OPTIM_WRAPPERS.get("BF16OptimWrapper") is BF16OptimWrapper
    assert OPTIM_WRAPPERS.get("NonFiniteLossBF16OptimWrapper") is NonFiniteLossBF16OptimWrapper
    assert issubclass(NonFiniteLossBF16OptimWrapper, BF16OptimWrapper)
