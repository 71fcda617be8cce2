"""Data structures and conversions shared by the models and datasets."""

from .mask_boxes import boxes_from_projections, masks_to_boxes

__all__ = ["boxes_from_projections", "masks_to_boxes"]
