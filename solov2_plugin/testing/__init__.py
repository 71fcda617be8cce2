"""Synthetic inputs for tests and benchmarks (no files, no downloads)."""

from .scenes import random_instance_masks, random_label_map

__all__ = ["random_instance_masks", "random_label_map"]
