import pytest
import torch
from mmdet.registry import MODELS

from solov2_plugin.models.losses import SOLOv2DiceLoss, dice_loss, pooled_dice_loss


def _masks(num, size=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    targets = (torch.rand(num, size, size, generator=gen) < 0.4).float()
    logits = torch.randn(num, size, size, generator=gen)
    return logits, targets


def test_hand_computed_dice():
    probs = torch.tensor([[[1.0, 0.5], [0.0, 0.0]]])
    targets = torch.tensor([[[1.0, 1.0], [0.0, 0.0]]])
    # a = 1.5, b = 1.25, c = 2 -> 1 - 3 / (3.25 + 2 eps)
    expected = 1 - 3.0 / (3.25 + 2e-3)
    torch.testing.assert_close(dice_loss(probs, targets), torch.tensor([expected]))


def test_perfect_and_disjoint_predictions():
    targets = torch.zeros(2, 4, 4)
    targets[:, :2] = 1
    assert dice_loss(targets, targets).max() < 1e-3
    torch.testing.assert_close(dice_loss(1 - targets, targets), torch.ones(2))


def test_zero_instances_give_exact_zero_in_the_graph():
    loss_fn = MODELS.build(dict(type="SOLOv2DiceLoss", loss_weight=3.0))
    assert isinstance(loss_fn, SOLOv2DiceLoss)
    pred = torch.zeros(0, 16, 16, requires_grad=True)
    loss = loss_fn(pred, torch.zeros(0, 16, 16), avg_factor=0)
    assert loss.item() == 0.0
    assert loss.grad_fn is not None
    loss.backward()
    assert pred.grad.shape == (0, 16, 16)
    assert loss_fn(pred, torch.zeros(0, 16, 16), reduction_override="none").shape == (0,)
    pooled = SOLOv2DiceLoss(pooled=True)
    assert pooled(pred, torch.zeros(0, 16, 16), image_ids=torch.zeros(0, dtype=torch.long)) == 0


@pytest.mark.parametrize("num", [1, 7])
def test_one_and_many_instances_are_positive_with_gradients(num):
    logits, targets = _masks(num)
    logits.requires_grad_(True)
    loss = SOLOv2DiceLoss()(logits, targets)
    assert loss.item() > 0
    loss.backward()
    assert logits.grad.abs().sum() > 0


def test_module_matches_functional_form():
    logits, targets = _masks(5)
    per_instance = dice_loss(logits.sigmoid(), targets)
    loss_fn = SOLOv2DiceLoss(loss_weight=3.0)
    torch.testing.assert_close(loss_fn(logits, targets), 3.0 * per_instance.mean())
    torch.testing.assert_close(
        loss_fn(logits, targets, reduction_override="none"), 3.0 * per_instance
    )
    # mmdet's SOLOv2: sum over claims divided by the number of positive cells.
    torch.testing.assert_close(loss_fn(logits, targets, avg_factor=4), 3 * per_instance.sum() / 4)
    probs_in = SOLOv2DiceLoss(use_sigmoid=False, loss_weight=1.0)
    torch.testing.assert_close(probs_in(logits.sigmoid(), targets), per_instance.mean())


def test_pooled_dice_pools_instances_per_image():
    logits, targets = _masks(5, seed=3)
    probs = logits.sigmoid()
    image_ids = torch.tensor([0, 0, 2, 2, 2])
    per_image = pooled_dice_loss(probs, targets, image_ids, num_images=4)
    assert per_image.shape == (4,)
    # Pooling image 0's two instances = dice of their masks side by side.
    side_by_side = dice_loss(
        torch.cat([probs[0], probs[1]])[None], torch.cat(list(targets[:2]))[None]
    )
    torch.testing.assert_close(per_image[0], side_by_side[0])
    assert per_image[1] == 0 and per_image[3] == 0  # no instances
    assert per_image[2] > 0

    loss_fn = SOLOv2DiceLoss(pooled=True, loss_weight=1.0)
    # 'mean' averages over the images that hold instances.
    torch.testing.assert_close(
        loss_fn(logits, targets, image_ids=image_ids, num_images=4), per_image.sum() / 2
    )
    torch.testing.assert_close(
        loss_fn(logits, targets, image_ids=image_ids), per_image[:3].sum() / 2
    )


def test_bad_arguments_raise():
    logits, targets = _masks(2)
    with pytest.raises(ValueError, match="image_ids"):
        SOLOv2DiceLoss(pooled=True)(logits, targets)
    with pytest.raises(ValueError, match="same"):
        SOLOv2DiceLoss()(logits, targets[:1])
    with pytest.raises(ValueError, match="reduction"):
        SOLOv2DiceLoss(reduction="avg")


@pytest.mark.parametrize("pooled", [False, True])
def test_per_instance_targets_with_an_index_give_the_same_bits(pooled):
    """Targets stored once per instance (``target_index``) equal one copy per claim."""
    gen = torch.Generator().manual_seed(3)
    instance_targets = torch.rand(4, 12, 16, generator=gen) < 0.4
    index = torch.tensor([0, 0, 2, 3, 3, 3, 1])
    logits = torch.randn(7, 12, 16, generator=gen) * 2
    image_ids = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    extra = dict(image_ids=image_ids, num_images=2) if pooled else {}
    loss_fn = SOLOv2DiceLoss(loss_weight=3.0, pooled=pooled)
    per_claim = instance_targets[index].float()
    for reduction in ("none", "mean", "sum"):
        expected = loss_fn(logits, per_claim, reduction_override=reduction, **extra)
        for targets in (instance_targets, instance_targets.float(), instance_targets.byte()):
            got = loss_fn(
                logits, targets, target_index=index, reduction_override=reduction, **extra
            )
            assert torch.equal(got, expected)
    with pytest.raises(ValueError, match="target_index"):
        loss_fn(logits, instance_targets, target_index=index[:3], **extra)
