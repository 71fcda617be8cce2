"""Predict an image larger than the model's input in overlapping windows, stitched into one.

Memory: one ``(H, W)`` int32 label image for the whole image plus a few
numbers per object; a window's masks live only while that window is stitched.

Stitching, window by window in raster order (a *shared region* is the part of
the current window already covered by earlier windows):

- a window's object matches an earlier object when their masks, counted in
  the shared region, have an IoU >= 0.5 (:data:`MATCH_IOU`);
- no match: a new object;
- a match where both views are whole (neither touches a window border that
  lies inside the image), the earlier one lies inside the current window and
  the two agree as wholes (IoU >= 0.5): a duplicate from the overlap; the
  view lying farther from the window borders is kept;
- otherwise (an object cut by a window border): the pixels are added to the
  earlier object, and several earlier objects matched by one view are merged,
  so an object spanning many windows is reassembled;
- a pixel already given to another object keeps it.

Class and score of a merged object are those of its highest-scoring view.
Cleaning (``min_box_side``, ``min_part_area``) runs on the stitched image, so
a window border never makes a cut part look small.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from .label_image import clean_label_image, instances_to_label_image
from .measure import measure_instances

#: IoU (in the shared region of two windows) above which two views are one object.
MATCH_IOU = 0.5


def window_starts(length: int, tile: int, overlap: int) -> List[int]:
    """Start offsets of windows of size ``tile`` covering ``length`` pixels with ``overlap``.

    The last window ends on the image's end (it may overlap its neighbour by
    more than ``overlap``); an image shorter than ``tile`` is one window.

    Args:
        length (int): Image side in pixels.
        tile (int): Window side in pixels.
        overlap (int): Least overlap of neighbouring windows, in pixels.

    Returns:
        list[int]: increasing start offsets.
    """
    last = max(length - tile, 0)
    return list(range(0, last, tile - overlap)) + [last]


class _Objects:
    """Per-object table of the stitched image: box, class, score, margin, merge aliases."""

    def __init__(self) -> None:
        self.boxes: List[List[int]] = []  # y0, x0, y1, x1 (upper bound of the pixels)
        self.labels: List[int] = []
        self.scores: List[float] = []
        self.margins: List[int] = []  # px from the nearest inner window border; 0 = cut
        self.alias: List[int] = []

    def add(self, box: List[int], label: int, score: float, margin: int) -> int:
        self.boxes.append(list(box))
        self.labels.append(label)
        self.scores.append(score)
        self.margins.append(margin)
        self.alias.append(len(self.alias) + 1)
        return len(self.alias)

    def find(self, g: int) -> int:
        while self.alias[g - 1] != g:
            g = self.alias[g - 1]
        return g

    def absorb(self, g: int, box: List[int], label: int, score: float) -> None:
        """Grow object ``g``'s box by ``box``; take ``label``/``score`` if the score is higher."""
        own = self.boxes[g - 1]
        self.boxes[g - 1] = [min(own[0], box[0]), min(own[1], box[1])] + [
            max(own[2], box[2]),
            max(own[3], box[3]),
        ]
        if score > self.scores[g - 1]:
            self.labels[g - 1], self.scores[g - 1] = label, score
        self.margins[g - 1] = 0


