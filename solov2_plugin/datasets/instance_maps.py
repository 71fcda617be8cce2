"""Pure NumPy helpers that turn an instance-ID label map into per-instance data.

A label map is an ``(H, W)`` integer array where 0 is background and every other
value is the ID of one instance (IDs need not be consecutive). Every helper here
works from an *index map*: the same ``(H, W)`` array with background set to -1
and the i-th smallest ID replaced by ``i``. All of them cost O(H * W) plus
O(N * (H + W)) for N instances; none builds a one-hot stack of the largest ID's
depth.

Dimension key: H, W: label-map height and width; N: number of instances.
"""

from typing import List, Tuple

import numpy as np

# Label maps whose largest ID is below this are indexed through a lookup table
# (one ``bincount``); larger IDs go through ``np.unique``, which sorts.
_LUT_MAX_ID = 1 << 20


def index_label_map(label_map: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Find the instance IDs of a label map and number them consecutively.

    Args:
        label_map (np.ndarray): ``(H, W)`` non-negative integer array, 0 is
            background.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``ids`` ``(N,)`` int64, the IDs present
        in ascending order, and ``index_map`` ``(H, W)`` int32, -1 on
        background and ``i`` where the map holds ``ids[i]``.

    Raises:
        ValueError: If ``label_map`` is not a 2-D integer array or holds
            negative values.
    """
    if label_map.ndim != 2 or not np.issubdtype(label_map.dtype, np.integer):
        raise ValueError(
            f"A label map must be a 2-D integer array, got shape {label_map.shape} "
            f"and dtype {label_map.dtype}."
        )
    if label_map.size == 0:
        return np.zeros(0, np.int64), np.full(label_map.shape, -1, np.int32)
    lowest = label_map.min()
    if lowest < 0:
        raise ValueError(f"A label map must hold IDs >= 0 (0 is background), found {lowest}.")
    highest = int(label_map.max())
    if highest < _LUT_MAX_ID:
        flat = label_map.ravel()
        counts = np.bincount(flat, minlength=highest + 1)
        counts[0] = 0
        ids = np.flatnonzero(counts).astype(np.int64)
        lut = np.full(highest + 1, -1, np.int32)
        lut[ids] = np.arange(len(ids), dtype=np.int32)
        return ids, lut[label_map]
    values, inverse = np.unique(label_map.ravel(), return_inverse=True)
    inverse = inverse.reshape(label_map.shape).astype(np.int32)
    if values[0] == 0:
        return values[1:].astype(np.int64), inverse - 1
    return values.astype(np.int64), inverse


def instance_areas(index_map: np.ndarray, num: int) -> np.ndarray:
    """Count the pixels of each instance.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background).
        num (int): Number of instances N.

    Returns:
        np.ndarray: ``(N,)`` int64 pixel counts.
    """
    return np.bincount(index_map.ravel() + 1, minlength=num + 1)[1:].astype(np.int64)


def _row_runs(index_map: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of equal index within each row, background runs left out.

    Returns:
        tuple[np.ndarray, ...]: ``owner`` (index), ``row``, ``x0`` and ``x1``
        (exclusive) of every foreground run, each ``(R,)`` int64.
    """
    height, width = index_map.shape
    flat = index_map.ravel()
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.union1d(np.concatenate(([0], change)), np.arange(0, height * width, width))
    ends = np.append(starts[1:], height * width)
    owner = flat[starts].astype(np.int64)
    keep = owner >= 0
    starts, ends, owner = starts[keep], ends[keep], owner[keep]
    row = starts // width
    x0 = starts - row * width
    return owner, row, x0, x0 + (ends - starts)


def instance_boxes(index_map: np.ndarray, num: int) -> np.ndarray:
    """Tight boxes of the instances, in pixel-edge coordinates.

    The maximum corner is exclusive (a one-pixel instance at column 3 spans
    ``x0 = 3, x1 = 4``), as in mmdet and skimage's ``regionprops``. Computed
    from the horizontal runs of the map, so the cost beyond one pass over the
    pixels scales with the objects' outlines, not their areas.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background).
        num (int): Number of instances N; every index in ``[0, N)`` must occur.

    Returns:
        np.ndarray: ``(N, 4)`` float32 boxes ``x0, y0, x1, y1``.
    """
    boxes = np.zeros((num, 4), np.float32)
    if num == 0:
        return boxes
    height, width = index_map.shape
    owner, row, x0, x1 = _row_runs(index_map)
    low = np.full((num, 2), max(height, width), np.int64)
    high = np.zeros((num, 2), np.int64)
    np.minimum.at(low, (owner, 0), x0)
    np.minimum.at(low, (owner, 1), row)
    np.maximum.at(high, (owner, 0), x1)
    np.maximum.at(high, (owner, 1), row + 1)
    boxes[:, :2] = low
    boxes[:, 2:] = high
    return boxes


def instance_masks(index_map: np.ndarray, num: int) -> np.ndarray:
    """Binary masks of the instances, one per index.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background).
        num (int): Number of instances N.

    Returns:
        np.ndarray: ``(N, H, W)`` uint8 masks with values 0 and 1.
    """
    height, width = index_map.shape
    plane = height * width
    masks = np.zeros(num * plane, np.uint8)
    flat = index_map.ravel()
    pixels = np.flatnonzero(flat >= 0)
    masks[flat[pixels].astype(np.int64) * plane + pixels] = 1
    return masks.reshape(num, height, width)


def instance_run_lengths(index_map: np.ndarray, num: int) -> List[List[int]]:
    """Uncompressed COCO run-length counts of every instance, in one pass.

    COCO's RLE reads the mask column by column (Fortran order) and alternates
    runs of 0 and 1, starting with a (possibly empty) run of 0.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background).
        num (int): Number of instances N; every index in ``[0, N)`` must occur.

    Returns:
        list[list[int]]: N lists of run lengths, each summing to ``H * W``
        (a final run of 0 is left out when empty, as pycocotools does).
    """
    flat = np.ascontiguousarray(index_map.T).ravel()
    total = flat.size
    if num == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [total]))
    owners = flat[starts]
    keep = owners >= 0
    starts, ends, owners = starts[keep], ends[keep], owners[keep]
    order = np.argsort(owners, kind="stable")
    starts, ends, owners = starts[order], ends[order], owners[order]
    first = np.ones(len(owners), bool)
    first[1:] = owners[1:] != owners[:-1]
    previous_end = np.empty_like(ends)
    previous_end[0] = 0
    previous_end[1:] = ends[:-1]
    previous_end[first] = 0
    counts = np.empty(2 * len(starts), np.int64)
    counts[0::2] = starts - previous_end
    counts[1::2] = ends - starts
    split_at = 2 * np.flatnonzero(first)[1:]
    last_ends = ends[np.concatenate((split_at // 2 - 1, [len(ends) - 1]))]
    runs = []
    for part, last_end in zip(np.split(counts, split_at), last_ends):
        tail = int(total - last_end)
        runs.append(part.tolist() + [tail] if tail else part.tolist())
    return runs
