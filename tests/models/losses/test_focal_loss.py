import math

import pytest
import torch
from mmdet.registry import MODELS

from solov2_plugin.models.losses import SOLOv2FocalLoss, sigmoid_focal_loss


def test_hand_computed_values():
    # logit 0 -> p = 0.5; BCE = ln 2 either way; |t - p| ** 2 = 0.25.
    logits = torch.zeros(2, 2)
    labels = torch.tensor([1, 2])  # row 0: class 1; row 1: background (C = 2)
    loss = sigmoid_focal_loss(logits, labels, gamma=2.0, alpha=0.25)
    pos = 0.25 * 0.25 * math.log(2)
    neg = 0.75 * 0.25 * math.log(2)
    torch.testing.assert_close(loss, torch.tensor([[neg, pos], [neg, neg]]))


def test_confident_correct_predictions_cost_almost_nothing():
    logits = torch.tensor([[8.0, -8.0], [-8.0, -8.0]])
    loss = sigmoid_focal_loss(logits, torch.tensor([0, 2]))
    assert loss.max() < 1e-6
    wrong = sigmoid_focal_loss(-logits, torch.tensor([0, 2]))
    assert wrong.min() > 1.0


def test_one_hot_targets_equal_label_targets():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 3, 1])
    one_hot = torch.nn.functional.one_hot(labels, 4)[:, :3]
    torch.testing.assert_close(
        sigmoid_focal_loss(logits, labels), sigmoid_focal_loss(logits, one_hot)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.25), (1.5, 0.3), (0.0, 0.9)])
def test_label_targets_give_the_general_formula_bit_for_bit(dtype, gamma, alpha):
    """Labels take a shorter path (choices instead of 0/1 products): the same bits."""
    gen = torch.Generator().manual_seed(1)
    logits = (torch.randn(500, 7, generator=gen) * 6).to(dtype)
    labels = torch.randint(0, 8, (500,), generator=gen)
    one_hot = torch.nn.functional.one_hot(labels, 8)[:, :7].to(dtype)
    assert torch.equal(
        sigmoid_focal_loss(logits, labels, gamma, alpha),
        sigmoid_focal_loss(logits, one_hot, gamma, alpha),
    )


def test_extreme_logits_have_finite_gradients():
    logits = torch.tensor([[60.0, -60.0], [-60.0, 60.0]], requires_grad=True)
    sigmoid_focal_loss(logits, torch.tensor([1, 0])).sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_module_reductions_and_avg_factor():
    loss_fn = MODELS.build(dict(type="SOLOv2FocalLoss", gamma=2.0, alpha=0.25, loss_weight=2.0))
    assert isinstance(loss_fn, SOLOv2FocalLoss)
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    labels = torch.tensor([0, 4, 4, 2, 4])
    elementwise = sigmoid_focal_loss(logits, labels)
    torch.testing.assert_close(loss_fn(logits, labels), 2.0 * elementwise.mean())
    torch.testing.assert_close(
        loss_fn(logits, labels, reduction_override="sum"), 2 * elementwise.sum()
    )
    torch.testing.assert_close(
        loss_fn(logits, labels, reduction_override="none"), 2.0 * elementwise
    )
    # SOLOv2 divides the sum by num_pos + 1.
    torch.testing.assert_close(loss_fn(logits, labels, avg_factor=3), 2 * elementwise.sum() / 3)
    weight = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    torch.testing.assert_close(
        loss_fn(logits, labels, weight=weight, reduction_override="sum"),
        2.0 * (elementwise * weight[:, None]).sum(),
    )


def test_all_background_still_gives_positive_loss():
    loss_fn = SOLOv2FocalLoss()
    logits = torch.full((10, 3), math.log(0.01 / 0.99), requires_grad=True)
    loss = loss_fn(logits, torch.full((10,), 3), avg_factor=0 + 1)
    assert loss.item() > 0
    loss.backward()
    assert logits.grad.abs().sum() > 0


def test_bad_reduction_raises():
    with pytest.raises(ValueError, match="reduction"):
        SOLOv2FocalLoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction_override"):
        SOLOv2FocalLoss()(torch.zeros(1, 2), torch.tensor([0]), reduction_override="avg")
