"""Evaluation metrics."""

from .crowded_coco_metric import CrowdedCocoMetric

__all__ = ["CrowdedCocoMetric"]
