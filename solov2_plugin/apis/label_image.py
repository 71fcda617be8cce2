"""Instance masks to one label image, and the label image's cleaning.

Shapes: N instances, H x W pixels. A *label image* is an ``(H, W)`` int32
array, 0 = background, object ``L`` = the pixels equal to ``L`` (L >= 1).
Functions that drop or renumber objects also return ``kept``: an int64 array
whose entry ``new - 1`` is the label, in the input image, of new label
``new``, so per-object tables (classes, scores) follow with
``scores[kept - 1]``.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

EDGES = ("top", "bottom", "left", "right")


def as_numpy(values: Any) -> np.ndarray:
    """A numpy view of ``values`` (a numpy array, a list or a torch tensor on any device)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)


def fuse_instances(
    masks: np.ndarray,
    scores: np.ndarray,
    probs: Optional[np.ndarray] = None,
    by: str = "prob",
) -> np.ndarray:
    """Fuse instance masks into one label image; instance ``i`` gets label ``i + 1``.

    A pixel covered by several masks goes to one instance:

    - ``by='prob'`` (the seed's default): the instance whose mask probability is
      highest at that pixel. Without ``probs`` this falls back to ``'score'``.
    - ``by='score'``: the instance with the highest score.

    Ties go to the lower index. Instances that lose all their pixels leave
    their label unused.

    Args:
        masks (np.ndarray): ``(N, H, W)`` bool masks (numpy or torch).
        scores (np.ndarray): ``(N,)`` float scores.
        probs (np.ndarray, optional): ``(N, H, W)`` float mask probabilities.
        by (str): ``'prob'`` or ``'score'``.

    Returns:
        np.ndarray: ``(H, W)`` int32 label image.

    Raises:
        ValueError: ``by`` is unknown, or the shapes disagree.
    """
    if by not in ("prob", "score"):
        raise ValueError(f"by={by!r} is unknown: use 'prob' (mask probability) or 'score'.")
    masks = as_numpy(masks).astype(bool, copy=False)
    scores = as_numpy(scores).reshape(-1)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {masks.shape}.")
    if len(scores) != len(masks):
        raise ValueError(f"{len(masks)} masks but {len(scores)} scores: give one score per mask.")
    label_image = np.zeros(masks.shape[1:], np.int32)
    if by == "prob" and probs is not None:
        probs = as_numpy(probs)
        if probs.shape != masks.shape:
            raise ValueError(
                f"probs has shape {probs.shape}, masks {masks.shape}: they must match."
            )
        best = np.full(masks.shape[1:], -np.inf, np.float32)
        for i in range(len(masks)):
            wins = masks[i] & (probs[i] > best)
            label_image[wins] = i + 1
            best[wins] = probs[i][wins]
        return label_image
    for i in np.argsort(-scores, kind="stable"):
        label_image[masks[i] & (label_image == 0)] = i + 1
    return label_image


