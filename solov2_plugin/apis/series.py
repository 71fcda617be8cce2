"""Objects on a moving belt, photographed as a series of frames: each reported once, whole.

Frame ``k + 1`` continues below frame ``k`` (sharing ``overlap`` rows). Belt
coordinates: x = column, y = row of the belt, frame ``k``'s row 0 lying at
``y = offset[k]`` with ``offset[k + 1] = offset[k] + height[k] - overlap``.

Every frame is predicted once. Between frames k and k + 1 lies *seam k*:
R1 = frame k's last row, R2 = frame k + 1's first row (R2 <= R1 when the
frames overlap, R2 = R1 + 1 when they do not). An object with rows
[top, bottom] is reported by

- frame k when it lies in frame k, touches neither of its cut edges (top for
  k > 0, bottom for k < last) and, for k > 0, reaches row R1 of seam k - 1
  (otherwise frame k - 1 saw it whole already);
- seam k when top <= R2 and bottom >= R1 (it crosses the seam): the
  *seam image* (belt rows [a, b): the bottom band of frame k stacked on the
  top band of frame k + 1, never resized) is predicted, the band reaching
  :data:`SEAM_PAD` pixels past every object the frames saw cut. An object
  touching a band edge that is not a frame edge is re-predicted once with that
  band grown to the whole frame.

An object taller than a frame touches both edges of a middle frame: seam k - 1
then runs down to frame k's bottom, seam k up to frame k's top; the parts
touching those edges are held and joined across seams (by their IoU in the
rows both seams see), so the object is reported once, whole, by the last seam
it reaches. A part left without its other half is reported with
``complete=False``.

Objects touching the belt's sides, the top of frame 0 or the bottom of the
last frame are reported with ``complete=False`` (and ``touches_edge=True``).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .label_image import instances_to_label_image
from .pieces import Piece, clean_piece, iou_in_rows, measure_piece, pieces_of, union

#: Rows of context added to a seam band beyond the cut objects seen in the frames.
SEAM_PAD = 16
#: IoU (in the rows two seams share) above which two parts of a tall object are joined.
JOIN_IOU = 0.5


def _frame_pieces(
    k: int, frame: np.ndarray, result: tuple, offset: int, last: int, overlap: int
) -> Tuple[List[Piece], list, list]:
    """Pieces frame ``k`` reports, and the local boxes of its objects cut at its bottom/top."""
    height, width = frame.shape[:2]
    reported, cut_bottom, cut_top = [], [], []
    for piece, (r0, c0, r1, c1) in pieces_of(*result, (offset, 0), "frame"):
        at_top, at_bottom = r0 == 0, r1 == height
        if at_top and k > 0:
            cut_top.append((r0, r1))
        if at_bottom and k < last:
            cut_bottom.append((r0, r1))
        if (at_top and k > 0) or (at_bottom and k < last) or (k > 0 and r1 < overlap):
            continue
        piece.complete = not (c0 == 0 or c1 == width or at_top or at_bottom)
        reported.append(piece)
    return reported, cut_bottom, cut_top


def _seam_image(
    frames: Sequence[np.ndarray], offsets: List[int], k: int, overlap: int, a: int, b: int
) -> np.ndarray:
    """Belt rows [a, b) around seam k, from frame k and frame k + 1 (rows not repeated)."""
    upper = frames[k][a - offsets[k] :]
    lower = frames[k + 1][overlap : b - offsets[k + 1]]
    return np.concatenate([upper, lower], axis=0)


def predict_series(
    frames: Sequence[np.ndarray],
    predict_fn: Callable[[np.ndarray], Any],
    overlap: int = 0,
    min_box_side: int = 0,
    min_part_area: int = 0,
    class_names: Optional[Sequence[str]] = None,
    pixel_size: Optional[float] = None,
    seam_callback: Optional[Callable[[int, np.ndarray], None]] = None,
) -> List[Dict[str, Any]]:
    """Segment and measure the objects of a frame series, each once and whole.

    Args:
        frames (Sequence[np.ndarray]): ``(H_k, W, 3)`` uint8 frames in belt
            order (same width; heights may differ).
        predict_fn (Callable): ``predict_fn(image)`` on a ``(h, W, 3)`` uint8
            frame or seam image (never resized) returns an ``InstanceData`` with
            ``masks`` ``(N, h, W)`` bool, ``labels`` ``(N,)``, ``scores`` ``(N,)``.
        overlap (int): Rows shared by consecutive frames (0 = none).
        min_box_side (int): Objects whose box has a side under this are dropped.
        min_part_area (int): Connected parts under this many pixels are erased
            (from whole objects, after reassembly).
        class_names (Sequence[str], optional): Names of the class indices.
        pixel_size (float, optional): mm per pixel, for the ``*_mm`` columns.
        seam_callback (Callable, optional): ``seam_callback(k, seam_image)``
            with each seam image predicted (``(h, W, 3)`` uint8), e.g. to save it.

    Returns:
        list[dict]: one record per object, sorted by box top then left, with the
        columns of :func:`~solov2_plugin.apis.measure.measure_instances` in belt
        coordinates (``id`` = 1, 2, ... in that order; ``image`` None) plus
        ``frame`` (first frame holding the object's top row), ``source``
        (``'frame'`` or ``'seam'``) and ``complete``.

    Raises:
        ValueError: no frames, a frame that is not ``(H, W, 3)``, widths that
            differ, or an overlap not in ``[0, smallest height)``.
    """
    offsets = _check_frames(frames, overlap)
    last = len(frames) - 1
    width = frames[0].shape[1]
    belt_height = offsets[-1] + frames[-1].shape[0]
    pieces: List[Piece] = []
    held: List[Piece] = []

    def frame_pieces(k: int) -> Tuple[List[Piece], list, list]:
        result = instances_to_label_image(predict_fn(frames[k]))
        return _frame_pieces(k, frames[k], result, offsets[k], last, overlap)

    current = frame_pieces(0)
    for k in range(len(frames)):
        reported, cut_bottom, _ = current
        pieces += reported
        if k == last:
            break
        following = frame_pieces(k + 1)
        if cut_bottom or following[2] or held:
            found, held = _seam(
                frames,
                offsets,
                k,
                overlap,
                predict_fn,
                seam_callback,
                cut_bottom,
                following[2],
                held,
            )
            pieces += found
        current = following
    pieces += [_incomplete(p) for p in held]
    ends = np.asarray(offsets) + np.asarray([f.shape[0] for f in frames])
    records = []
    for piece in pieces:
        piece = clean_piece(piece, min_box_side, min_part_area)
        if piece is None:
            continue
        record = measure_piece(piece, class_names, pixel_size)
        x0, y0, x1, y1 = record["bbox"]
        record["touches_edge"] = x0 == 0 or x1 == width or y0 == 0 or y1 == belt_height
        record["complete"] = piece.complete and not record["touches_edge"]
        record["frame"] = int(np.searchsorted(ends, y0, side="right"))
        record["source"] = piece.source
        records.append(record)
    records.sort(key=lambda r: (r["bbox"][1], r["bbox"][0]))
    for number, record in enumerate(records, start=1):
        record["id"] = number
    return records


def _incomplete(piece: Piece) -> Piece:
    """Mark ``piece`` as cut and return it."""
    piece.complete = False
    return piece


def _seam(
    frames: Sequence[np.ndarray],
    offsets: List[int],
    k: int,
    overlap: int,
    predict_fn: Callable[[np.ndarray], Any],
    seam_callback: Optional[Callable[[int, np.ndarray], None]],
    cut_bottom: list,
    cut_top: list,
    held: List[Piece],
) -> Tuple[List[Piece], List[Piece]]:
    """Predict seam k; return the pieces it reports and those held for seam k + 1."""
    top_k, end_k1 = offsets[k], offsets[k + 1] + frames[k + 1].shape[0]
    r1, r2 = offsets[k] + frames[k].shape[0] - 1, offsets[k + 1]
    a = min([top_k + r0 for r0, _ in cut_bottom] + [r2]) - SEAM_PAD
    b = max([offsets[k + 1] + r1_ for _, r1_ in cut_top] + [r1 + 1]) + SEAM_PAD
    a, b = max(a, top_k), min(b, end_k1)
    if held:
        a = top_k
    for attempt in range(2):
        image = _seam_image(frames, offsets, k, overlap, a, b)
        result = instances_to_label_image(predict_fn(image))
        crossing = []
        grow_top = grow_bottom = False
        for piece, (s0, c0, s1, c1) in pieces_of(*result, (a, 0), "seam"):
            if not (a + s0 <= r2 and a + s1 - 1 >= r1):
                continue
            grow_top |= s0 == 0 and a > top_k
            grow_bottom |= s1 == image.shape[0] and b < end_k1
            piece.complete = not (c0 == 0 or c1 == image.shape[1])
            crossing.append((piece, s0 == 0, s1 == image.shape[0]))
        if attempt or not (grow_top or grow_bottom):
            break
        a = top_k if grow_top else a
        b = end_k1 if grow_bottom else b
    if seam_callback is not None:
        seam_callback(k, image)
    return _join(crossing, held, a == top_k and k > 0, b == end_k1 and k + 1 < len(frames) - 1, a)


def _join(
    crossing: list, held: List[Piece], top_is_cut: bool, bottom_is_cut: bool, a: int
) -> Tuple[List[Piece], List[Piece]]:
    """Join seam pieces touching the band top with held parts; split reported/held."""
    reported, still_held, unmatched = [], [], list(held)
    for piece, at_top, at_bottom in crossing:
        if at_top:
            if top_is_cut:
                scores = [iou_in_rows(part, piece, a, part.y1) for part in unmatched]
                best = int(np.argmax(scores)) if scores else -1
                if best >= 0 and scores[best] >= JOIN_IOU:
                    piece = union(unmatched.pop(best), piece)
                else:
                    piece.complete = False
            else:
                piece.complete = False  # the belt's top, or a band that could not grow
        if at_bottom and bottom_is_cut:
            still_held.append(piece)
            continue
        if at_bottom:
            piece.complete = False
        reported.append(piece)
    return reported + [_incomplete(p) for p in unmatched], still_held


def _check_frames(frames: Sequence[np.ndarray], overlap: int) -> List[int]:
    """Validate the frames; return each frame's belt offset."""
    if len(frames) == 0:
        raise ValueError("frames is empty: give at least one (H, W, 3) frame.")
    widths = set()
    for k, frame in enumerate(frames):
        if np.ndim(frame) != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame {k} has shape {np.shape(frame)}: frames must be (H, W, 3).")
        widths.add(frame.shape[1])
    if len(widths) > 1:
        raise ValueError(f"frames have widths {sorted(widths)}: a belt's frames share one width.")
    smallest = min(frame.shape[0] for frame in frames)
    if not 0 <= overlap < smallest:
        raise ValueError(
            f"overlap={overlap}: it must lie in [0, {smallest}) (the smallest frame height)."
        )
    offsets = [0]
    for frame in frames[:-1]:
        offsets.append(offsets[-1] + frame.shape[0] - overlap)
    return offsets
