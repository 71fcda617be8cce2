"""Synthetic demo data in the seed's folder format (what ``tools/make_demo_data.py`` writes).

The scenes are made for a small SOLOv2 to learn in minutes: five classes told apart by shape,
each with a typical but varied colour and texture, on textured, noisy backgrounds; touching and
overlapping objects of varied size and aspect (thin rods, tiny objects), crowded, sparse and
empty images. Occlusion is moderate: every instance keeps at least ``MIN_VISIBLE_FRACTION`` of
its area as one connected piece.

Label maps come in three kinds, cycling over the images (``LABEL_FORMATS``): 8-bit PNG, 16-bit
PNG holding IDs above 255, and 8-bit BMP; IDs are non-consecutive except in some 8-bit maps.
Images are JPEG (Pillow's default quality, which keeps the data small), every eighth one PNG.

Modules: ``shapes`` (geometry), ``textures`` (colours), ``scenes`` (composition, one sample),
``writer`` (a whole data set on disk).
"""

from .scenes import (
    DENSITIES,
    LABEL_FORMATS,
    MIN_VISIBLE_FRACTION,
    SPLITS,
    DemoSample,
    compose_scene,
    make_sample,
)
from .shapes import BASE_SIZE, CLASSES
from .writer import MIN_SIZE, make_demo_data

__all__ = [
    "BASE_SIZE",
    "CLASSES",
    "DENSITIES",
    "LABEL_FORMATS",
    "MIN_SIZE",
    "MIN_VISIBLE_FRACTION",
    "SPLITS",
    "DemoSample",
    "compose_scene",
    "make_demo_data",
    "make_sample",
]
