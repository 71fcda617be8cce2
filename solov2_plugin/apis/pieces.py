"""Objects as cropped masks placed in a large image (a belt of frames), never full-size masks.

A :class:`Piece` holds one object's ``(h, w)`` bool mask and the ``(y0, x0)``
of its top-left pixel in the large image's coordinates, with its class,
score and provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage

from .label_image import clean_label_image
from .measure import measure_instances


@dataclass
class Piece:
    """One object, or part of one, in large-image coordinates.

    Attributes:
        y0 (int): Row of the mask's first row in the large image.
        x0 (int): Column of the mask's first column.
        mask (np.ndarray): ``(h, w)`` bool mask, tight around the object.
        label (int): Class index.
        score (float): Prediction score.
        source (str): ``'frame'`` or ``'seam'``.
        complete (bool): False when the object is known to be cut.
    """

    y0: int
    x0: int
    mask: np.ndarray
    label: int
    score: float
    source: str
    complete: bool = True

    @property
    def y1(self) -> int:
        """Row after the last row (exclusive)."""
        return self.y0 + self.mask.shape[0]

    @property
    def x1(self) -> int:
        """Column after the last column (exclusive)."""
        return self.x0 + self.mask.shape[1]


def pieces_of(
    label_image: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    origin: Tuple[int, int],
    source: str,
) -> List[Tuple[Piece, Tuple[int, int, int, int]]]:
    """Cut a label image into pieces, each with its box in the label image's own rows/columns.

    Args:
        label_image (np.ndarray): ``(H, W)`` int label image (label ``L`` -> table row ``L - 1``).
        labels (np.ndarray): ``(N,)`` class indices.
        scores (np.ndarray): ``(N,)`` scores.
        origin (tuple[int, int]): ``(y, x)`` of the label image's top-left pixel.
        source (str): Provenance written into the pieces.

    Returns:
        list: ``(piece, (r0, c0, r1, c1))`` per object present, in label order,
        with the local box max-exclusive.
    """
    out = []
    for index, box in enumerate(ndimage.find_objects(label_image)):
        if box is None:
            continue
        r0, r1, c0, c1 = box[0].start, box[0].stop, box[1].start, box[1].stop
        piece = Piece(
            y0=origin[0] + r0,
            x0=origin[1] + c0,
            mask=label_image[box] == index + 1,
            label=int(labels[index]),
            score=float(scores[index]),
            source=source,
        )
        out.append((piece, (r0, c0, r1, c1)))
    return out


def _canvas(pieces: Sequence[Piece]) -> Tuple[int, int, int, int]:
    """Common box ``(y0, x0, y1, x1)`` of ``pieces``."""
    return (
        min(p.y0 for p in pieces),
        min(p.x0 for p in pieces),
        max(p.y1 for p in pieces),
        max(p.x1 for p in pieces),
    )


def paste(piece: Piece, box: Tuple[int, int, int, int]) -> np.ndarray:
    """``piece``'s mask on a canvas covering ``box`` = ``(y0, x0, y1, x1)`` (bool)."""
    y0, x0, y1, x1 = box
    canvas = np.zeros((y1 - y0, x1 - x0), bool)
    canvas[piece.y0 - y0 : piece.y1 - y0, piece.x0 - x0 : piece.x1 - x0] = piece.mask
    return canvas


def union(first: Piece, second: Piece) -> Piece:
    """One piece of both masks; class and score of the higher score; complete if both are."""
    box = _canvas([first, second])
    best = first if first.score >= second.score else second
    return Piece(
        y0=box[0],
        x0=box[1],
        mask=paste(first, box) | paste(second, box),
        label=best.label,
        score=best.score,
        source=second.source,
        complete=first.complete and second.complete,
    )


def iou_in_rows(first: Piece, second: Piece, row0: int, row1: int) -> float:
    """IoU of two pieces counted only in the large image's rows ``[row0, row1)``."""
    box = _canvas([first, second])
    lo, hi = max(row0 - box[0], 0), max(row1 - box[0], 0)
    a, b = paste(first, box)[lo:hi], paste(second, box)[lo:hi]
    union_count = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union_count if union_count else 0.0


def clean_piece(piece: Piece, min_box_side: int, min_part_area: int) -> Optional[Piece]:
    """The piece after :func:`clean_label_image` (None when it is dropped)."""
    cleaned, kept = clean_label_image(piece.mask.astype(np.int32), min_box_side, min_part_area)
    if not len(kept):
        return None
    rows = np.flatnonzero(cleaned.any(axis=1))
    cols = np.flatnonzero(cleaned.any(axis=0))
    mask = cleaned[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] > 0
    return Piece(
        piece.y0 + int(rows[0]),
        piece.x0 + int(cols[0]),
        mask,
        piece.label,
        piece.score,
        piece.source,
        piece.complete,
    )


def measure_piece(
    piece: Piece, class_names: Optional[Sequence[str]], pixel_size: Optional[float]
) -> Dict[str, Any]:
    """:func:`measure_instances` of one piece, with its box and centroid in large-image terms."""
    (record,) = measure_instances(
        piece.mask.astype(np.int32),
        labels=[piece.label],
        scores=[piece.score],
        class_names=class_names,
        pixel_size=pixel_size,
        origin=(piece.x0, piece.y0),
    )
    return record
