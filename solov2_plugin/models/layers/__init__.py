"""Layers: normalisation, coordinate channels, mask-feature branch, Matrix NMS, post-processing."""

from .coord import append_coord_channels
from .mask_feat_branch import SOLOv2MaskFeatBranch
from .matrix_nms import matrix_nms
from .norm import ChannelLayerNorm
from .solo_postprocess import TopCandidates, candidate_masks, select_top_candidates

__all__ = [
    "ChannelLayerNorm",
    "SOLOv2MaskFeatBranch",
    "TopCandidates",
    "append_coord_channels",
    "candidate_masks",
    "matrix_nms",
    "select_top_candidates",
]
