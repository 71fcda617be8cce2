"""Agreement of the exported model with PyTorch: detections matched one to one.

Shapes: R reference (PyTorch) detections, Q compared (onnxruntime) detections, H x W masks.

:mod:`solov2_plugin.benchmark.agreement` compares two results in order (and gives each
reference detection its best same-label mask, shared or not); an export check needs a
one-to-one matching that survives reordered near-ties, and the IoU of each pair. Pairs are
formed greedily by decreasing mask IoU among detections of the same class; a pair needs an
IoU of at least :data:`MATCH_IOU`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np
from mmengine.structures import InstanceData

#: Least mask IoU of a matched pair.
MATCH_IOU = 0.5
#: Default pass bound on the smallest IoU of a matched pair.
MIN_IOU_BOUND = 0.99


def mask_iou_matrix(ref: np.ndarray, other: np.ndarray) -> np.ndarray:
    """IoU of every reference mask with every other mask.

    Args:
        ref (np.ndarray): (R, H, W) bool.
        other (np.ndarray): (Q, H, W) bool.

    Returns:
        np.ndarray: (R, Q) float64; two empty masks have IoU 1.

    Raises:
        ValueError: If the mask sizes differ.
    """
    if ref.shape[1:] != other.shape[1:]:
        raise ValueError(
            f"mask_iou_matrix: masks of {ref.shape[1:]} and {other.shape[1:]} cannot be "
            "compared; both results must be at the same image size (and mask_out_stride)."
        )
    ref_flat = ref.reshape(len(ref), -1).astype(np.float64)
    other_flat = other.reshape(len(other), -1).astype(np.float64)
    inter = ref_flat @ other_flat.T
    union = ref_flat.sum(1)[:, None] + other_flat.sum(1)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def match_detections(ref: InstanceData, other: InstanceData) -> List[Tuple[int, int, float]]:
    """Greedy one-to-one matching by mask IoU within each class.

    Args:
        ref (InstanceData): ``masks`` (R, H, W), ``labels`` (R,).
        other (InstanceData): ``masks`` (Q, H, W), ``labels`` (Q,).

    Returns:
        list[tuple[int, int, float]]: ``(ref_index, other_index, iou)`` per pair, by
        decreasing IoU; only pairs of the same label with IoU >= :data:`MATCH_IOU`.
    """
    if len(ref) == 0 or len(other) == 0:
        return []
    iou = mask_iou_matrix(np.asarray(ref.masks, bool), np.asarray(other.masks, bool))
    same = np.asarray(ref.labels)[:, None] == np.asarray(other.labels)[None, :]
    iou = np.where(same, iou, -1.0)
    pairs = []
    order = np.argsort(-iou, axis=None, kind="stable")
    used_ref, used_other = set(), set()
    for flat in order:
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < MATCH_IOU:
            break
        if i in used_ref or j in used_other:
            continue
        used_ref.add(i)
        used_other.add(j)
        pairs.append((i, j, float(iou[i, j])))
    return pairs


@dataclass
class Agreement:
    """Agreement over images.

    Attributes:
        images (int): Images compared.
        reference (int): Reference (PyTorch) detections.
        compared (int): Compared (onnxruntime) detections.
        matched (int): Pairs formed.
        ious (list[float]): Mask IoU of every pair.
        score_diffs (list[float]): ``|score_ref - score_other|`` of every pair.
        label_order_equal (bool): Same labels in the same order on every image.
    """

    images: int = 0
    reference: int = 0
    compared: int = 0
    matched: int = 0
    ious: List[float] = field(default_factory=list)
    score_diffs: List[float] = field(default_factory=list)
    label_order_equal: bool = True

    @property
    def missing(self) -> int:
        """Reference detections without a partner."""
        return self.reference - self.matched

    @property
    def extra(self) -> int:
        """Compared detections without a partner."""
        return self.compared - self.matched

    @property
    def min_iou(self) -> float:
        """Smallest pair IoU (1.0 when there is no pair)."""
        return min(self.ious) if self.ious else 1.0

    @property
    def mean_iou(self) -> float:
        """Mean pair IoU (1.0 when there is no pair)."""
        return float(np.mean(self.ious)) if self.ious else 1.0

    @property
    def max_score_diff(self) -> float:
        """Largest score difference of a pair (0.0 when there is no pair)."""
        return max(self.score_diffs) if self.score_diffs else 0.0

    def passes(self, min_iou: float = MIN_IOU_BOUND) -> bool:
        """No detection missing or extra, and every pair's IoU at least ``min_iou``."""
        return self.missing == 0 and self.extra == 0 and self.min_iou >= min_iou

    def to_dict(self) -> Dict[str, float]:
        """The summary numbers (JSON-ready)."""
        return dict(
            images=self.images,
            reference=self.reference,
            compared=self.compared,
            matched=self.matched,
            missing=self.missing,
            extra=self.extra,
            min_iou=self.min_iou,
            mean_iou=self.mean_iou,
            max_score_diff=self.max_score_diff,
            label_order_equal=self.label_order_equal,
        )

    def text(self) -> str:
        """One block of lines for a terminal."""
        return "\n".join(
            [
                f"images: {self.images}",
                f"detections: PyTorch {self.reference}, onnxruntime {self.compared}, matched "
                f"{self.matched} (missing {self.missing}, extra {self.extra})",
                f"mask IoU per matched instance: min {_fmt(self.min_iou)}, mean "
                f"{_fmt(self.mean_iou)}",
                f"score difference: max {self.max_score_diff:.3g}",
                f"same labels in the same order: {'yes' if self.label_order_equal else 'no'}",
            ]
        )


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.6f}"


def compare_results(ref: Sequence[InstanceData], other: Sequence[InstanceData]) -> Agreement:
    """Match each image's detections and gather the agreement.

    Args:
        ref (Sequence[InstanceData]): Reference results (PyTorch), one per image.
        other (Sequence[InstanceData]): Compared results (onnxruntime), one per image.

    Returns:
        Agreement: The counts, IoUs and score differences.

    Raises:
        ValueError: If the two have different numbers of images.
    """
    if len(ref) != len(other):
        raise ValueError(f"compare_results: {len(ref)} reference images but {len(other)} others.")
    agreement = Agreement(images=len(ref))
    for r, o in zip(ref, other):
        agreement.reference += len(r)
        agreement.compared += len(o)
        pairs = match_detections(r, o)
        agreement.matched += len(pairs)
        ref_scores, other_scores = np.asarray(r.scores), np.asarray(o.scores)
        for i, j, iou in pairs:
            agreement.ious.append(iou)
            agreement.score_diffs.append(abs(float(ref_scores[i]) - float(other_scores[j])))
        agreement.label_order_equal &= np.array_equal(np.asarray(r.labels), np.asarray(o.labels))
    return agreement
