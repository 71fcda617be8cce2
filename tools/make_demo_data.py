"""Make the embedded demo data: synthetic instance-segmentation scenes in the seed's format.

Each split is one folder holding ``images/``, ``labels/`` and ``annotations/`` (see
``solov2_plugin.datasets.seed_io``); ``classes.json`` beside the splits is the seed-style
``cls_ind`` (``background`` at 0). The scenes are made for a small SOLOv2 to learn in minutes:
five classes told apart by shape, each with a typical but varied colour and texture, on
textured, noisy backgrounds; touching and overlapping objects of varied size and aspect (thin
rods, tiny objects), crowded, sparse and empty images. Occlusion is moderate: every instance
keeps at least ``MIN_VISIBLE_FRACTION`` of its area as one connected piece.

Label maps come in three kinds, cycling over the images (``LABEL_FORMATS``): 8-bit PNG,
16-bit PNG holding IDs above 255, and 8-bit BMP; IDs are non-consecutive except in some 8-bit
maps. Images are JPEG (Pillow's default quality, which keeps the data small), every eighth one
PNG. Every sample is drawn from its own generator seeded by ``(seed, split, index)``, so a
sample does not depend on how many others are made.

Usage::

    python tools/make_demo_data.py                      # writes data/demo/{train,val}
    python tools/make_demo_data.py --out /tmp/demo --num-train 8 --num-val 4 --size 128
"""

import argparse
import json
import math
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from solov2_plugin.datasets.seed_io import write_seed_sample

CLASSES = ("disc", "block", "triangle", "ring", "rod")
CLASS_HUES = {"disc": 0.0, "block": 215.0, "triangle": 125.0, "ring": 52.0, "rod": 290.0}
SPLITS = ("train", "val")
# BMP is uncompressed (64 KB a map at 256 px), hence one map in six.
LABEL_FORMATS = ("png8", "png16", "bmp8", "png8", "png16", "png8")
DENSITIES = ("medium", "crowded", "sparse", "medium", "crowded")
EMPTY_EVERY = 40
PNG_IMAGE_EVERY = 8
BASE_SIZE = 256
MIN_VISIBLE_PIXELS = 30
MIN_VISIBLE_FRACTION = 0.6
MIN_INSIDE_FRACTION = 0.7
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "demo"

# Per density: range of instance counts, object size range in px at 256 px, chance that an
# object is placed against an existing one.
DENSITY_SETTINGS = {
    "empty": ((0, 0), (14.0, 48.0), 0.0),
    "sparse": ((1, 4), (36.0, 110.0), 0.15),
    "medium": ((6, 12), (24.0, 90.0), 0.4),
    "crowded": ((14, 26), (18.0, 64.0), 0.75),
}
TINY_CHANCE = 0.08
PLACEMENT_ATTEMPTS = 30

Inside = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class DemoSample:
    """One synthetic sample.

    Attributes:
        image: RGB image, shape (S, S, 3), uint8.
        label_map: Instance IDs, shape (S, S), uint8 or uint16, 0 = background.
        classes_by_id: Class name of every ID in ``label_map``.
        image_ext: Image file extension (``.jpg``, or ``.png`` for every ``PNG_IMAGE_EVERY``-th).
        label_ext: Label-map file extension (``.png`` or ``.bmp``).
        label_bits: Bits per ID in the file (8 or 16).
        density: ``empty``, ``sparse``, ``medium`` or ``crowded``.
    """

    image: np.ndarray
    label_map: np.ndarray
    classes_by_id: Dict[int, str]
    image_ext: str
    label_ext: str
    label_bits: int
    density: str


