"""Pictures of instance predictions: overlays, ground truth | prediction pairs, sheets."""

from .comparison import (
    draw_gt_pred,
    ground_truth_masks,
    overview_sheet,
    side_by_side,
    write_overview,
)
from .overlay import LabelBox, draw_instances, fused_label_map, label_anchors, place_labels

__all__ = [
    "LabelBox",
    "draw_gt_pred",
    "draw_instances",
    "fused_label_map",
    "ground_truth_masks",
    "label_anchors",
    "overview_sheet",
    "place_labels",
    "side_by_side",
    "write_overview",
]
