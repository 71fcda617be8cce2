"""Reading the three files of a seed-format sample: label map, image, annotation.

Label maps go through PIL only: OpenCV silently clips IDs above 255 or 65535.
Images are decoded by OpenCV as mmcv's ``LoadImageFromFile`` does, but keeping
their bit depth (see :func:`decode_image_bgr`). Every problem with a file
raises :class:`~.errors.SeedFormatError`, whose message names the file, says
what is wrong and how to fix it.

Dimension key: H, W: image height and width.
"""

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

from .errors import PathLike, SeedFormatError, short_listing
from .label_formats import LOSSY_EXTENSIONS, READABLE_PIL_MODES, describe_label_formats

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
ANNOTATION_EXTENSION = ".json"

_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bits per channel of PIL modes that are not 8-bit.
_MODE_BITS = {"1": 1, "I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16, "I": 32, "F": 32}
_GREY_MODES = ("1", "L", "LA", "I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def read_bytes(path: PathLike, backend_args: Optional[dict] = None) -> bytes:
    """Read a file through mmengine's file backends.

    Raises:
        SeedFormatError: If the file is missing or unreadable.
    """
    try:
        return fileio.get(str(path), backend_args=backend_args)
    except FileNotFoundError as error:
        raise SeedFormatError(
            path, "The file does not exist.", "Check the path and the split's sub-folders."
        ) from error
    except OSError as error:
        raise SeedFormatError(
            path, f"The file cannot be read ({error}).", "Check its permissions."
        ) from error


def read_label_map(path: PathLike, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an instance-ID label map losslessly.

    Args:
        path (str | Path): Label-map file (see :mod:`.label_formats`).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``(H, W)`` array of uint8, uint16 or int32 IDs (>= 0).

    Raises:
        SeedFormatError: If the file is missing, stored lossily, undecodable,
            truncated, has several channels or float values, or holds
            negative IDs.
    """
    suffix = Path(path).suffix.lower()
    if suffix in LOSSY_EXTENSIONS:
        raise SeedFormatError(
            path,
            f"The label map is stored as {suffix}, a lossy format that alters instance IDs.",
            f"Save it as {describe_label_formats()}.",
        )
    data = read_bytes(path, backend_args)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            label_map = np.asarray(image)
    except _DECODE_ERRORS as error:
        raise SeedFormatError(
            path,
            f"The label map cannot be decoded ({error}); the file is truncated or not an image.",
            f"Re-export it as {describe_label_formats()}.",
        ) from error
    if mode not in READABLE_PIL_MODES:
        kind = "float" if mode == "F" else f"'{mode}'"
        raise SeedFormatError(
            path,
            f"The label map is a {kind} image; it must be a single-channel integer image "
            "of instance IDs.",
            f"Save one channel of integer IDs (0 = background) as {describe_label_formats()}; "
            "do not store IDs as colours or floats.",
        )
    if label_map.dtype.byteorder not in ("=", "|"):
        label_map = label_map.astype(label_map.dtype.newbyteorder("="))
    if label_map.dtype.kind == "i" and label_map.size and label_map.min() < 0:
        raise SeedFormatError(
            path,
            f"The label map holds negative IDs (smallest {label_map.min()}).",
            "IDs must be >= 0 (0 = background); 32-bit TIFFs hold IDs up to 2**31 - 1.",
        )
    return label_map


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says.

    Attributes:
        height (int): H.
        width (int): W.
        mode (str): PIL mode ('RGB', 'L', 'I;16', 'RGBA'...).
        bits (int): Bits per channel (1, 8, 16 or 32).
        greyscale (bool): One colour channel (with or without alpha).
    """

    height: int
    width: int
    mode: str
    bits: int
    greyscale: bool

    def describe(self) -> str:
        """``'16-bit greyscale'``, ``'8-bit RGBA'``..."""
        kind = "greyscale" if self.greyscale else self.mode
        return f"{'float' if self.mode == 'F' else f'{self.bits}-bit'} {kind}"


def read_image_info(
    path: PathLike, verify: bool = False, backend_args: Optional[dict] = None
) -> ImageInfo:
    """Read an image's size, mode and bit depth from its header.

    Args:
        path (str | Path): Image file.
        verify (bool): Decode every pixel, which finds truncated files.
            Defaults to False (header only).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        ImageInfo: Size, mode and depth. A PNG's depth comes from its header
        (PIL opens 16-bit colour PNGs as 8-bit 'RGB').

    Raises:
        SeedFormatError: If the file is missing, not an image or truncated.
    """
    data = read_bytes(path, backend_args)
    try:
        with Image.open(io.BytesIO(data)) as image:
            if verify:
                image.load()
            width, height = image.size
            mode = image.mode
    except _DECODE_ERRORS as error:
        raise SeedFormatError(
            path,
            f"The image cannot be decoded ({error}); the file is truncated or not an image.",
            "Replace it with a complete RGB image, or remove the sample's three files.",
        ) from error
    bits = _MODE_BITS.get(mode, 8)
    if data.startswith(_PNG_SIGNATURE) and len(data) > 24:
        bits = max(bits, data[24])
    return ImageInfo(height, width, mode, bits, mode in _GREY_MODES)


def read_image_size(
    path: PathLike, verify: bool = False, backend_args: Optional[dict] = None
) -> Tuple[int, int]:
    """``(height, width)`` of an image, from :func:`read_image_info`."""
    info = read_image_info(path, verify, backend_args)
    return info.height, info.width


def decode_image_bgr(data: bytes, path: PathLike, max_value: Optional[int] = None) -> np.ndarray:
    """Decode an image of any common depth to an 8-bit BGR array.

    OpenCV decodes it as mmcv's ``LoadImageFromFile`` does (colour, EXIF
    orientation applied, greyscale replicated to three channels, alpha
    dropped), but keeps 16 bits per channel, which are then scaled to 8:
    ``floor(v * 255 / max_value + 0.5)``. An 8-bit image comes out exactly as
    ``LoadImageFromFile`` gives it.

    Args:
        data (bytes): The encoded file.
        path (str | Path): Its path, for error messages.
        max_value (int, optional): The value that becomes 255 in a 16-bit
            image, e.g. 4095 for 12-bit sensor data, 65535 for the full range;
            None (default) takes each image's own maximum.

    Returns:
        np.ndarray: ``(H, W, 3)`` uint8 BGR image.

    Raises:
        SeedFormatError: If the file cannot be decoded or holds 32-bit or
            float values.
    """
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None:
        raise SeedFormatError(
            path,
            "The image cannot be decoded; the file is truncated or not an image.",
            "Replace it with a complete image, or remove the sample's three files.",
        )
    if image.dtype == np.uint8:
        return image
    if image.dtype != np.uint16:
        raise SeedFormatError(
            path,
            f"The image holds {image.dtype} values; 8- and 16-bit images are supported.",
            "Save it as an 8- or 16-bit PNG or TIFF.",
        )
    scale = max_value if max_value is not None else int(image.max())
    if scale <= 0:
        return np.zeros(image.shape, np.uint8)
    scaled = np.floor(image.astype(np.float32) * (255.0 / scale) + 0.5)
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _bad_entry(path: PathLike, key: str, problem: str) -> SeedFormatError:
    joiner = "" if problem.startswith(":") else " "
    return SeedFormatError(
        path,
        f'Entry "{key}"{joiner}{problem}.',
        'Each entry must read "<label id>": {"class": "<name>", "bbox": [x0, y0, x1, y1]}.',
    )


def _class_name_problem(name: object, classes: Optional[Sequence[str]]) -> Optional[str]:
    """What is wrong with an entry's ``"class"`` value, or None if it is a name."""
    if isinstance(name, str) and name:
        return None
    if name is None:
        return 'has no "class" name'
    if isinstance(name, str):
        return 'has an empty "class" name'
    if isinstance(name, bool) or not isinstance(name, int):
        got = f"the {type(name).__name__} {name!r}"
    else:
        got = f"the integer {name}"
    known = f"one of {short_listing(repr(c) for c in classes)}" if classes else "e.g. 'cat'"
    return f': "class" must be a class name string, got {got} (use the name, {known})'


def read_annotation(
    path: PathLike,
    backend_args: Optional[dict] = None,
    classes: Optional[Sequence[str]] = None,
) -> Dict[int, dict]:
    """Read and validate a seed annotation JSON.

    Args:
        path (str | Path): Annotation file.
        backend_args (dict, optional): mmengine file backend arguments.
        classes (Sequence[str], optional): The dataset's class names, only to
            name them in the message about a class given as a number.

    Returns:
        dict[int, dict]: Per label ID (ascending), ``"class"`` (str), ``bbox``
        (list of 4 floats ``x0, y0, x1, y1``, or None when absent) and
        ``iscrowd`` (bool).

    Raises:
        SeedFormatError: If the file is missing, not valid JSON, or an entry is
            malformed (a class given as an integer index included).
    """
    data = read_bytes(path, backend_args)
    try:
        content = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise SeedFormatError(
            path, "The annotation is not UTF-8 text.", "Save it as a UTF-8 JSON file."
        ) from error
    except json.JSONDecodeError as error:
        raise SeedFormatError(
            path,
            f"The annotation is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno}).",
            "Fix the syntax; an image without instances needs the file to hold {}.",
        ) from error
    if not isinstance(content, dict):
        raise SeedFormatError(
            path,
            f"The annotation holds a JSON {type(content).__name__}, not an object.",
            'Write an object keyed by label ID: {"1": {"class": "cat", "bbox": [...]}}.',
        )
    entries: Dict[int, dict] = {}
    for key, entry in content.items():
        try:
            label_id = int(key)
        except ValueError:
            label_id = 0
        if label_id <= 0 or str(label_id) != key.strip():
            raise _bad_entry(path, key, "is not keyed by a positive integer label ID")
        if not isinstance(entry, dict):
            raise _bad_entry(path, key, "is not an object")
        name = entry.get("class")
        problem = _class_name_problem(name, classes)
        if problem:
            raise _bad_entry(path, key, problem)
        bbox = entry.get("bbox")
        if bbox is not None:
            if (
                not isinstance(bbox, list)
                or len(bbox) != 4
                or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in bbox
                )
            ):
                raise _bad_entry(path, key, f'has "bbox" {bbox!r}, not 4 numbers')
            bbox = [float(v) for v in bbox]
        iscrowd = entry.get("iscrowd", 0)
        if iscrowd not in (0, 1, False, True):
            raise _bad_entry(path, key, f'has "iscrowd" {iscrowd!r}, not 0 or 1')
        entries[label_id] = {"class": name, "bbox": bbox, "iscrowd": bool(iscrowd)}
    return {label_id: entries[label_id] for label_id in sorted(entries)}
