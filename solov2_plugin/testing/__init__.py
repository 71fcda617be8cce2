"""Synthetic inputs for tests and benchmarks (no files, no downloads)."""

from .id_oracle import decode_ids, encode_ids, oracle_predict, shapes_scene
from .scenes import random_instance_masks, random_label_map

__all__ = [
    "decode_ids",
    "encode_ids",
    "oracle_predict",
    "random_instance_masks",
    "random_label_map",
    "shapes_scene",
]
