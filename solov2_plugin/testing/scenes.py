"""Random crowded scenes: instance masks and instance label maps.

Every generator takes a ``numpy.random.Generator`` so a seed fixes the scene.
"""

from typing import Tuple

import numpy as np


def random_instance_masks(
    rng: np.random.Generator,
    num: int,
    size: Tuple[int, int],
    side_range: Tuple[float, float] = (6.0, 150.0),
    rect_fraction: float = 0.5,
    allow_empty: bool = False,
) -> np.ndarray:
    """Overlapping ellipses and axis-aligned rectangles of log-uniform size.

    Args:
        rng (np.random.Generator): Random source.
        num (int): Number of masks N.
        size (tuple[int, int]): Mask size (H, W).
        side_range (tuple[float, float]): Range of ``sqrt(w * h)`` of a shape
            in pixels, sampled log-uniformly; aspect ratios lie in 0.4..2.5.
        rect_fraction (float): Probability that a shape is a rectangle.
        allow_empty (bool): Keep shapes that fall outside the image (empty
            masks, and tiny ones under a pixel); False redraws them.

    Returns:
        np.ndarray: ``(N, H, W)`` bool masks.
    """
    height, width = size
    yy, xx = np.mgrid[:height, :width]
    low, high = np.log(side_range[0]), np.log(side_range[1])
    masks = np.zeros((num, height, width), dtype=bool)
    k = 0
    while k < num:
        side = np.exp(rng.uniform(low, high))
        aspect = rng.uniform(0.4, 2.5)
        half_h, half_w = side / np.sqrt(aspect) / 2, side * np.sqrt(aspect) / 2
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        if rng.random() < rect_fraction:
            mask = (np.abs(yy - cy) <= half_h) & (np.abs(xx - cx) <= half_w)
        else:
            mask = ((yy - cy) / half_h) ** 2 + ((xx - cx) / half_w) ** 2 <= 1
        if mask.any() or allow_empty:
            masks[k] = mask
            k += 1
    return masks


def random_label_map(
    rng: np.random.Generator, height: int, width: int, instances: int, highest_id: int
) -> np.ndarray:
    """A label map with exactly ``instances`` overlapping ellipses of distinct random IDs.

    Ellipses sit in a jittered grid of cells and overlap their neighbours; a
    3x3 core at each centre is painted last so that every ID keeps pixels.

    Args:
        rng (np.random.Generator): Random source.
        height (int): Map height H.
        width (int): Map width W.
        instances (int): Number of instances N (IDs are distinct, >= 1).
        highest_id (int): Largest ID to draw from.

    Returns:
        np.ndarray: ``(H, W)`` int64 label map, 0 = background.
    """
    rows = max(1, round(np.sqrt(instances * height / width)))
    cols = -(-instances // rows)
    cell_h, cell_w = height / rows, width / cols
    ids = rng.choice(np.arange(1, highest_id + 1), size=instances, replace=False)
    label_map = np.zeros((height, width), np.int64)
    yy, xx = np.mgrid[0:height, 0:width]
    centres = []
    for k in rng.permutation(instances):
        cy = (k // cols + rng.uniform(0.3, 0.7)) * cell_h
        cx = (k % cols + rng.uniform(0.3, 0.7)) * cell_w
        ry = rng.uniform(0.15, 0.8) * cell_h
        rx = rng.uniform(0.15, 0.8) * cell_w
        y0, y1 = int(max(0, cy - ry)), int(min(height, cy + ry + 1))
        x0, x1 = int(max(0, cx - rx)), int(min(width, cx + rx + 1))
        inside = ((yy[y0:y1, x0:x1] - cy) / ry) ** 2 + ((xx[y0:y1, x0:x1] - cx) / rx) ** 2 <= 1
        label_map[y0:y1, x0:x1][inside] = ids[k]
        centres.append((int(cy), int(cx), ids[k]))
    for cy, cx, label_id in centres:
        label_map[max(0, cy - 1) : cy + 2, max(0, cx - 1) : cx + 2] = label_id
    return label_map
