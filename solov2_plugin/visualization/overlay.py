"""Overlay pictures and fused label images for instance masks.

Shapes used below: ``N`` instances, ``H`` x ``W`` image. Every function takes numpy arrays or
torch tensors (moved to the host and converted at the boundary) and returns numpy arrays.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

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


class LabelBox(NamedTuple):
    """Where an instance's label goes: its text box and font scale.

    Attributes:
        x0: Left edge of the box (px, inclusive).
        y0: Top edge of the box (px, inclusive).
        x1: Right edge of the box (px, exclusive).
        y1: Bottom edge of the box (px, exclusive).
        font_scale: OpenCV font scale of the text.
    """

    x0: int
    y0: int
    x1: int
    y1: int
    font_scale: float

    def overlaps(self, other: "LabelBox") -> bool:
        """Whether the two boxes share a pixel."""
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )


_FONT = cv2.FONT_HERSHEY_SIMPLEX
# Font scales tried for a label, relative to the full size, before it is left out.
_LABEL_SHRINK = (1.0, 0.75, 0.55)


def _label_size(text: str, font_scale: float) -> Tuple[int, int]:
    """Width and height (px) of the filled box behind ``text``."""
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, 1)
    return text_w + 2, text_h + baseline + 2


def label_anchors(mask: np.ndarray, max_anchors: int = 32) -> np.ndarray:
    """Points inside a mask to centre its label on, the farthest from the mask's edge first.

    The first point is a pixel of the mask farthest from its background (its "pole"); the
    others are spread over the rest of the mask in decreasing distance, so a label that
    collides at the pole can move elsewhere inside its own mask.

    Args:
        mask: One instance mask, shape (H, W), bool.
        max_anchors: At most this many points.

    Returns:
        np.ndarray: Points (x, y), shape (K, 2), int64, K <= ``max_anchors`` (0 for an
        empty mask).
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    cols = np.flatnonzero(mask.any(axis=0))
    top, left = rows[0], cols[0]
    # Pad by one pixel so the crop's border counts as background.
    crop = np.pad(mask[top : rows[-1] + 1, left : cols[-1] + 1], 1).astype(np.uint8)
    distance = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
    ys, xs = np.nonzero(crop)
    order = np.argsort(-distance[ys, xs], kind="stable")
    picks = np.unique(np.linspace(0, order.size - 1, min(max_anchors, order.size)).round())
    chosen = order[picks.astype(np.int64)]
    return np.stack([xs[chosen] - 1 + left, ys[chosen] - 1 + top], axis=1).astype(np.int64)


def place_labels(
    masks: ArrayLike,
    texts: Sequence[str],
    font_scale: float,
    priority: Optional[ArrayLike] = None,
) -> List[Optional[LabelBox]]:
    """Place one text label per instance inside its own mask, with no two labels overlapping.

    Labels are placed one at a time, highest ``priority`` first (ties: input order). Each is
    centred on a point of its mask far from the mask's edge (:func:`label_anchors`), moved
    inside the image if it sticks out, and must not overlap a label already placed; when no
    point of its mask gives room, the label is tried smaller (3/4, then about 1/2 of
    ``font_scale``) and left out when it still collides.

    Args:
        masks: Instance masks, shape (N, H, W), bool.
        texts: The label of each instance, N strings.
        font_scale: OpenCV font scale of a label at full size.
        priority: Shape (N,); higher is placed first. None places the smallest masks first
            (they have the fewest places to go).

    Returns:
        list[LabelBox | None]: Per instance, in input order, its label box, or None for an
        empty mask or a label left out.
    """
    masks = _check_masks(masks)
    num_masks, height, width = masks.shape
    if len(texts) != num_masks:
        raise ValueError(f"`texts` has {len(texts)} entries for {num_masks} masks; give one each.")
    if priority is None:
        order = np.argsort(masks.sum(axis=(1, 2)), kind="stable")
    else:
        priority = _to_numpy(priority).astype(np.float64, copy=False)
        if priority.shape != (num_masks,):
            raise ValueError(
                f"`priority` must have shape ({num_masks},) to match `masks`, got {priority.shape}."
            )
        order = np.argsort(-priority, kind="stable")
    placed: List[Optional[LabelBox]] = [None] * num_masks
    taken: List[LabelBox] = []
    for index in order:
        anchors = label_anchors(masks[index])
        for shrink in _LABEL_SHRINK if anchors.size else ():
            scale = font_scale * shrink
            box_w, box_h = _label_size(texts[index], scale)
            for x, y in anchors:
                x0 = int(min(max(x - box_w // 2, 0), max(width - box_w, 0)))
                y0 = int(min(max(y - box_h // 2, 0), max(height - box_h, 0)))
                box = LabelBox(x0, y0, x0 + box_w, y0 + box_h, scale)
                if not any(box.overlaps(other) for other in taken):
                    placed[index] = box
                    taken.append(box)
                    break
            if placed[index] is not None:
                break
    return placed


def _draw_tag(canvas: np.ndarray, text: str, box: LabelBox, colour: Colour) -> None:
    """Draw ``text`` on a filled box of ``colour``, in place.

    Args:
        canvas: RGB image, shape (H, W, 3), uint8, drawn on in place.
        text: Tag text.
        box: Where the tag goes and its font scale (:func:`place_labels`).
        colour: Box colour (RGB).
    """
    (_, text_h), _ = cv2.getTextSize(text, _FONT, box.font_scale, 1)
    cv2.rectangle(canvas, (box.x0, box.y0), (box.x1 - 1, box.y1 - 1), colour, thickness=-1)
    cv2.putText(
        canvas,
        text,
        (box.x0 + 1, box.y0 + 1 + text_h),
        _FONT,
        box.font_scale,
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
    ``scores`` is None) inside its own mask, far from the mask's edge, where it overlaps no other
    tag: tags that would collide move, shrink or are left out (:func:`place_labels`; the best
    scoring, or without scores the smallest, instances are served first). Empty masks draw
    nothing.

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
    texts = [class_names[int(label)] for label in labels]
    if scores is not None:
        texts = [f"{text} {score:.2f}" for text, score in zip(texts, scores)]
    boxes = place_labels(masks, texts, font_scale, scores)
    for index in order:
        if boxes[index] is not None:
            _draw_tag(canvas, texts[index], boxes[index], colours[index])
    return canvas
