"""Layers: normalisation, coordinate channels, mask-feature branch, Matrix NMS."""

from .coord import append_coord_channels
from .mask_feat_branch import SOLOv2MaskFeatBranch
from .matrix_nms import matrix_nms
from .norm import ChannelLayerNorm

__all__ = ["ChannelLayerNorm", "SOLOv2MaskFeatBranch", "append_coord_channels", "matrix_nms"]
