"""Colours of the demo scenes: textured, noisy backgrounds and class-typical object textures.

S: image side in px. Colours are RGB floats in about [0, 255] until the scene is rounded.
"""

import math
from typing import Tuple

import cv2
import numpy as np

from .shapes import BASE_SIZE

CLASS_HUES = {"disc": 0.0, "block": 215.0, "triangle": 125.0, "ring": 52.0, "rod": 290.0}


def hsv_to_rgb(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
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


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """Low-frequency noise: a coarse grid of N(0, 1) values, bilinearly upsampled.

    Args:
        rng: Random generator.
        height, width: Output size.
        cell: Grid spacing in px (feature size of the noise).

    Returns:
        np.ndarray: Noise of shape (height, width), float64, about unit spread.
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


def background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A muted, textured, noisy background.

    Args:
        rng: Random generator.
        size: Image side in px.

    Returns:
        np.ndarray: RGB, shape (size, size, 3), float64 in about [0, 255].
    """
    scale = size / BASE_SIZE
    base = hsv_to_rgb(
        np.float32(rng.uniform(0, 360)),
        np.float32(rng.uniform(0.0, 0.25)),
        np.float32(rng.uniform(0.3, 0.75)),
    )
    image = np.broadcast_to(base, (size, size, 3)).astype(np.float32)
    blotches = smooth_noise(rng, size, size, rng.uniform(24, 72) * scale)
    image = image + rng.uniform(8, 22) * blotches[..., None]
    tint = smooth_noise(rng, size, size, rng.uniform(40, 96) * scale)
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
        fibres = smooth_noise(rng, size, max(1, size // 8), 1.5)
        fibres = cv2.resize(fibres, (size, size), interpolation=cv2.INTER_LINEAR)
        if rng.uniform() < 0.5:
            fibres = fibres.T
        image = image + rng.uniform(5, 12) * fibres[..., None]
    image = image + rng.uniform(2, 6) * rng.standard_normal((size, size, 1)).astype(np.float32)
    return image


def object_texture(
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
        np.ndarray: RGB, shape (size, size, 3), float32 or float64 (by texture kind).
    """
    colour = hsv_to_rgb(
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
