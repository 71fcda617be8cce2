"""Runtime support: safe checkpoints on torch >= 2.6, our hooks, torchrun on CPUs."""

from .checkpoint import UnsafeCheckpointError, enable_safe_checkpoints, load_from_local_safely
from .class_count_hook import ClassCountCheckHook
from .cpu_distributed import join_cpu_process_group
from .gt_pred_overlay_hook import GTPredOverlayHook
from .nonfinite_loss import (
    NonFiniteLossAmpOptimWrapper,
    NonFiniteLossOptimWrapper,
    RecordBatchImagesHook,
)

enable_safe_checkpoints()

__all__ = [
    "ClassCountCheckHook",
    "GTPredOverlayHook",
    "NonFiniteLossAmpOptimWrapper",
    "NonFiniteLossOptimWrapper",
    "RecordBatchImagesHook",
    "UnsafeCheckpointError",
    "enable_safe_checkpoints",
    "join_cpu_process_group",
    "load_from_local_safely",
]
