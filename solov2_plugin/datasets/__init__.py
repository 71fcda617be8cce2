"""Datasets, loading and conversion for the seed's folder format."""

from .check_report import SplitReport, check_split
from .class_index import default_palette, read_cls_ind, write_cls_ind
from .coco_convert import coco_to_seed, decode_segmentation, encode_instance_rles, seed_to_coco
from .coco_files import write_coco_as_seed, write_seed_as_coco
from .errors import SeedFormatError
from .label_formats import LABEL_FORMATS
from .seed_dataset import (
    SeedBoxMismatchWarning,
    SeedImageDepthWarning,
    SeedInstanceDataset,
    SeedSemanticMapWarning,
)
from .seed_readers import read_annotation, read_image_info, read_label_map
from .seed_validation import SeedSample, inspect_seed_sample, read_seed_sample
from .seed_writers import write_label_map, write_seed_sample
from .split_pairing import SeedSamplePaths, scan_seed_split
from .transforms import LoadSeedImage, LoadSeedInstanceMasks

__all__ = [
    "LABEL_FORMATS",
    "LoadSeedImage",
    "LoadSeedInstanceMasks",
    "SeedBoxMismatchWarning",
    "SeedFormatError",
    "SeedImageDepthWarning",
    "SeedInstanceDataset",
    "SeedSample",
    "SeedSamplePaths",
    "SeedSemanticMapWarning",
    "SplitReport",
    "check_split",
    "coco_to_seed",
    "decode_segmentation",
    "default_palette",
    "encode_instance_rles",
    "inspect_seed_sample",
    "read_annotation",
    "read_cls_ind",
    "write_cls_ind",
    "read_image_info",
    "read_label_map",
    "read_seed_sample",
    "scan_seed_split",
    "seed_to_coco",
    "write_coco_as_seed",
    "write_label_map",
    "write_seed_as_coco",
    "write_seed_sample",
]
