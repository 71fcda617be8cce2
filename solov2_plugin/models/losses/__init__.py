"""Losses of SOLOv2: sigmoid focal loss (categories) and dice loss (masks)."""

from .dice_loss import SOLOv2DiceLoss, dice_loss, pooled_dice_loss
from .focal_loss import SOLOv2FocalLoss, sigmoid_focal_loss

__all__ = [
    "SOLOv2DiceLoss",
    "SOLOv2FocalLoss",
    "dice_loss",
    "pooled_dice_loss",
    "sigmoid_focal_loss",
]