def relabel(label_image: np.ndarray, keep: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Keep the labels ``keep`` (in that order, as 1, 2, ...) and clear every other label.

    Args:
        label_image (np.ndarray): ``(H, W)`` integer label image.
        keep (np.ndarray): ``(K,)`` distinct labels (>= 1) to keep.

    Returns:
        tuple: ``(H, W)`` int32 label image with labels 1..K, and ``kept``
        (``(K,)`` int64, equal to ``keep``).
    """
    keep = np.asarray(keep, np.int64).reshape(-1)
    lut = np.zeros(int(label_image.max(initial=0)) + 1, np.int32)
    lut[keep] = np.arange(1, len(keep) + 1, dtype=np.int32)
    return lut[label_image], keep


def clean_label_image(
    label_image: np.ndarray,
    min_box_side: int = 0,
    min_part_area: int = 0,
    split_parts: bool = False,
    connectivity: int = 2,
) -> Tuple[np.ndarray, np.ndarray]:
    """Drop small parts and small objects, then number the rest 1, 2, ... in label order.

    Steps, per object: connected parts under ``min_part_area`` pixels are
    erased; what remains stays one object (or, with ``split_parts``, each
    remaining part becomes its own object, in raster order of the part);
    an object (or part) whose box has a side under ``min_box_side`` pixels is
    dropped. Parts are measured after removal, so a far-away speck cannot
    save a small object.

    Args:
        label_image (np.ndarray): ``(H, W)`` integer label image, 0 = background;
            labels need not be consecutive.
        min_box_side (int): Smallest box side kept, in pixels (0 keeps all).
        min_part_area (int): Smallest connected part kept, in pixels.
        split_parts (bool): Give each connected part its own label.
        connectivity (int): 1 (4-neighbours) or 2 (8-neighbours, the seed's).

    Returns:
        tuple: the ``(H, W)`` int32 cleaned label image, and ``kept`` (int64,
        ``(K,)``): original label of each new label (repeated for split parts).

    Raises:
        ValueError: negative sizes, or ``connectivity`` not 1 or 2.
    """
    if min_box_side < 0 or min_part_area < 0:
        raise ValueError(
            f"min_box_side={min_box_side}, min_part_area={min_part_area}: sizes must be >= 0."
        )
    if connectivity not in (1, 2):
        raise ValueError(f"connectivity={connectivity}: use 1 (4-neighbours) or 2 (8-neighbours).")
    label_image = np.asarray(label_image)
    if label_image.ndim != 2:
        raise ValueError(f"label_image must be (H, W), got shape {label_image.shape}.")
    if not split_parts and min_part_area == 0:
        return _drop_small_boxes(label_image, min_box_side)
    structure = ndimage.generate_binary_structure(2, connectivity)
    out = np.zeros(label_image.shape, np.int32)
    kept = []
    for index, box in enumerate(ndimage.find_objects(label_image)):
        if box is None:
            continue
        label = index + 1
        mask = label_image[box] == label
        parts, count = ndimage.label(mask, structure)
        sizes = np.bincount(parts.ravel(), minlength=count + 1)
        good = [p for p in range(1, count + 1) if sizes[p] >= min_part_area]
        groups = [[p] for p in good] if split_parts else ([good] if good else [])
        for group in groups:
            region = np.isin(parts, group)
            rows = np.flatnonzero(np.any(region, axis=1))
            cols = np.flatnonzero(np.any(region, axis=0))
            if min(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) < min_box_side:
                continue
            kept.append(label)
            out[box][region] = len(kept)
    return out, np.asarray(kept, np.int64)


def _drop_small_boxes(label_image: np.ndarray, min_box_side: int) -> Tuple[np.ndarray, np.ndarray]:
    """Relabel consecutively, dropping objects whose box has a side under ``min_box_side``."""
    keep = []
    for index, box in enumerate(ndimage.find_objects(label_image)):
        if box is None:
            continue
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        if min(height, width) >= min_box_side:
            keep.append(index + 1)
    return relabel(label_image, np.asarray(keep, np.int64))


def edge_flags(
    label_image: np.ndarray, margin: int = 0, edges: Sequence[str] = EDGES
) -> np.ndarray:
    """Which objects touch the image edges.

    An object touches an edge when one of its pixels lies within ``margin``
    pixels of it (``margin=0``: on the edge row or column itself), which is
    the seed's "box within ``deltaL`` of the edge".

    Args:
        label_image (np.ndarray): ``(H, W)`` integer label image, 0 = background.
        margin (int): Distance to the edge, in pixels, still counted as touching.
        edges (Sequence[str]): Any of ``'top'``, ``'bottom'``, ``'left'``, ``'right'``.

    Returns:
        np.ndarray: ``(max_label,)`` bool; entry ``L - 1`` tells whether label
        ``L`` touches one of ``edges`` (False for labels absent from the image).

    Raises:
        ValueError: unknown edge name, or a negative margin.
    """
    unknown = set(edges) - set(EDGES)
    if unknown:
        raise ValueError(f"unknown edges {sorted(unknown)}: choose from {EDGES}.")
    if margin < 0:
        raise ValueError(f"margin={margin}: it must be >= 0 pixels.")
    label_image = np.asarray(label_image)
    band = margin + 1
    strips = {
        "top": label_image[:band],
        "bottom": label_image[-band:],
        "left": label_image[:, :band],
        "right": label_image[:, -band:],
    }
    flags = np.zeros(int(label_image.max(initial=0)), bool)
    for edge in edges:
        touching = np.unique(strips[edge])
        touching = touching[touching > 0]
        flags[touching - 1] = True
    return flags


def drop_edge_objects(
    label_image: np.ndarray, margin: int = 0, edges: Sequence[str] = EDGES
) -> Tuple[np.ndarray, np.ndarray]:
    """Erase the objects that touch ``edges`` (see :func:`edge_flags`) and relabel 1, 2, ...

    Args:
        label_image (np.ndarray): ``(H, W)`` integer label image, 0 = background.
        margin (int): Distance to the edge, in pixels, still counted as touching.
        edges (Sequence[str]): Any of ``'top'``, ``'bottom'``, ``'left'``, ``'right'``.

    Returns:
        tuple: ``(H, W)`` int32 label image, and ``kept`` (``(K,)`` int64
        original label of each new label).
    """
    flags = edge_flags(label_image, margin, edges)
    present = np.zeros(len(flags) + 1, bool)
    present[np.unique(label_image)] = True
    keep = np.flatnonzero(present[1:] & ~flags) + 1
    return relabel(label_image, keep)


def instances_to_label_image(instances: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fuse a prediction's masks (by score) into a label image with its per-label tables.

    Args:
        instances: ``InstanceData`` (or any object) with ``masks`` ``(N, H, W)``
            bool, ``labels`` ``(N,)`` int and ``scores`` ``(N,)`` float,
            numpy or torch.

    Returns:
        tuple: ``(H, W)`` int32 label image (instance ``i`` -> ``i + 1``),
        ``(N,)`` int64 class indices and ``(N,)`` float32 scores.
    """
    masks = as_numpy(instances.masks).astype(bool, copy=False)
    labels = as_numpy(instances.labels).astype(np.int64).reshape(-1)
    scores = as_numpy(instances.scores).astype(np.float32).reshape(-1)
    if not len(masks) == len(labels) == len(scores):
        raise ValueError(
            f"prediction has {len(masks)} masks, {len(labels)} labels and {len(scores)} "
            "scores: predict_fn must return one label and one score per mask."
        )
    return fuse_instances(masks, scores, by="score"), labels, scores
