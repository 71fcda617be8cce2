"""Task modules of SOLOv2: target assignment (assigners registered in mmdet's TASK_UTILS)."""

from .assigners import (
    SOLOv2CenterRegionAssigner,
    SOLOv2MaskExtentAssigner,
    assign_solo_targets,
    build_solo_assigner,
)
from .solo_targets import LevelTargets, SOLOv2GridAssigner

__all__ = [
    "LevelTargets",
    "SOLOv2CenterRegionAssigner",
    "SOLOv2GridAssigner",
    "SOLOv2MaskExtentAssigner",
    "assign_solo_targets",
    "build_solo_assigner",
]
