"""Datasets, loading and conversion for the seed's folder format."""

from .class_index import default_palette, read_cls_ind
from .coco_convert import coco_to_seed, decode_segmentation, encode_instance_rles, seed_to_coco
from .seed_dataset import SeedBoxMismatchWarning, SeedInstanceDataset
from .seed_io import (
    SeedFormatError,
    SeedSample,
    SeedSamplePaths,
    inspect_seed_sample,
    read_annotation,
    read_label_map,
    read_seed_sample,
    scan_seed_split,
    write_seed_sample,
)
from .transforms import LoadSeedInstanceMasks

__all__ = [
    "LoadSeedInstanceMasks",
    "SeedBoxMismatchWarning",
    "SeedFormatError",
    "SeedInstanceDataset",
    "SeedSample",
    "SeedSamplePaths",
    "coco_to_seed",
    "decode_segmentation",
    "default_palette",
    "encode_instance_rles",
    "inspect_seed_sample",
    "read_annotation",
    "read_cls_ind",
    "read_label_map",
    "read_seed_sample",
    "scan_seed_split",
    "seed_to_coco",
    "write_seed_sample",
]
