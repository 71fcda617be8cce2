"""Telling a semantic (class) map handed in as an instance map.

A semantic label map stores a class index per pixel, so one "ID" covers every
object of its class: many separate regions, and IDs that equal the class
indices. Taken as instances, each class becomes one huge instance. The counts
here are cheap: each ID's regions are labelled within its own box.

Dimension key: H, W: label-map height and width; N: number of instances.
"""

from typing import Optional, Sequence

import numpy as np
from scipy import ndimage

# Regions smaller than this (stray pixels, slivers between overlapping objects)
# are not counted.
MIN_REGION_PIXELS = 4
# An ID split into this many regions is almost surely a class, not an instance.
MANY_REGIONS = 4
_EIGHT_CONNECTED = np.ones((3, 3), bool)


def count_regions(
    index_map: np.ndarray, boxes: np.ndarray, min_pixels: int = MIN_REGION_PIXELS
) -> np.ndarray:
    """Count the separate (8-connected) regions of each instance.

    Args:
        index_map (np.ndarray): ``(H, W)`` int index map (-1 = background).
        boxes (np.ndarray): ``(N, 4)`` boxes ``x0, y0, x1, y1`` of the
            instances (maximum exclusive), see
            :func:`~.instance_maps.instance_boxes`.
        min_pixels (int): Smallest region counted.

    Returns:
        np.ndarray: ``(N,)`` int64 region counts.
    """
    counts = np.zeros(len(boxes), np.int64)
    for index, (x0, y0, x1, y1) in enumerate(boxes.astype(np.int64).tolist()):
        mask = index_map[y0:y1, x0:x1] == index
        regions, num = ndimage.label(mask, structure=_EIGHT_CONNECTED)
        if num > 1:
            sizes = np.bincount(regions.ravel(), minlength=num + 1)[1:]
            counts[index] = int((sizes >= min_pixels).sum())
        else:
            counts[index] = num
    return counts


def semantic_map_evidence(
    ids: Sequence[int],
    region_counts: Sequence[int],
    class_indices: Optional[Sequence[int]] = None,
) -> Optional[str]:
    """Say why a label map looks like a semantic map, or None if it does not.

    It does when an ID covers :data:`MANY_REGIONS` or more regions, or when
    every ID equals its class's index and some ID covers two or more regions.

    Args:
        ids (Sequence[int]): The map's N label IDs.
        region_counts (Sequence[int]): Regions of each ID (:func:`count_regions`).
        class_indices (Sequence[int], optional): Seed class index of each ID's
            class (the ``cls_ind`` value, 1..K for a plain class list); None
            skips the second test.

    Returns:
        str | None: A sentence of evidence, e.g. ``'ID 2 covers 7 separate
        regions'``.
    """
    ids, region_counts = list(ids), [int(n) for n in region_counts]
    if not ids:
        return None
    worst = max(range(len(ids)), key=lambda k: region_counts[k])
    split = f"ID {ids[worst]} covers {region_counts[worst]} separate regions"
    if region_counts[worst] >= MANY_REGIONS:
        return split
    equal = class_indices is not None and [int(i) for i in class_indices] == ids
    if equal and region_counts[worst] >= 2:
        return f"every ID equals its class's index and {split}"
    return None


def semantic_map_advice() -> str:
    """How to turn a semantic map into an instance map, for warnings."""
    return (
        "An instance map needs one ID per object. If this is a semantic (class) map, give "
        "every connected region of each class its own ID (e.g. scipy.ndimage.label on "
        "label_map == class_index) and write one annotation entry per ID; if these objects "
        "really are single instances in several pieces, ignore this warning."
    )
