"""Overlay pictures and fused label images for instance masks.

Shapes used below: ``N`` instances, ``H`` x ``W`` image. Every function takes numpy arrays or
torch tensors (moved to the host and converted at the boundary) and returns numpy arrays.
"""

from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from ..datasets.class_index import default_palette

ArrayLike = Union[np.ndarray, torch.Tensor]
Colour = Tuple[int, int, int]


def _to_numpy(value: ArrayLike) -> np.ndarray:
    """Return ``value`` as a numpy array, copying a tensor to the host.

    Args:
        value: A torch tensor on any device, a numpy array or anything ``np.asarray`` takes.

    Returns:
        np.ndarray: The same values as a numpy array.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _check_masks(masks: ArrayLike) -> np.ndarray:
    """Validate instance masks and return them as a bool array of shape (N, H, W)."""
    masks = _to_numpy(masks)
    if masks.ndim != 3:
        raise ValueError(
            f"`masks` must have shape (N, H, W), got shape {masks.shape}; "
            "stack one 2-D mask per instance (use shape (0, H, W) for no instances)."
        )
    return masks.astype(bool, copy=False)


def fused_label_map(masks: ArrayLike, scores: ArrayLike) -> np.ndarray:
    """Fuse possibly overlapping instance masks into one label image.

    Each pixel takes the ID of the highest-scoring mask covering it; mask ``i`` (in input order)
    has ID ``i + 1``, so IDs run 1..N and index back into the labels and scores of the
    predictions. A mask hidden everywhere by higher-scoring masks leaves no pixel. On equal
    scores the mask that comes first wins. Background is 0.

    Args:
        masks: Instance masks, shape (N, H, W), bool (any nonzero value counts as inside).
        scores: Instance scores, shape (N,).

    Returns:
        np.ndarray: Label image of shape (H, W), ``uint16`` when N <= 65535 (a 16-bit PNG holds
        it), ``uint32`` otherwise.
    """
    masks = _check_masks(masks)
    scores = _to_numpy(scores).astype(np.float64, copy=False)
    num_masks, height, width = masks.shape
    if scores.shape != (num_masks,):
        raise ValueError(
            f"`scores` must have shape ({num_masks},) to match `masks` of shape {masks.shape}, "
            f"got {scores.shape}."
        )
    dtype = np.uint16 if num_masks <= np.iinfo(np.uint16).max else np.uint32
    label_map = np.zeros((height, width), dtype=dtype)
    best = np.full((height, width), -np.inf)
    for index in range(num_masks):
        wins = masks[index] & (scores[index] > best)
        label_map[wins] = index + 1
        best[wins] = scores[index]
    return label_map


def _text_colour(background: Colour) -> Colour:
    """Black or white, whichever reads better on ``background`` (RGB)."""
    luminance = 0.299 * background[0] + 0.587 * background[1] + 0.114 * background[2]
    return (0, 0, 0) if luminance > 140 else (255, 255, 255)


def _draw_tag(
    canvas: np.ndarray,
    text: str,
    anchor: Tuple[int, int],
    colour: Colour,
    font_scale: float,
) -> None:
    """Draw ``text`` on a filled box just above ``anchor`` (x, y), or below it at the top edge.

    Args:
        canvas: RGB image, shape (H, W, 3), uint8, drawn on in place.
        text: Tag text.
        anchor: Top-left corner (x, y) of the instance's box.
        colour: Box colour (RGB).
        font_scale: OpenCV font scale.
    """
    height, width = canvas.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), baseline = cv2.getTextSize(text, font, font_scale, 1)
    box_w, box_h = text_w + 2, text_h + baseline + 2
    x0 = int(min(max(anchor[0], 0), max(width - box_w, 0)))
    y0 = anchor[1] - box_h if anchor[1] - box_h >= 0 else anchor[1]
    y0 = int(min(y0, max(height - box_h, 0)))
    cv2.rectangle(canvas, (x0, y0), (x0 + box_w - 1, y0 + box_h - 1), colour, thickness=-1)
    cv2.putText(
        canvas,
        text,
        (x0 + 1, y0 + 1 + text_h),
        font,
        font_scale,
        _text_colour(colour),
        thickness=1,
        lineType=cv2.LINE_AA,
    )


def draw_instances(
    image: ArrayLike,
    masks: ArrayLike,
    labels: ArrayLike,
    scores: Optional[ArrayLike],
    class_names: Sequence[str],
    palette: Optional[Sequence[Sequence[int]]] = None,
    alpha: float = 0.5,
) -> np.ndarray:
    """Draw instance masks on an image: translucent fills, outlines and a label tag each.

    Masks are filled in ascending score order (the best one ends on top), then outlined (holes
    too) in their class colour; each gets a tag ``"<class> <score>"`` (the class name alone when
    ``scores`` is None) at the top-left corner of its box. Empty masks draw nothing.

    Args:
        image: RGB image, shape (H, W, 3), uint8. Not modified.
        masks: Instance masks, shape (N, H, W), bool (any nonzero value counts as inside).
        labels: Class indices into ``class_names``, shape (N,), integer.
        scores: Instance scores, shape (N,), or None (ground truth).
        class_names: Class names, one per class index.
        palette: RGB colours (0..255), one per class, at least ``len(class_names)``; a fixed
            palette of distinct colours when None.
        alpha: Opacity of the mask fill, in [0, 1].

    Returns:
        np.ndarray: The overlay, shape (H, W, 3), uint8, RGB.
    """
    image = _to_numpy(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"`image` must be an RGB uint8 array of shape (H, W, 3), got dtype {image.dtype} "
            f"and shape {image.shape}; convert it with `.astype(np.uint8)` after scaling to 0..255."
        )
    masks = _check_masks(masks)
    num_masks = masks.shape[0]
    if masks.shape[1:] != image.shape[:2]:
        raise ValueError(
            f"`masks` of shape {masks.shape} do not match `image` of size {image.shape[:2]}; "
            "resize the masks to the image first."
        )
    labels = _to_numpy(labels)
    if labels.shape != (num_masks,) or (num_masks and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(
            f"`labels` must be integers of shape ({num_masks},), got dtype {labels.dtype} and "
            f"shape {labels.shape}."
        )
    if num_masks and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(
            f"`labels` must lie in 0..{len(class_names) - 1} to index `class_names` "
            f"({len(class_names)} names), got values {labels.min()}..{labels.max()}."
        )
    if scores is not None:
        scores = _to_numpy(scores).astype(np.float64, copy=False)
        if scores.shape != (num_masks,):
            raise ValueError(
                f"`scores` must have shape ({num_masks},) to match `masks`, got {scores.shape}."
            )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"`alpha` must lie in [0, 1], got {alpha}.")
    if palette is None:
        palette = default_palette(len(class_names))
    if len(palette) < len(class_names):
        raise ValueError(
            f"`palette` has {len(palette)} colours for {len(class_names)} classes; give one RGB "
            "colour per class or leave it as None."
        )
    colours = [tuple(int(c) for c in palette[int(label)]) for label in labels]

    order = np.argsort(scores, kind="stable") if scores is not None else np.arange(num_masks)
    blended = image.astype(np.float32)
    for index in order:
        mask = masks[index]
        blended[mask] = blended[mask] * (1.0 - alpha) + np.float32(colours[index]) * alpha
    canvas = np.ascontiguousarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8))

    line_width = max(1, round(max(image.shape[:2]) / 512))
    font_scale = 0.35 * line_width
    for index in order:
        mask = masks[index].astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, colours[index], thickness=line_width)
    for index in order:
        rows = np.flatnonzero(masks[index].any(axis=1))
        if rows.size == 0:
            continue
        cols = np.flatnonzero(masks[index].any(axis=0))
        text = class_names[int(labels[index])]
        if scores is not None:
            text = f"{text} {scores[index]:.2f}"
        _draw_tag(canvas, text, (int(cols[0]), int(rows[0])), colours[index], font_scale)
    return canvas
