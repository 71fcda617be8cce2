"""Dice loss for the SOLOv2 mask branch.

Dimension key: P positive claims (instances x cells), N instances, H x W
mask-feature size, B images.

A claim's target may be given as an index into per-instance targets
(``target_index``): an instance claiming several cells then has its target
stored, converted and squared once, not once per claim.

``dice = 2 * sum(p * t) / (sum(p ** 2) + eps + sum(t ** 2) + eps)`` (the V-Net
form that mmdet uses, ``naive_dice=False``); the loss is ``1 - dice``.
"""

from typing import Optional

import torch
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor, nn

from .reduction import check_reduction


def _dice_from_sums(inter: Tensor, pred_sq: Tensor, target_sq: Tensor, eps: float) -> Tensor:
    """``1 - dice`` from the pixel sums of ``p * t``, ``p ** 2`` and ``t ** 2``."""
    return 1 - 2 * inter / ((pred_sq + eps) + (target_sq + eps))


def _dice_sums(probs: Tensor, targets: Tensor, target_index: Optional[Tensor]) -> Tensor:
    """Per-claim sums of ``p * t``, ``p ** 2`` and ``t ** 2``, shape (P, 3).

    Args:
        probs (Tensor): Mask probabilities, shape (P, H, W).
        targets (Tensor): Binary targets, shape (P, H, W), or (N, H, W) with
            ``target_index``.
        target_index (Tensor, optional): Target row of each claim, (P,).

    Returns:
        Tensor: Columns ``sum(p * t)``, ``sum(p ** 2)``, ``sum(t ** 2)``;
        each sum runs over the pixels in the same order as mmdet's.
    """
    probs = probs.flatten(1)
    targets = targets.flatten(1).to(probs.dtype)
    target_sq = (targets * targets).sum(1)
    if target_index is not None:
        targets, target_sq = targets[target_index], target_sq[target_index]
    return torch.stack([(probs * targets).sum(1), (probs * probs).sum(1), target_sq], dim=1)


def dice_loss(
    probs: Tensor, targets: Tensor, eps: float = 1e-3, target_index: Optional[Tensor] = None
) -> Tensor:
    """Per-instance dice loss.

    Args:
        probs (Tensor): Mask probabilities, shape (P, H, W).
        targets (Tensor): Binary mask targets, shape (P, H, W); or, with
            ``target_index``, one per instance, shape (N, H, W).
        eps (float): Added to each squared sum in the denominator.
        target_index (Tensor, optional): Row of ``targets`` of each claim,
            shape (P,), int64.

    Returns:
        Tensor: ``1 - dice`` per instance, shape (P,).
    """
    sums = _dice_sums(probs, targets, target_index)
    return _dice_from_sums(sums[:, 0], sums[:, 1], sums[:, 2], eps)


def pooled_dice_loss(
    probs: Tensor,
    targets: Tensor,
    image_ids: Tensor,
    num_images: int,
    eps: float = 1e-3,
    target_index: Optional[Tensor] = None,
) -> Tensor:
    """Dice loss with all instances of one image pooled together (the seed's form).

    Args:
        probs (Tensor): Mask probabilities, shape (P, H, W).
        targets (Tensor): Binary mask targets, shape (P, H, W); or, with
            ``target_index``, one per instance, shape (N, H, W).
        image_ids (Tensor): Image index of each instance, shape (P,), int64
            in ``[0, num_images)``.
        num_images (int): Number of images B in the batch.
        eps (float): Added to each squared sum in the denominator.
        target_index (Tensor, optional): Row of ``targets`` of each claim,
            shape (P,), int64.

    Returns:
        Tensor: ``1 - dice`` per image, shape (B,); 0 for images with no
        instance.
    """
    sums = _dice_sums(probs, targets, target_index)
    pooled = sums.new_zeros(num_images, 3).index_add(0, image_ids, sums)
    loss = _dice_from_sums(pooled[:, 0], pooled[:, 1], pooled[:, 2], eps)
    has_instances = torch.bincount(image_ids, minlength=num_images) > 0
    return loss * has_instances


