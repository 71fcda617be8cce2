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
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine import fileio
from PIL import Image, UnidentifiedImageError

from .errors import PathLike, SeedFormatError, short_listing
from .label_formats import LOSSY_EXTENSIONS, READABLE_PIL_MODES, describe_label_formats

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
ANNOTATION_EXTENSION = ".json"

# What PIL raises on bytes that are not a (complete) image of a format it knows.
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


def _too_large(path: PathLike, what: str, error: Exception) -> SeedFormatError:
    """The error of a file whose header claims more pixels than PIL decodes safely."""
    return SeedFormatError(
        path,
        f"The {what}'s header claims too many pixels to decode safely ({error}); the file "
        "is corrupt, or far larger than a training image.",
        "Replace the file, or split a genuine huge image into tiles (PIL refuses more than "
        f"{2 * Image.MAX_IMAGE_PIXELS} pixels; raise PIL.Image.MAX_IMAGE_PIXELS only for "
        "trusted files).",
    )


@contextmanager
def _pil_decoding(path: PathLike, what: str, fix: str) -> Iterator[None]:
    """Turn PIL's decoding failures inside the block into :class:`SeedFormatError`.

    Args:
        path (str | Path): The file decoded.
        what (str): 'image' or 'label map', for the message.
        fix (str): How to fix an undecodable file, as a sentence.

    Raises:
        SeedFormatError: If the file is not an image, is truncated, or its
            header claims more pixels than PIL's decompression-bomb limit
            (``PIL.Image.MAX_IMAGE_PIXELS``, twice over).
    """
    try:
        yield
    except Image.DecompressionBombError as error:
        raise _too_large(path, what, error) from error
    except _DECODE_ERRORS as error:
        raise SeedFormatError(
            path,
            f"The {what} cannot be decoded ({error}); the file is truncated or not an image.",
            fix,
        ) from error


