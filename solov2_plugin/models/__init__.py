"""SOLOv2 model parts; importing this package registers them in mmdet's MODELS and TASK_UTILS."""

from . import dense_heads, detectors, layers, losses, task_modules
from .dense_heads import SOLOv2DynamicHead
from .detectors import SOLOv2Segmentor
from .layers import ChannelLayerNorm, SOLOv2MaskFeatBranch, matrix_nms
from .losses import SOLOv2DiceLoss, SOLOv2FocalLoss
from .task_modules import (
    LevelTargets,
    SOLOv2CenterRegionAssigner,
    SOLOv2MaskExtentAssigner,
    assign_solo_targets,
)

__all__ = [
    "ChannelLayerNorm",
    "LevelTargets",
    "SOLOv2CenterRegionAssigner",
    "SOLOv2DiceLoss",
    "SOLOv2DynamicHead",
    "SOLOv2FocalLoss",
    "SOLOv2MaskExtentAssigner",
    "SOLOv2MaskFeatBranch",
    "SOLOv2Segmentor",
    "assign_solo_targets",
    "dense_heads",
    "detectors",
    "layers",
    "losses",
    "matrix_nms",
    "task_modules",
]