class _Stitcher:
    """Accumulates windows' label images into one label image of the whole picture."""

    def __init__(self, height: int, width: int) -> None:
        self.image = np.zeros((height, width), np.int32)
        self.done: List[Tuple[int, int, int, int]] = []  # windows stitched so far
        self.objects = _Objects()

    def _box_view(self, g: int) -> Tuple[slice, slice]:
        y0, x0, y1, x1 = self.objects.boxes[g - 1]
        return slice(y0, y1), slice(x0, x1)

    def _replace(self, g: int, new: int) -> None:
        """Write label ``new`` over object ``g``'s pixels (0 erases them)."""
        region = self.image[self._box_view(g)]
        region[region == g] = new

    def add_window(self, y0: int, x0: int, labels_img: np.ndarray, labels, scores) -> None:
        """Stitch one window's ``(h, w)`` label image, placed at ``(y0, x0)``."""
        height, width = labels_img.shape
        y1, x1 = y0 + height, x0 + width
        full_h, full_w = self.image.shape
        inner = (y0 > 0, y1 < full_h, x0 > 0, x1 < full_w)  # top, bottom, left, right
        shared = np.zeros((height, width), bool)
        for wy0, wx0, wy1, wx1 in self.done:
            shared[max(wy0 - y0, 0) : max(wy1 - y0, 0), max(wx0 - x0, 0) : max(wx1 - x0, 0)] = True
        view = self.image[y0:y1, x0:x1]
        before = view.copy()
        counts = np.bincount(before.ravel(), minlength=len(self.objects.alias) + 1)
        for index, box in enumerate(ndimage.find_objects(labels_img)):
            if box is None:
                continue
            mask = labels_img[box] == index + 1
            oy0, oy1, ox0, ox1 = box[0].start, box[0].stop, box[1].start, box[1].stop
            gaps = (oy0, height - oy1, ox0, width - ox1)
            margin = min([gap for gap, is_inner in zip(gaps, inner) if is_inner], default=1 << 30)
            page_box = [oy0 + y0, ox0 + x0, oy1 + y0, ox1 + x0]
            inter = np.bincount(before[box][mask], minlength=len(counts))
            own_shared = int(shared[box][mask].sum())
            matches = {
                self.objects.find(g)
                for g in np.flatnonzero(inter[1:]) + 1
                if inter[g] >= MATCH_IOU * (own_shared + counts[g] - inter[g])
            }
            label, score = int(labels[index]), float(scores[index])
            if not matches:
                g = self.objects.add(page_box, label, score, margin)
            else:
                g = min(matches)
                window = (y0, x0, y1, x1)
                if len(matches) == 1 and self._is_duplicate(g, mask, page_box, margin, window):
                    if margin <= self.objects.margins[g - 1]:
                        continue
                    self._replace(g, 0)
                    self.objects.boxes[g - 1] = page_box
                    self.objects.labels[g - 1], self.objects.scores[g - 1] = label, score
                    self.objects.margins[g - 1] = margin
                else:
                    for other in sorted(matches - {g}):
                        self._replace(other, g)
                        o = self.objects
                        o.absorb(g, o.boxes[other - 1], o.labels[other - 1], o.scores[other - 1])
                        o.alias[other - 1] = g
                    self.objects.absorb(g, page_box, label, score)
            target = view[box]
            target[mask & (target == 0)] = g
        self.done.append((y0, x0, y1, x1))

    def _is_duplicate(
        self, g: int, mask: np.ndarray, page_box: List[int], margin: int, window: Tuple[int, ...]
    ) -> bool:
        """Whether a whole view (``margin > 0``) repeats the whole earlier object ``g``."""
        gy0, gx0, gy1, gx1 = self.objects.boxes[g - 1]
        if margin == 0 or self.objects.margins[g - 1] == 0:
            return False
        wy0, wx0, wy1, wx1 = window
        if gy0 < wy0 or gx0 < wx0 or gy1 > wy1 or gx1 > wx1:
            return False
        ty0, tx0 = min(gy0, page_box[0]), min(gx0, page_box[1])
        ty1, tx1 = max(gy1, page_box[2]), max(gx1, page_box[3])
        mine = np.zeros((ty1 - ty0, tx1 - tx0), bool)
        mine[page_box[0] - ty0 : page_box[2] - ty0, page_box[1] - tx0 : page_box[3] - tx0] = mask
        theirs = self.image[ty0:ty1, tx0:tx1] == g
        inter = np.count_nonzero(mine & theirs)
        union = np.count_nonzero(mine | theirs)
        return inter >= MATCH_IOU * union


def predict_tiled(
    image: np.ndarray,
    predict_fn: Callable[[np.ndarray], Any],
    tile: int = 1024,
    overlap: int = 128,
    min_box_side: int = 0,
    min_part_area: int = 0,
    class_names: Optional[Sequence[str]] = None,
    pixel_size: Optional[float] = None,
) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    """Segment a large image window by window and measure its objects once each.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 image.
        predict_fn (Callable): ``predict_fn(window)`` with ``window`` a
            ``(h, w, 3)`` uint8 crop (h, w <= ``tile``, never resized) returns
            an ``InstanceData`` with ``masks`` ``(N, h, w)`` bool, ``labels``
            ``(N,)`` and ``scores`` ``(N,)`` (numpy or torch).
        tile (int): Window side in pixels.
        overlap (int): Least overlap of neighbouring windows in pixels; objects
            smaller than it are always seen whole in some window.
        min_box_side (int): Objects whose box has a side under this are dropped.
        min_part_area (int): Connected parts under this many pixels are erased.
        class_names (Sequence[str], optional): Names of the class indices.
        pixel_size (float, optional): mm per pixel, for the ``*_mm`` columns.

    Returns:
        tuple: the ``(H, W)`` int32 label image (labels 1..K) and K records of
        :func:`~solov2_plugin.apis.measure.measure_instances` (``id`` = label).

    Raises:
        ValueError: ``image`` is not ``(H, W, 3)``, or not ``0 <= overlap < tile``.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {image.shape}.")
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap={overlap}, tile={tile}: need 0 <= overlap < tile.")
    height, width = image.shape[:2]
    stitcher = _Stitcher(height, width)
    for y0 in window_starts(height, tile, overlap):
        for x0 in window_starts(width, tile, overlap):
            window = np.ascontiguousarray(image[y0 : y0 + tile, x0 : x0 + tile])
            labels_img, labels, scores = instances_to_label_image(predict_fn(window))
            stitcher.add_window(y0, x0, labels_img, labels, scores)
    label_image, kept = clean_label_image(stitcher.image, min_box_side, min_part_area)
    del stitcher.image
    labels = np.asarray(stitcher.objects.labels, np.int64)[kept - 1]
    scores = np.asarray(stitcher.objects.scores, np.float32)[kept - 1]
    records = measure_instances(label_image, labels, scores, class_names, pixel_size)
    return label_image, records
