"""Dense heads: the SOLOv2 category and dynamic-kernel head."""

from .solov2_head import SOLOv2DynamicHead, dynamic_conv, points_nms

__all__ = ["SOLOv2DynamicHead", "dynamic_conv", "points_nms"]
