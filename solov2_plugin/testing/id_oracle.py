"""An oracle model for post-processing tests: the image's pixels spell the instance ids.

``encode_ids`` writes an id map into an RGB image (red = low byte, green =
high byte); ``oracle_predict`` reads the ids back from any crop, frame or seam
it is given and returns one mask per id present, so stitching code can be
checked against exact ground truth. ``python -m solov2_plugin.testing.id_oracle``
runs the 6000 x 4000, 2,000-object tiled prediction and prints its peak RSS and time.
"""

import json
import resource
import sys
import time

import numpy as np
from mmengine.structures import InstanceData


def encode_ids(id_map: np.ndarray) -> np.ndarray:
    """``(H, W)`` int ids (< 65536) -> ``(H, W, 3)`` uint8 image (ids in red + 256 * green)."""
    image = np.zeros(id_map.shape + (3,), np.uint8)
    image[..., 0] = id_map & 255
    image[..., 1] = id_map >> 8
    return image


def decode_ids(image: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode_ids`: ``(H, W)`` int32 ids."""
    return image[..., 0].astype(np.int32) + 256 * image[..., 1].astype(np.int32)


def oracle_predict(image: np.ndarray) -> InstanceData:
    """One mask per id in ``image``; class = id % 3, score = 0.5 + (id % 5) / 10."""
    ids_map = decode_ids(image)
    ids = np.unique(ids_map)
    ids = ids[ids > 0]
    return InstanceData(
        masks=ids_map[None] == ids[:, None, None],
        labels=ids % 3,
        scores=(0.5 + (ids % 5) / 10).astype(np.float32),
    )


def shapes_scene(rng: np.random.Generator, height: int, width: int, count: int, sides=(0.3, 0.9)):
    """``count`` discs and rectangles, one per cell of a grid, never touching each other.

    Each shape fills ``sides`` (a fraction range) of its cell's side, at a random
    place inside the cell (cells keep a 1-pixel gap). Ids are 1..count.

    Returns:
        np.ndarray: ``(height, width)`` int32 id map.
    """
    rows = max(1, round(np.sqrt(count * height / width)))
    cols = -(-count // rows)
    cell_h, cell_w = height // rows, width // cols
    id_map = np.zeros((height, width), np.int32)
    for k in range(count):
        top, left = (k // cols) * cell_h, (k % cols) * cell_w
        h = max(2, int(rng.uniform(*sides) * (cell_h - 1)))
        w = max(2, int(rng.uniform(*sides) * (cell_w - 1)))
        y0 = top + int(rng.integers(0, cell_h - h))
        x0 = left + int(rng.integers(0, cell_w - w))
        patch = id_map[y0 : y0 + h, x0 : x0 + w]
        if k % 2:
            patch[:] = k + 1
        else:
            yy, xx = np.mgrid[:h, :w]
            inside = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2 <= 1
            patch[inside] = k + 1
    return id_map


def run_large_tiled(height: int = 4000, width: int = 6000, count: int = 2000) -> dict:
    """Tiled prediction of a ``height`` x ``width`` oracle photo; peak RSS (MiB) and seconds."""
    from ..apis.tiles import predict_tiled

    image = encode_ids(shapes_scene(np.random.default_rng(0), height, width, count))
    start = time.perf_counter()
    label_image, records = predict_tiled(image, oracle_predict, tile=1024, overlap=128)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {
        "objects": len(records),
        "max_label": int(label_image.max()),
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_mib),
    }


if __name__ == "__main__":
    json.dump(run_large_tiled(), sys.stdout)
