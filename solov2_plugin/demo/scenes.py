"""Demo scenes: objects placed one on top of the other, and one sample of a split.

Every sample is drawn from its own generator seeded by ``(seed, split, index)``, so a sample
does not depend on how many others are made. S: image side in px.
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Tuple

import cv2
import numpy as np

from .shapes import BASE_SIZE, CLASSES, log_uniform, paste, rasterize, sample_shape
from .textures import background, object_texture

SPLITS = ("train", "val")
# BMP is uncompressed (64 KB a map at 256 px), hence one map in six.
LABEL_FORMATS = ("png8", "png16", "bmp8", "png8", "png16", "png8")
DENSITIES = ("medium", "crowded", "sparse", "medium", "crowded")
EMPTY_EVERY = 40
PNG_IMAGE_EVERY = 8
MIN_VISIBLE_PIXELS = 30
MIN_VISIBLE_FRACTION = 0.6
MIN_INSIDE_FRACTION = 0.7

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


def one_piece(mask: np.ndarray) -> bool:
    """Whether ``mask`` (bool, (H, W)) is a single 8-connected piece."""
    count, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return count == 2


def compose_scene(
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
    canvas = background(rng, size)
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
                extent = log_uniform(rng, *size_range) * scale
            shape = sample_shape(rng, str(cls), extent, scale)
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
            x0, y0, coverage = rasterize(shape, centre, angle)
            full_area = float((coverage >= 0.5).sum())
            image_coverage = paste(coverage, x0, y0, size)
            mask = image_coverage >= 0.5
            inside_area = float(mask.sum())
            if inside_area < max(min_pixels, MIN_INSIDE_FRACTION * full_area):
                continue
            if not one_piece(mask):
                continue
            covered = np.unique(owner[mask])
            still_fine = True
            for below in covered[covered >= 0]:
                visible = (owner == below) & ~mask
                needed = max(min_pixels, MIN_VISIBLE_FRACTION * areas[below])
                if visible.sum() < needed or not one_piece(visible):
                    still_fine = False
                    break
            if not still_fine:
                continue
            if shadow:
                shifted = paste(coverage, x0 + shadow_shift[0], y0 + shadow_shift[1], size)
                canvas *= 1.0 - 0.35 * shifted[..., None]
            colour = object_texture(rng, shape.cls, size, centre, extent)
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


def label_ids(rng: np.random.Generator, label_format: str, count: int) -> np.ndarray:
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
    image, owner, classes = compose_scene(rng, size, density)
    label_format = LABEL_FORMATS[index % len(LABEL_FORMATS)]
    ids = label_ids(rng, label_format, len(classes))
    dtype = np.uint16 if label_format == "png16" else np.uint8
    lookup = np.concatenate([[0], ids]).astype(dtype)
    label_map = lookup[owner + 1]
    classes_by_id = {int(i): cls for i, cls in zip(ids, classes)}
    label_ext = ".bmp" if label_format == "bmp8" else ".png"
    label_bits = 16 if label_format == "png16" else 8
    image_ext = ".png" if index % PNG_IMAGE_EVERY == PNG_IMAGE_EVERY - 3 else ".jpg"
    return DemoSample(image, label_map, classes_by_id, image_ext, label_ext, label_bits, density)