def read_label_map(path: PathLike, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an instance-ID label map losslessly.

    Args:
        path (str | Path): Label-map file (see :mod:`.label_formats`).
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: ``(H, W)`` array of uint8, uint16 or int32 IDs (>= 0);
        a 1-bit image gives uint8 IDs 0 and 1.

    Raises:
        SeedFormatError: If the file is missing, stored lossily, undecodable,
            truncated, too large to decode safely, has several channels or
            float values, or holds negative IDs.
    """
    suffix = Path(path).suffix.lower()
    if suffix in LOSSY_EXTENSIONS:
        raise SeedFormatError(
            path,
            f"The label map is stored as {suffix}, a lossy format that alters instance IDs.",
            f"Save it as {describe_label_formats()}.",
        )
    data = read_bytes(path, backend_args)
    fix = f"Re-export it as {describe_label_formats()}."
    with _pil_decoding(path, "label map", fix), Image.open(io.BytesIO(data)) as image:
        image.load()
        mode = image.mode
        label_map = np.asarray(image)
    if mode not in READABLE_PIL_MODES:
        kind = "float" if mode == "F" else f"'{mode}'"
        raise SeedFormatError(
            path,
            f"The label map is a {kind} image; it must be a single-channel integer image "
            "of instance IDs.",
            f"Save one channel of integer IDs (0 = background) as {describe_label_formats()}; "
            "do not store IDs as colours or floats.",
        )
    if label_map.dtype == bool:  # a 1-bit image: IDs 0 and 1
        label_map = label_map.astype(np.uint8)
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
        SeedFormatError: If the file is missing, not an image, truncated, or
            its header claims more pixels than PIL decodes safely.
    """
    data = read_bytes(path, backend_args)
    fix = "Replace it with a complete RGB image, or remove the sample's three files."
    with _pil_decoding(path, "image", fix), Image.open(io.BytesIO(data)) as image:
        if verify:
            image.load()
        width, height = image.size
        mode = image.mode
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


def _refuse_huge_header(data: bytes, path: PathLike) -> None:
    """Refuse a header claiming more pixels than PIL decodes safely, before OpenCV allocates them.

    OpenCV allocates the whole image from the header before reading any pixel
    (up to 2**30 pixels, 6 GiB for 16-bit RGB); PIL's header check is far
    stricter. Files PIL cannot parse are left to OpenCV.

    Raises:
        SeedFormatError: If the header claims more than PIL's limit.
    """
    try:
        with suppress(*_DECODE_ERRORS), Image.open(io.BytesIO(data)):
            pass
    except Image.DecompressionBombError as error:
        raise _too_large(path, "image", error) from error


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
        SeedFormatError: If the file cannot be decoded, its header claims more
            pixels than PIL decodes safely (checked before OpenCV allocates
            them), or it holds 32-bit or float values.
    """
    _refuse_huge_header(data, path)
    flags = cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as error:
        reason = str(error).strip().rpartition("error: ")[2]
        raise SeedFormatError(
            path,
            f"The image cannot be decoded (OpenCV: {reason}); the file is corrupt, truncated, "
            "or its header claims more pixels than OpenCV decodes (2**30).",
            "Replace it with a complete image, split a genuine huge image into tiles, or "
            "remove the sample's three files.",
        ) from error
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


def _short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters for messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


def _is_finite_number(value: Any) -> bool:
    """A JSON number (not a bool) that is finite as a float (huge integers are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


class _DuplicateKeyError(ValueError):
    """A JSON object holds the same key twice (json keeps only the last one)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(key)


def _unique_keys(pairs: List[Tuple[str, Any]]) -> dict:
    """``object_pairs_hook`` of :func:`json.loads` refusing repeated keys."""
    content: dict = {}
    for key, value in pairs:
        if key in content:
            raise _DuplicateKeyError(key)
        content[key] = value
    return content


def _parse_json(data: bytes, path: PathLike) -> Any:
    """Decode UTF-8 (a byte-order mark allowed) JSON without repeated keys.

    Raises:
        SeedFormatError: If the text is not UTF-8, not JSON, nested too
            deeply for the parser, or repeats a key within an object.
    """
    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=_unique_keys)
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
    except _DuplicateKeyError as error:
        raise SeedFormatError(
            path,
            f'The annotation repeats the key "{error.key}" within one object; JSON readers '
            "keep only the last one, silently dropping the others.",
            "Keep one entry per label ID (and one value per key).",
        ) from error
    except RecursionError as error:
        raise SeedFormatError(
            path,
            "The annotation nests arrays or objects too deeply to parse.",
            'Write an object keyed by label ID: {"1": {"class": "cat", "bbox": [...]}}.',
        ) from error


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
        SeedFormatError: If the file is missing, not valid UTF-8 JSON (a
            byte-order mark is allowed), repeats a key or a label ID, or an
            entry is malformed (a class given as an integer index included).
    """
    content = _parse_json(read_bytes(path, backend_args), path)
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
        if label_id in entries:
            raise _bad_entry(path, key, f"repeats label ID {label_id}")
        if not isinstance(entry, dict):
            raise _bad_entry(path, key, "is not an object")
        name = entry.get("class")
        problem = _class_name_problem(name, classes)
        if problem:
            raise _bad_entry(path, key, problem)
        bbox = entry.get("bbox")
        if bbox is not None:
            numbers = isinstance(bbox, list) and all(map(_is_finite_number, bbox))
            if not numbers or len(bbox) != 4:
                raise _bad_entry(path, key, f'has "bbox" {_short_repr(bbox)}, not 4 numbers')
            bbox = [float(v) for v in bbox]
        iscrowd = entry.get("iscrowd", 0)
        if iscrowd not in (0, 1, False, True):
            raise _bad_entry(path, key, f'has "iscrowd" {_short_repr(iscrowd)}, not 0 or 1')
        entries[label_id] = {"class": name, "bbox": bbox, "iscrowd": bool(iscrowd)}
    return {label_id: entries[label_id] for label_id in sorted(entries)}
