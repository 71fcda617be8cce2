"""Pictures of instance predictions: overlays and the seed's fused label image."""

from .overlay import draw_instances, fused_label_map

__all__ = ["draw_instances", "fused_label_map"]
