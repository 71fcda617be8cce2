"""Runtime support: safe checkpoint loading for mmengine on torch >= 2.6, and our hooks."""

from .checkpoint import UnsafeCheckpointError, enable_safe_checkpoints, load_from_local_safely
from .class_count_hook import ClassCountCheckHook
from .gt_pred_overlay_hook import GTPredOverlayHook

enable_safe_checkpoints()

__all__ = [
    "ClassCountCheckHook",
    "GTPredOverlayHook",
    "UnsafeCheckpointError",
    "enable_safe_checkpoints",
    "load_from_local_safely",
]
