"""Object geometry of the demo scenes: five shape classes, rasterized with supersampling.

A shape is an inside test on local coordinates (u along the object's main axis, v across),
placed in the image by a centre and a rotation. S: image side in px; (h, w): a shape's box.
"""

import math
from dataclasses import dataclass
from typing import Callable, Tuple

import numpy as np

CLASSES = ("disc", "block", "triangle", "ring", "rod")
BASE_SIZE = 256

Inside = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Shape:
    """An object's geometry: an inside test on rotated local coordinates (u, v).

    Attributes:
        cls: Class name.
        inside: Inside test on local coordinates (u along the object's main axis, v across).
        radius: Largest distance from the centre to the outline, in px.
        mean_radius: Typical distance from the centre to the outline, in px (for touching).
    """

    cls: str
    inside: Inside
    radius: float
    mean_radius: float


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A number between ``low`` and ``high`` whose logarithm is uniform."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def ellipse(a: float, b: float) -> Inside:
    """Inside test of an axis-aligned ellipse with semi-axes ``a`` (along u) and ``b``."""
    return lambda u, v: (u / a) ** 2 + (v / b) ** 2 <= 1.0


def sample_shape(rng: np.random.Generator, cls: str, extent: float, scale: float) -> Shape:
    """Draw the geometry of one object of class ``cls`` and size about ``extent`` px.

    Args:
        rng: Random generator.
        cls: Class name.
        extent: Object size (about the square root of its box area) in px.
        scale: Image size relative to 256 px (for the rods' width).

    Returns:
        Shape: The object's geometry.
    """
    if cls == "disc":
        a = extent / 2
        b = a * rng.uniform(0.8, 1.0)
        return Shape(cls, ellipse(a, b), a, (a + b) / 2)
    if cls == "ring":
        a = max(extent, 18 * scale) / 2 * rng.uniform(1.0, 1.15)
        b = a * rng.uniform(0.85, 1.0)
        hole = rng.uniform(0.45, 0.65)
        outer, inner = ellipse(a, b), ellipse(a * hole, b * hole)
        return Shape(cls, lambda u, v: outer(u, v) & ~inner(u, v), a, (a + b) / 2)
    if cls == "block":
        aspect = rng.uniform(1.0, 2.2)
        half_w, half_h = extent * math.sqrt(aspect) / 2, extent / math.sqrt(aspect) / 2
        return Shape(
            cls,
            lambda u, v: (np.abs(u) <= half_w) & (np.abs(v) <= half_h),
            math.hypot(half_w, half_h),
            (half_w + half_h) / 2,
        )
    if cls == "triangle":
        radius = extent * 0.62
        squash = rng.uniform(0.8, 1.2)
        angles = np.deg2rad([90.0, 210.0, 330.0])
        corners = np.stack([radius * np.cos(angles), radius * squash * np.sin(angles)], axis=1)

        def inside(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            result = np.ones(np.shape(u), dtype=bool)
            for start, end in zip(corners, np.roll(corners, -1, axis=0)):
                edge = end - start
                result &= edge[0] * (v - start[1]) - edge[1] * (u - start[0]) >= 0
            return result

        return Shape(cls, inside, radius * max(1.0, squash), radius * 0.6)
    if cls == "rod":
        width = max(2.5 * scale, rng.uniform(3.0, 7.0) * scale, extent / 12)
        length = min(max(rng.uniform(1.4, 2.4) * extent, 5 * width), 150 * scale)
        half = length / 2 - width / 2

        def capsule(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            along = np.clip(u, -half, half)
            return (u - along) ** 2 + v**2 <= (width / 2) ** 2

        return Shape(cls, capsule, length / 2, width)
    raise ValueError(f"unknown demo class {cls!r}; expected one of {CLASSES}.")


def rasterize(
    shape: Shape, centre: Tuple[float, float], angle: float
) -> Tuple[int, int, np.ndarray]:
    """Rasterize a shape with 4 x 4 supersampling over its box (which may leave the image).

    Args:
        shape: Geometry.
        centre: Centre (x, y) in image px.
        angle: Rotation in radians.

    Returns:
        tuple: Top-left corner (x0, y0) of the box in image px and the coverage of each pixel
        of the box, shape (h, w), float32 in [0, 1].
    """
    cx, cy = centre
    x0, y0 = math.floor(cx - shape.radius - 1), math.floor(cy - shape.radius - 1)
    x1, y1 = math.ceil(cx + shape.radius + 1), math.ceil(cy + shape.radius + 1)
    sub = (np.arange(4, dtype=np.float32) + 0.5) / 4
    xs = (np.arange(x0, x1, dtype=np.float32)[:, None] + sub).reshape(-1) - cx
    ys = (np.arange(y0, y1, dtype=np.float32)[:, None] + sub).reshape(-1) - cy
    cos, sin = math.cos(angle), math.sin(angle)
    u = xs[None, :] * cos + ys[:, None] * sin
    v = -xs[None, :] * sin + ys[:, None] * cos
    inside = shape.inside(u, v).astype(np.float32)
    coverage = inside.reshape(y1 - y0, 4, x1 - x0, 4).mean(axis=(1, 3))
    return x0, y0, coverage


def paste(coverage: np.ndarray, x0: int, y0: int, size: int) -> np.ndarray:
    """Place a box's coverage into a full image of side ``size``, cropping what lies outside.

    Returns:
        np.ndarray: Coverage over the image, shape (size, size), float32.
    """
    full = np.zeros((size, size), dtype=np.float32)
    h, w = coverage.shape
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + w, size), min(y0 + h, size)
    if ix0 < ix1 and iy0 < iy1:
        full[iy0:iy1, ix0:ix1] = coverage[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
    return full
