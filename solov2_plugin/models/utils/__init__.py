"""Helpers of the model parts: mmdet SOLOv2 checkpoint names -> ours."""

from .mmdet_checkpoint import (
    convert_mmdet_checkpoint,
    convert_mmdet_state_dict,
    is_mmdet_solov2_state_dict,
    mmdet_head_key_to_ours,
)

__all__ = [
    "convert_mmdet_checkpoint",
    "convert_mmdet_state_dict",
    "is_mmdet_solov2_state_dict",
    "mmdet_head_key_to_ours",
]
