"""The one table of label-map formats: what each file extension stores and how.

Every reader, writer, checker and message of the package takes the formats
from :data:`LABEL_FORMATS`; nothing else states which extension holds which IDs.

===========  ============  ==================  ==========
extension    bits per ID   numpy dtype         largest ID
===========  ============  ==================  ==========
``.png``     8 or 16       uint8 / uint16      65535
``.bmp``     8             uint8               255
``.tif``     32            int32 (signed)      2**31 - 1
``.tiff``    32            int32 (signed)      2**31 - 1
===========  ============  ==================  ==========
"""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class IdDepth:
    """How many bits store one ID, and what that means.

    Attributes:
        bits (int): Bits per ID.
        dtype (np.dtype): Array dtype written (and read back) for this depth.
        max_id (int): Largest ID it holds.
        pil_mode (str): PIL mode of a written image of this depth.
    """

    bits: int
    dtype: np.dtype
    max_id: int
    pil_mode: str


ID_DEPTHS: Dict[int, IdDepth] = {
    8: IdDepth(8, np.dtype(np.uint8), 255, "L"),
    16: IdDepth(16, np.dtype(np.uint16), 65535, "I;16"),
    32: IdDepth(32, np.dtype(np.int32), 2**31 - 1, "I"),
}


@dataclass(frozen=True)
class LabelFormat:
    """A lossless label-map file format.

    Attributes:
        extension (str): Lower-case file extension with its dot.
        name (str): Name of the format in messages.
        bits (tuple[int, ...]): Bits per ID it stores, fewest first.
    """

    extension: str
    name: str
    bits: Tuple[int, ...]

    @property
    def max_id(self) -> int:
        """Largest ID the format holds at its deepest."""
        return ID_DEPTHS[self.bits[-1]].max_id

    def describe(self) -> str:
        """``'PNG (8 or 16 bits)'``."""
        return f"{self.name} ({' or '.join(map(str, self.bits))} bits)"


# Written label maps; the first format holding an ID is the default for it.
LABEL_FORMATS: Dict[str, LabelFormat] = {
    ".png": LabelFormat(".png", "PNG", (8, 16)),
    ".bmp": LabelFormat(".bmp", "BMP", (8,)),
    ".tif": LabelFormat(".tif", "TIFF", (32,)),
    ".tiff": LabelFormat(".tiff", "TIFF", (32,)),
}
LABEL_EXTENSIONS: Tuple[str, ...] = tuple(LABEL_FORMATS)
# Extensions refused for label maps: their compression alters IDs.
LOSSY_EXTENSIONS: Tuple[str, ...] = (".jpg", ".jpeg", ".webp", ".jp2", ".gif")
# PIL modes of single-channel integer images, all readable as IDs (a palette
# image is read as its indices, a 1-bit image as IDs 0 and 1).
READABLE_PIL_MODES: Tuple[str, ...] = ("1", "L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I")


def describe_label_formats() -> str:
    """``'PNG (8 or 16 bits), BMP (8 bits) or TIFF (32 bits)'``, for messages."""
    names = list(dict.fromkeys(f.describe() for f in LABEL_FORMATS.values()))
    return ", ".join(names[:-1]) + " or " + names[-1]


def label_format(extension: str) -> LabelFormat:
    """The format of a label-map extension.

    Args:
        extension (str): File extension with its dot, any case.

    Returns:
        LabelFormat: Its entry of :data:`LABEL_FORMATS`.

    Raises:
        ValueError: If the extension is not a lossless label-map format.
    """
    found = LABEL_FORMATS.get(extension.lower())
    if found is None:
        raise ValueError(
            f"A label map must be written as one of {LABEL_EXTENSIONS} (lossless), not "
            f"{extension or 'a file without extension'}."
        )
    return found


def default_label_extension(highest_id: int, bits: Optional[int] = None) -> str:
    """The first format of the table that holds IDs up to ``highest_id``.

    Args:
        highest_id (int): Largest ID of the map.
        bits (int, optional): Bits per ID the format must offer.

    Returns:
        str: '.png' up to 65535 (or for 8/16 bits), else '.tif'.

    Raises:
        ValueError: If no format holds the ID at that depth.
    """
    for extension, found in LABEL_FORMATS.items():
        depths = found.bits if bits is None else [b for b in found.bits if b == bits]
        if any(highest_id <= ID_DEPTHS[b].max_id for b in depths):
            return extension
    if bits is None:
        raise ValueError(
            f"ID {highest_id} exceeds every label-map format (largest ID "
            f"{ID_DEPTHS[32].max_id}); renumber the instances."
        )
    raise ValueError(
        f"label_bits={bits} cannot hold ID {highest_id} in any label-map format; "
        f"choose more bits or renumber the instances ({describe_label_formats()})."
    )


def label_depth(extension: str, highest_id: int, bits: Optional[int] = None) -> IdDepth:
    """The depth a label map of this extension is written with.

    Args:
        extension (str): File extension with its dot.
        highest_id (int): Largest ID of the map.
        bits (int, optional): Requested bits per ID; None picks the fewest
            the format offers that hold ``highest_id``.

    Returns:
        IdDepth: The depth to write.

    Raises:
        ValueError: If the format is unknown or cannot hold the ID at that depth.
    """
    found = label_format(extension)
    if bits is None:
        for candidate in found.bits:
            if highest_id <= ID_DEPTHS[candidate].max_id:
                return ID_DEPTHS[candidate]
        raise ValueError(
            f"A {found.extension} label map stores IDs up to {found.max_id}, but the map holds "
            f"ID {highest_id}; use a '.tif' label map (32 bits) or renumber the instances."
        )
    if bits not in found.bits or highest_id > ID_DEPTHS[bits].max_id:
        raise ValueError(
            f"label_bits={bits} cannot hold ID {highest_id} in a {found.extension} label map; "
            f"{found.describe()} store IDs up to {found.max_id}."
        )
    return ID_DEPTHS[bits]
