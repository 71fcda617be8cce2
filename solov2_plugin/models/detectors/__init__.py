"""Detectors: the SOLOv2 instance segmentor."""

from .solov2 import SOLOv2Segmentor

__all__ = ["SOLOv2Segmentor"]