@MODELS.register_module()
class SOLOv2DiceLoss(nn.Module):
    """Dice loss per instance (or pooled per image), mmdet-style API.

    Args:
        use_sigmoid (bool): Apply a sigmoid to ``pred`` (logits in); when
            False ``pred`` holds probabilities. Defaults to True.
        loss_weight (float): Factor applied to the loss. Defaults to 3.0
            (mmdet's SOLOv2).
        eps (float): Added to each squared sum in the denominator.
            Defaults to 1e-3.
        pooled (bool): Pool all instances of an image into one dice term, as
            the seed does; ``forward`` then needs ``image_ids``.
            Defaults to False.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
    """

    #: ``forward`` takes per-instance targets with a ``target_index`` per claim.
    accepts_target_index = True

    def __init__(
        self,
        use_sigmoid: bool = True,
        loss_weight: float = 3.0,
        eps: float = 1e-3,
        pooled: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction("SOLOv2DiceLoss", "reduction", reduction, optional=False)
        self.use_sigmoid = use_sigmoid
        self.loss_weight = loss_weight
        self.eps = eps
        self.pooled = pooled
        self.reduction = reduction

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
        image_ids: Optional[Tensor] = None,
        num_images: Optional[int] = None,
        target_index: Optional[Tensor] = None,
    ) -> Tensor:
        """Compute the weighted, reduced dice loss.

        With zero instances (P == 0) the loss is exactly 0 and still depends
        on ``pred``, so ``backward`` works (and yields zero gradients).

        Args:
            pred (Tensor): Mask logits (``use_sigmoid``) or probabilities,
                shape (P, H, W).
            target (Tensor): Binary mask targets, shape (P, H, W); or, with
                ``target_index``, one per instance, shape (N, H, W) (float,
                bool or uint8).
            weight (Tensor, optional): Weight per instance, shape (P,)
                (per image, shape (B,), when pooled).
            avg_factor (float, optional): With ``'mean'``, the sum is divided
                by this instead of the number of terms (mmdet's SOLOv2 sums
                per-instance losses and divides by the number of positive
                cells).
            reduction_override (str, optional): Replaces ``reduction``.
            image_ids (Tensor, optional): Image index of each instance, shape
                (P,); required when pooled.
            num_images (int, optional): Batch size B when pooled; taken as
                ``image_ids.max() + 1`` (one device sync) when None.
            target_index (Tensor, optional): Row of ``target`` of each
                instance of ``pred``, shape (P,), int64.

        Returns:
            Tensor: Scalar loss; with ``'none'``, shape (P,) (or (B,) when
            pooled).
        """
        check_reduction("SOLOv2DiceLoss", "reduction_override", reduction_override, optional=True)
        if target_index is not None:
            if pred.shape[1:] != target.shape[1:] or target_index.shape != pred.shape[:1]:
                raise ValueError(
                    f"SOLOv2DiceLoss: with target_index, pred (P, H, W) {tuple(pred.shape)}, "
                    f"target (N, H, W) {tuple(target.shape)} and target_index (P,) "
                    f"{tuple(target_index.shape)} must agree on P, H and W."
                )
        elif pred.shape != target.shape:
            raise ValueError(
                f"SOLOv2DiceLoss: pred {tuple(pred.shape)} and target {tuple(target.shape)} "
                "must have the same (P, H, W) shape."
            )
        if self.pooled and image_ids is None:
            raise ValueError(
                "SOLOv2DiceLoss(pooled=True) needs image_ids, the image index of each "
                "instance; pass image_ids=... or set pooled=False."
            )
        reduction = reduction_override or self.reduction
        if pred.shape[0] == 0:
            zero = pred.flatten(1).sum(1) * 0
            return zero if reduction == "none" else zero.sum()

        probs = pred.sigmoid() if self.use_sigmoid else pred
        if self.pooled:
            if num_images is None:
                num_images = int(image_ids.max()) + 1
            loss = pooled_dice_loss(
                probs, target, image_ids, num_images, eps=self.eps, target_index=target_index
            )
            if reduction == "mean" and avg_factor is None:
                # Average over the images that hold instances.
                present = torch.bincount(image_ids, minlength=num_images) > 0
                avg_factor = present.sum()
        else:
            loss = dice_loss(probs, target, eps=self.eps, target_index=target_index)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
