"""Dice loss for the SOLOv2 mask branch.

Dimension key: P positive claims (instances x cells), H x W mask-feature size,
B images.

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


def dice_loss(probs: Tensor, targets: Tensor, eps: float = 1e-3) -> Tensor:
    """Per-instance dice loss.

    Args:
        probs (Tensor): Mask probabilities, shape (P, H, W).
        targets (Tensor): Binary mask targets, shape (P, H, W).
        eps (float): Added to each squared sum in the denominator.

    Returns:
        Tensor: ``1 - dice`` per instance, shape (P,).
    """
    probs = probs.flatten(1)
    targets = targets.flatten(1).to(probs.dtype)
    return _dice_from_sums(
        (probs * targets).sum(1), (probs * probs).sum(1), (targets * targets).sum(1), eps
    )


def pooled_dice_loss(
    probs: Tensor, targets: Tensor, image_ids: Tensor, num_images: int, eps: float = 1e-3
) -> Tensor:
    """Dice loss with all instances of one image pooled together (the seed's form).

    Args:
        probs (Tensor): Mask probabilities, shape (P, H, W).
        targets (Tensor): Binary mask targets, shape (P, H, W).
        image_ids (Tensor): Image index of each instance, shape (P,), int64
            in ``[0, num_images)``.
        num_images (int): Number of images B in the batch.
        eps (float): Added to each squared sum in the denominator.

    Returns:
        Tensor: ``1 - dice`` per image, shape (B,); 0 for images with no
        instance.
    """
    probs = probs.flatten(1)
    targets = targets.flatten(1).to(probs.dtype)
    sums = torch.stack(
        [(probs * targets).sum(1), (probs * probs).sum(1), (targets * targets).sum(1)], dim=1
    )
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
    ) -> Tensor:
        """Compute the weighted, reduced dice loss.

        With zero instances (P == 0) the loss is exactly 0 and still depends
        on ``pred``, so ``backward`` works (and yields zero gradients).

        Args:
            pred (Tensor): Mask logits (``use_sigmoid``) or probabilities,
                shape (P, H, W).
            target (Tensor): Binary mask targets, shape (P, H, W).
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

        Returns:
            Tensor: Scalar loss; with ``'none'``, shape (P,) (or (B,) when
            pooled).
        """
        check_reduction("SOLOv2DiceLoss", "reduction_override", reduction_override, optional=True)
        if pred.shape != target.shape:
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
            loss = pooled_dice_loss(probs, target, image_ids, num_images, eps=self.eps)
            if reduction == "mean" and avg_factor is None:
                # Average over the images that hold instances.
                present = torch.bincount(image_ids, minlength=num_images) > 0
                avg_factor = present.sum()
        else:
            loss = dice_loss(probs, target, eps=self.eps)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
