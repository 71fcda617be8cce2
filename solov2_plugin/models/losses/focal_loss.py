"""Sigmoid focal loss for the SOLOv2 category branch.

Dimension key: M grid cells (all levels and images), C foreground classes.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor, nn

from .reduction import check_reduction


def sigmoid_focal_loss(
    logits: Tensor, labels: Tensor, gamma: float = 2.0, alpha: float = 0.25
) -> Tensor:
    """Element-wise sigmoid focal loss (Lin et al., arXiv 1708.02002).

    ``loss = BCE(p, t) * (alpha * t + (1 - alpha) * (1 - t)) * |t - p| ** gamma``
    with ``p = sigmoid(logits)``, computed from the logits for stability.

    Args:
        logits (Tensor): Class logits, shape (M, C).
        labels (Tensor): Class index of each row, shape (M,), int64 in
            ``[0, C]`` where ``C`` is background (all targets 0); or targets
            of the same shape as ``logits`` (one-hot or soft, in [0, 1]).
        gamma (float): Focusing exponent.
        alpha (float): Weight of the positive targets.

    Returns:
        Tensor: Loss per cell and class, shape (M, C), dtype of ``logits``.
    """
    probs = logits.sigmoid()
    if labels.shape == logits.shape:
        targets = labels.to(logits.dtype)
        # 1 - p_t in the paper's notation.
        miss = (1 - probs) * targets + probs * (1 - targets)
        focal_weight = (alpha * targets + (1 - alpha) * (1 - targets)) * miss.pow(gamma)
    else:
        classes = torch.arange(logits.shape[1], device=logits.device)
        positive = labels[:, None] == classes[None, :]
        targets = positive.to(logits.dtype)
        # With 0/1 targets the general weights above reduce to a choice, bit for bit
        # (x * 1 + y * 0 == x), in fewer passes over the (M, C) logits.
        miss = torch.where(positive, 1 - probs, probs)
        alpha_t = torch.where(positive, logits.new_full((), alpha), 1 - alpha)
        focal_weight = alpha_t * miss.pow(gamma)
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="none") * focal_weight


@MODELS.register_module()
class SOLOv2FocalLoss(nn.Module):
    """Sigmoid focal loss for per-cell classification, mmdet-style API.

    Unlike mmdet's ``FocalLoss`` it takes no CUDA-only path, so the value is
    the same on every device.

    Args:
        gamma (float): Focusing exponent. Defaults to 2.0.
        alpha (float): Weight of the positive targets. Defaults to 0.25.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Defaults to ``'mean'``.
        loss_weight (float): Factor applied to the loss. Defaults to 1.0.
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = "mean",
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        check_reduction("SOLOv2FocalLoss", "reduction", reduction, optional=False)
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Optional[Tensor] = None,
        avg_factor: Optional[float] = None,
        reduction_override: Optional[str] = None,
    ) -> Tensor:
        """Compute the weighted, reduced focal loss.

        Args:
            pred (Tensor): Logits, shape (M, C).
            target (Tensor): Labels, shape (M,), int64 in ``[0, C]`` with
                ``C`` = background; or one-hot targets of shape (M, C).
            weight (Tensor, optional): Weight per cell, shape (M,), or per cell
                and class, shape (M, C).
            avg_factor (float, optional): With ``'mean'``, the sum is divided
                by this (SOLOv2 uses the number of positive cells + 1).
            reduction_override (str, optional): Replaces ``reduction``.

        Returns:
            Tensor: Scalar loss, or shape (M, C) with ``'none'``.
        """
        check_reduction("SOLOv2FocalLoss", "reduction_override", reduction_override, optional=True)
        reduction = reduction_override or self.reduction
        loss = sigmoid_focal_loss(pred, target, gamma=self.gamma, alpha=self.alpha)
        if weight is not None and weight.dim() == 1:
            weight = weight[:, None]
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