@dataclass
class _Shape:
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


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A number between ``low`` and ``high`` whose logarithm is uniform."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _hsv_to_rgb(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Convert HSV (hue in degrees, saturation and value in [0, 1]) to RGB in [0, 255].

    Args:
        hue, sat, val: Arrays of one shape (...).

    Returns:
        np.ndarray: RGB, shape (..., 3), float32.
    """
    hue = np.mod(hue, 360.0) / 60.0
    chroma = val * sat
    second = chroma * (1.0 - np.abs(np.mod(hue, 2.0) - 1.0))
    zero = np.zeros_like(chroma)
    sector = np.floor(hue).astype(int) % 6
    choices = [
        (chroma, second, zero),
        (second, chroma, zero),
        (zero, chroma, second),
        (zero, second, chroma),
        (second, zero, chroma),
        (chroma, zero, second),
    ]
    rgb = np.zeros(np.shape(hue) + (3,), dtype=np.float32)
    for index, channels in enumerate(choices):
        where = sector == index
        for channel in range(3):
            rgb[..., channel] = np.where(where, channels[channel], rgb[..., channel])
    return (rgb + (val - chroma)[..., None]) * 255.0


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Low-frequency noise: a coarse grid of N(0, 1) values, bilinearly upsampled.

    Args:
        rng: Random generator.
        height, width: Output size.
        cell: Grid spacing in px (feature size of the noise).

    Returns:
        np.ndarray: Noise of shape (height, width), float32, about unit spread.
    """
    grid_h = int(math.ceil(height / cell)) + 2
    grid_w = int(math.ceil(width / cell)) + 2
    grid = rng.standard_normal((grid_h, grid_w)).astype(np.float32)
    ys = (np.arange(height, dtype=np.float32) + 0.5) / cell + 0.5
    xs = (np.arange(width, dtype=np.float32) + 0.5) / cell + 0.5
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted, textured, noisy background.

    Args:
        rng: Random generator.
        size: Image side in px.

    Returns:
        np.ndarray: RGB, shape (size, size, 3), float32 in about [0, 255].
    """
    scale = size / BASE_SIZE
    base = _hsv_to_rgb(
        np.float32(rng.uniform(0, 360)),
        np.float32(rng.uniform(0.0, 0.25)),
        np.float32(rng.uniform(0.3, 0.75)),
    )
    image = np.broadcast_to(base, (size, size, 3)).astype(np.float32)
    blotches = _smooth_noise(rng, size, size, rng.uniform(24, 72) * scale)
    image = image + rng.uniform(8, 22) * blotches[..., None]
    tint = _smooth_noise(rng, size, size, rng.uniform(40, 96) * scale)
    image = image + rng.uniform(0, 8) * tint[..., None] * rng.uniform(-1, 1, size=3)
    pattern = rng.choice(["grain", "stripes", "tiles", "fibres"])
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    if pattern == "stripes":
        angle = rng.uniform(0, math.pi)
        period = rng.uniform(6, 20) * scale
        wave = np.sin((xs * math.cos(angle) + ys * math.sin(angle)) * 2 * math.pi / period)
        image = image + rng.uniform(4, 10) * wave[..., None]
    elif pattern == "tiles":
        tile = max(2, int(rng.uniform(12, 40) * scale))
        checker = ((ys // tile + xs // tile) % 2) * 2 - 1
        image = image + rng.uniform(4, 10) * checker[..., None]
    elif pattern == "fibres":
        fibres = _smooth_noise(rng, size, max(1, size // 8), 1.5)
        fibres = cv2.resize(fibres, (size, size), interpolation=cv2.INTER_LINEAR)
        if rng.uniform() < 0.5:
            fibres = fibres.T
        image = image + rng.uniform(5, 12) * fibres[..., None]
    image = image + rng.uniform(2, 6) * rng.standard_normal((size, size, 1)).astype(np.float32)
    return image


def _ellipse(a: float, b: float) -> Inside:
    """Inside test of an axis-aligned ellipse with semi-axes ``a`` (along u) and ``b``."""
    return lambda u, v: (u / a) ** 2 + (v / b) ** 2 <= 1.0


def _sample_shape(rng: np.random.Generator, cls: str, extent: float, scale: float) -> _Shape:
    """Draw the geometry of one object of class ``cls`` and size about ``extent`` px.

    Args:
        rng: Random generator.
        cls: Class name.
        extent: Object size (about the square root of its box area) in px.
        scale: Image size relative to 256 px (for the rods' width).

    Returns:
        _Shape: The object's geometry.
    """
    if cls == "disc":
        a = extent / 2
        b = a * rng.uniform(0.8, 1.0)
        return _Shape(cls, _ellipse(a, b), a, (a + b) / 2)
    if cls == "ring":
        a = max(extent, 18 * scale) / 2 * rng.uniform(1.0, 1.15)
        b = a * rng.uniform(0.85, 1.0)
        hole = rng.uniform(0.45, 0.65)
        outer, inner = _ellipse(a, b), _ellipse(a * hole, b * hole)
        return _Shape(cls, lambda u, v: outer(u, v) & ~inner(u, v), a, (a + b) / 2)
    if cls == "block":
        aspect = rng.uniform(1.0, 2.2)
        half_w, half_h = extent * math.sqrt(aspect) / 2, extent / math.sqrt(aspect) / 2
        return _Shape(
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

        return _Shape(cls, inside, radius * max(1.0, squash), radius * 0.6)
    if cls == "rod":
        width = max(2.5 * scale, rng.uniform(3.0, 7.0) * scale, extent / 12)
        length = min(max(rng.uniform(1.4, 2.4) * extent, 5 * width), 150 * scale)
        half = length / 2 - width / 2

        def capsule(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            along = np.clip(u, -half, half)
            return (u - along) ** 2 + v**2 <= (width / 2) ** 2

        return _Shape(cls, capsule, length / 2, width)
    raise ValueError(f"unknown demo class {cls!r}; expected one of {CLASSES}.")


def _rasterize(
    shape: _Shape, centre: Tuple[float, float], angle: float
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


def _paste(coverage: np.ndarray, x0: int, y0: int, size: int) -> np.ndarray:
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


def _texture(
    rng: np.random.Generator, cls: str, size: int, centre: Tuple[float, float], extent: float
) -> np.ndarray:
    """The object's colour over the whole image: a class-typical hue with a random texture.

    Args:
        rng: Random generator.
        cls: Class name.
        size: Image side in px.
        centre: Object centre (x, y).
        extent: Object size in px.

    Returns:
        np.ndarray: RGB, shape (size, size, 3), float32.
    """
    colour = _hsv_to_rgb(
        np.float32(CLASS_HUES[cls] + rng.uniform(-12, 12)),
        np.float32(rng.uniform(0.55, 0.95)),
        np.float32(rng.uniform(0.6, 1.0)),
    )
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    kind = rng.choice(["flat", "stripes", "speckle", "gradient", "shaded"])
    shade = np.ones((size, size), dtype=np.float32)
    if kind == "stripes":
        angle = rng.uniform(0, math.pi)
        period = max(3.0, extent * rng.uniform(0.15, 0.4))
        wave = np.sin((dx * math.cos(angle) + dy * math.sin(angle)) * 2 * math.pi / period)
        shade = 1.0 + rng.uniform(0.1, 0.22) * wave
    elif kind == "speckle":
        shade = 1.0 + rng.uniform(0.08, 0.18) * rng.standard_normal((size, size))
    elif kind == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (dx * math.cos(angle) + dy * math.sin(angle)) / max(extent, 1.0)
        shade = 1.0 + rng.uniform(0.2, 0.4) * np.clip(ramp, -1, 1)
    elif kind == "shaded":
        light = rng.uniform(0, 2 * math.pi)
        lx, ly = math.cos(light) * extent * 0.3, math.sin(light) * extent * 0.3
        falloff = np.hypot(dx - lx, dy - ly) / max(extent, 1.0)
        shade = 1.25 - 0.5 * np.clip(falloff, 0, 1)
    pixel_noise = rng.uniform(2, 6) * rng.standard_normal((size, size, 1))
    return colour * shade[..., None] + pixel_noise.astype(np.float32)


def _one_piece(mask: np.ndarray) -> bool:
    """Whether ``mask`` (bool, (H, W)) is a single 8-connected piece."""
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return count == 2


def _scene(
    rng: np.random.Generator, size: int, density: str
) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Compose one scene by placing objects one on top of the other.

    An object is accepted when at least ``MIN_INSIDE_FRACTION`` of it lies inside the image
    and every object below it keeps ``MIN_VISIBLE_FRACTION`` of its area visible, in one piece
    and no smaller than the minimum visible size.

    Args:
        rng: Random generator.
        size: Image side in px.
        density: ``empty``, ``sparse``, ``medium`` or ``crowded``.

    Returns:
        tuple: RGB image (size, size, 3) uint8; owner map (size, size) int32 with the index of
        the visible object at each pixel or -1; class name of each object.
    """
    scale = size / BASE_SIZE
    min_pixels = max(6, round(MIN_VISIBLE_PIXELS * scale**2))
    canvas = _background(rng, size)
    owner = np.full((size, size), -1, dtype=np.int32)
    classes: List[str] = []
    areas: List[float] = []
    centres: List[Tuple[float, float]] = []
    mean_radii: List[float] = []
    shadow = rng.uniform() < 0.5
    shadow_shift = rng.integers(1, 4, size=2) * rng.choice([-1, 1], size=2)
    (low, high), size_range, touch_chance = DENSITY_SETTINGS[density]
    target = int(rng.integers(low, high + 1))
    favourite = rng.choice(CLASSES) if rng.uniform() < 0.25 else None

    for _ in range(target):
        for _ in range(PLACEMENT_ATTEMPTS):
            cls = favourite if favourite and rng.uniform() < 0.6 else rng.choice(CLASSES)
            if rng.uniform() < TINY_CHANCE:
                extent = rng.uniform(8.0, 14.0) * scale
            else:
                extent = _log_uniform(rng, *size_range) * scale
            shape = _sample_shape(rng, str(cls), extent, scale)
            if centres and rng.uniform() < touch_chance:
                other = int(rng.integers(len(centres)))
                direction = rng.uniform(0, 2 * math.pi)
                distance = (mean_radii[other] + shape.mean_radius) * rng.uniform(0.8, 1.05)
                centre = (
                    centres[other][0] + distance * math.cos(direction),
                    centres[other][1] + distance * math.sin(direction),
                )
            else:
                centre = (float(rng.uniform(0, size)), float(rng.uniform(0, size)))
            angle = float(rng.uniform(0, 2 * math.pi))
            x0, y0, coverage = _rasterize(shape, centre, angle)
            full_area = float((coverage >= 0.5).sum())
            image_coverage = _paste(coverage, x0, y0, size)
            mask = image_coverage >= 0.5
            inside_area = float(mask.sum())
            if inside_area < max(min_pixels, MIN_INSIDE_FRACTION * full_area):
                continue
            if not _one_piece(mask):
                continue
            covered = np.unique(owner[mask])
            still_fine = True
            for below in covered[covered >= 0]:
                visible = (owner == below) & ~mask
                needed = max(min_pixels, MIN_VISIBLE_FRACTION * areas[below])
                if visible.sum() < needed or not _one_piece(visible):
                    still_fine = False
                    break
            if not still_fine:
                continue
            if shadow:
                shifted = _paste(coverage, x0 + shadow_shift[0], y0 + shadow_shift[1], size)
                canvas *= 1.0 - 0.35 * shifted[..., None]
            colour = _texture(rng, shape.cls, size, centre, extent)
            canvas = canvas * (1.0 - image_coverage[..., None]) + colour * image_coverage[..., None]
            owner[mask] = len(classes)
            classes.append(shape.cls)
            areas.append(inside_area)
            centres.append(centre)
            mean_radii.append(shape.mean_radius)
            break

    canvas = canvas + rng.uniform(1.0, 3.0) * rng.standard_normal(canvas.shape).astype(np.float32)
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return image, owner, classes


def _label_ids(rng: np.random.Generator, label_format: str, count: int) -> np.ndarray:
    """Instance IDs for one label map: non-consecutive, above 255 in 16-bit maps.

    Args:
        rng: Random generator.
        label_format: One of ``LABEL_FORMATS``.
        count: Number of instances.

    Returns:
        np.ndarray: ``count`` distinct IDs, int64.
    """
    if label_format == "png16":
        return rng.choice(np.arange(256, 65536), size=count, replace=False)
    if label_format == "png8" and rng.uniform() < 0.5:
        return np.arange(1, count + 1)
    return rng.choice(np.arange(1, 256), size=count, replace=False)


def make_sample(seed: int, split: str, index: int, size: int = BASE_SIZE) -> DemoSample:
    """Make sample ``index`` of ``split``, the same for the same arguments.

    Sample 0 of every ``EMPTY_EVERY`` has no instances; the label map kind cycles over
    ``LABEL_FORMATS`` and the density over ``DENSITIES`` with the index.

    Args:
        seed: Seed of the whole data set.
        split: ``train`` or ``val``.
        index: Sample index within the split.
        size: Image side in px (objects scale with it).

    Returns:
        DemoSample: The image, its label map and the class of each ID.
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}, got {split!r}.")
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    density = "empty" if index % EMPTY_EVERY == 0 else DENSITIES[index % len(DENSITIES)]
    image, owner, classes = _scene(rng, size, density)
    label_format = LABEL_FORMATS[index % len(LABEL_FORMATS)]
    ids = _label_ids(rng, label_format, len(classes))
    dtype = np.uint16 if label_format == "png16" else np.uint8
    lookup = np.concatenate([[0], ids]).astype(dtype)
    label_map = lookup[owner + 1]
    classes_by_id = {int(i): cls for i, cls in zip(ids, classes)}
    label_ext = ".bmp" if label_format == "bmp8" else ".png"
    label_bits = 16 if label_format == "png16" else 8
    image_ext = ".png" if index % PNG_IMAGE_EVERY == PNG_IMAGE_EVERY - 3 else ".jpg"
    return DemoSample(image, label_map, classes_by_id, image_ext, label_ext, label_bits, density)


def _check_size(value: str) -> int:
    """Parse ``--size``, refusing images too small to hold the objects."""
    size = int(value)
    if size < 32:
        raise argparse.ArgumentTypeError(f"--size must be at least 32 px, got {size}.")
    return size


def _prepare_split_dir(split_dir: Path, overwrite: bool) -> None:
    """Make sure ``split_dir`` can be written: new, empty, or emptied when ``overwrite``."""
    parts = [split_dir / name for name in ("images", "labels", "annotations")]
    if any(part.exists() and any(part.iterdir()) for part in parts):
        if not overwrite:
            raise FileExistsError(
                f"{split_dir} already holds a data set; pass --overwrite to replace it "
                "or choose another --out."
            )
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)


def make_demo_data(
    out: Path,
    seed: int = 0,
    num_train: int = 80,
    num_val: int = 20,
    size: int = BASE_SIZE,
    overwrite: bool = False,
) -> Dict[str, Counter]:
    """Write the demo data set under ``out``: ``train/``, ``val/`` and ``classes.json``.

    Args:
        out: Output folder.
        seed: Seed of the whole data set.
        num_train: Number of training images.
        num_val: Number of validation images.
        size: Image side in px.
        overwrite: Replace existing ``images/``, ``labels/`` and ``annotations/`` folders.

    Returns:
        dict: Per split, counts of ``images``, ``instances``, each class, each image format
        (``images/jpg``, ``images/png``), each label-map kind (``labels/png8``,
        ``labels/png16``, ``labels/bmp8``) and each density (``density/crowded``, ...).
    """
    out = Path(out)
    counts_by_split = {}
    for split, number in zip(SPLITS, (num_train, num_val)):
        split_dir = out / split
        _prepare_split_dir(split_dir, overwrite)
        counts: Counter = Counter()
        for index in range(number):
            sample = make_sample(seed, split, index, size)
            write_seed_sample(
                split_dir,
                f"{split}_{index:04d}",
                sample.image,
                sample.label_map,
                sample.classes_by_id,
                image_ext=sample.image_ext,
                label_ext=sample.label_ext,
                label_bits=sample.label_bits,
            )
            counts["images"] += 1
            counts["instances"] += len(sample.classes_by_id)
            counts.update(sample.classes_by_id.values())
            counts[f"images/{sample.image_ext[1:]}"] += 1
            counts[f"labels/{sample.label_ext[1:]}{sample.label_bits}"] += 1
            counts[f"density/{sample.density}"] += 1
        counts_by_split[split] = counts
    cls_ind = {"background": 0, **{name: index + 1 for index, name in enumerate(CLASSES)}}
    (out / "classes.json").write_text(json.dumps(cls_ind, indent=2) + "\n")
    return counts_by_split


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``sys.argv[1:]`` when ``argv`` is None)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole data set")
    parser.add_argument("--num-train", type=int, default=80, help="training images")
    parser.add_argument("--num-val", type=int, default=20, help="validation images")
    parser.add_argument("--size", type=_check_size, default=BASE_SIZE, help="image side in px")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a data set already in --out"
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Write the demo data and print per-split counts; return the exit status."""
    args = parse_args(argv)
    try:
        counts = make_demo_data(
            args.out,
            seed=args.seed,
            num_train=args.num_train,
            num_val=args.num_val,
            size=args.size,
            overwrite=args.overwrite,
        )
    except FileExistsError as error:
        print(error, file=sys.stderr)
        return 1
    for split, split_counts in counts.items():
        summary = ", ".join(f"{key} {value}" for key, value in sorted(split_counts.items()))
        print(f"{args.out / split}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
