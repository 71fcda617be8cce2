"""Helpers writing tiny seed-format samples for the dataset tests."""

from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from solov2_plugin.datasets.seed_io import write_seed_sample

CLASSES = ("disc", "block", "triangle")


def blocks_label_map(height: int, width: int, ids: Sequence[int]) -> np.ndarray:
    """A label map with one rectangle per ID, touching neighbours, in reading order.

    Args:
        height (int): Map height H.
        width (int): Map width W.
        ids (Sequence[int]): IDs to draw (each gets a distinct rectangle).

    Returns:
        np.ndarray: ``(H, W)`` int64 label map.
    """
    label_map = np.zeros((height, width), np.int64)
    cols = 4
    cell_h, cell_w = height // 3, width // cols
    for k, label_id in enumerate(ids):
        row, col = divmod(k, cols)
        y0, x0 = row * cell_h + 2, col * cell_w + (k % 3)
        label_map[y0 : y0 + cell_h - 3 - (k % 2), x0 : x0 + cell_w - 1] = label_id
    return label_map


def write_sample(
    root: Path,
    stem: str,
    ids: Sequence[int],
    size: tuple = (64, 96),
    classes: Optional[Dict[int, str]] = None,
    **kwargs,
) -> Dict[str, Path]:
    """Write one sample whose ID k-th gets class ``CLASSES[k % 3]`` unless given."""
    label_map = blocks_label_map(size[0], size[1], ids)
    rng = np.random.default_rng(len(ids))
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    names = classes or {i: CLASSES[k % len(CLASSES)] for k, i in enumerate(ids)}
    return write_seed_sample(root, stem, image, label_map, names, **kwargs)
