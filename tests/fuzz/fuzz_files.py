"""Byte-exact encoders of the files the fuzz tests feed the dataset and the predictor.

A hand-written PNG encoder covers what PIL and OpenCV do not write directly
(grey + alpha at 16 bits, headers claiming any size); OpenCV writes TIFF, BMP
and JPEG images and PIL writes label maps in every mode it has.

Dimension key: H, W: height and width; C: channels.
"""

import io
import struct
import zlib
from typing import Optional

import cv2
import numpy as np
from PIL import Image

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type of an image of C channels: grey, grey + alpha, RGB, RGBA.
_PNG_COLOUR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG of an ``(H, W)`` or ``(H, W, C)`` uint8/uint16 array, channels in RGB(A) order.

    Args:
        pixels (np.ndarray): ``(H, W)`` or ``(H, W, C)`` with C in 1..4 (grey,
            grey + alpha, RGB, RGBA), uint8 (8 bits) or uint16 (16 bits).

    Returns:
        bytes: The encoded file (no filtering, one IDAT chunk).
    """
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    height, width, channels = pixels.shape
    bits = 8 * pixels.dtype.itemsize
    header = struct.pack(">IIBBBBB", width, height, bits, _PNG_COLOUR_TYPES[channels], 0, 0, 0)
    rows = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(height, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` 8-bit RGB pixels but holds almost none.

    Decoding it fully would need ``3 * width * height`` bytes: the case of a
    corrupt header or a decompression bomb.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def cv2_bytes(pixels: np.ndarray, extension: str, quality: Optional[int] = None) -> bytes:
    """Encode a BGR(A) or grey array with OpenCV ('.tif', '.bmp', '.jpg', '.png').

    Args:
        pixels (np.ndarray): ``(H, W)`` or ``(H, W, C)``, C in 1, 3, 4, in
            OpenCV's BGR(A) order; uint8, uint16 or float32 (TIFF).
        extension (str): Format, with its dot.
        quality (int, optional): JPEG quality.

    Returns:
        bytes: The encoded file.
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if quality is not None else []
    ok, encoded = cv2.imencode(extension, pixels, params)
    assert ok, f"OpenCV could not encode {pixels.shape} {pixels.dtype} as {extension}"
    return encoded.tobytes()


def pil_bytes(image: Image.Image, extension: str) -> bytes:
    """Encode a PIL image (e.g. a label map in any PIL mode) as ``extension``.

    Args:
        image (PIL.Image.Image): The image, in the mode to store.
        extension (str): Format, with its dot ('.png', '.bmp', '.tif', '.jpg').

    Returns:
        bytes: The encoded file.
    """
    buffer = io.BytesIO()
    image.save(buffer, format=Image.registered_extensions()[extension])
    return buffer.getvalue()
