"""Former home of the seed-format readers and writers, kept for old imports.

The code now lives in one module per job: :mod:`.errors`, :mod:`.label_formats`,
:mod:`.seed_readers`, :mod:`.seed_writers`, :mod:`.split_pairing` and
:mod:`.seed_validation`. Import from those (or from ``solov2_plugin.datasets``).
"""

from .errors import SeedFormatError, short_listing
from .label_formats import LABEL_EXTENSIONS, LOSSY_EXTENSIONS, default_label_extension
from .seed_readers import (
    ANNOTATION_EXTENSION,
    IMAGE_EXTENSIONS,
    read_annotation,
    read_image_size,
    read_label_map,
)
from .seed_validation import SeedSample, inspect_seed_sample, read_seed_sample
from .seed_writers import (
    annotation_from_label_map,
    write_annotation,
    write_label_map,
    write_seed_sample,
)
from .split_pairing import SeedSamplePaths, scan_seed_split

__all__ = [
    "ANNOTATION_EXTENSION",
    "IMAGE_EXTENSIONS",
    "LABEL_EXTENSIONS",
    "LOSSY_EXTENSIONS",
    "SeedFormatError",
    "SeedSample",
    "SeedSamplePaths",
    "annotation_from_label_map",
    "default_label_extension",
    "inspect_seed_sample",
    "read_annotation",
    "read_image_size",
    "read_label_map",
    "read_seed_sample",
    "scan_seed_split",
    "short_listing",
    "write_annotation",
    "write_label_map",
    "write_seed_sample",
]
