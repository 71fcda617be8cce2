"""Helpers of the model parts: mmdet SOLOv2 checkpoint names -> ours, float32 head methods."""

from .mmdet_checkpoint import (
    convert_mmdet_checkpoint,
    convert_mmdet_state_dict,
    is_mmdet_solov2_state_dict,
    mmdet_head_key_to_ours,
)
from .precision import in_float32

__all__ = [
    "convert_mmdet_checkpoint",
    "convert_mmdet_state_dict",
    "in_float32",
    "is_mmdet_solov2_state_dict",
    "mmdet_head_key_to_ours",
]
