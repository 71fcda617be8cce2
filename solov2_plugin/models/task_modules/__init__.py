"""Task modules of SOLOv2: target assignment."""

from .solo_targets import LevelTargets, assign_solo_targets

__all__ = ["LevelTargets", "assign_solo_targets"]
