"""Agreement of two sets of detections (ours vs mmdet, or a variant vs fp32 eager), and of
two training steps (a variant vs fp32 eager).

Dimension key: R reference detections, Q other detections, H x W mask size.
"""

import math
from typing import Dict, List, Sequence

import torch
from mmengine.structures import InstanceData
from torch import Tensor

SCORE_TOL = 1e-4
PIXEL_TOL = 1e-3


def _mask_iou(ref: Tensor, other: Tensor) -> Tensor:
    """IoU of every reference mask with every other mask.

    Args:
        ref (Tensor): (R, H, W) bool.
        other (Tensor): (Q, H, W) bool.

    Returns:
        Tensor: (R, Q) float IoU (0 where both are empty).
    """
    ref_flat = ref.flatten(1).float()
    other_flat = other.flatten(1).float()
    inter = ref_flat @ other_flat.t()
    union = ref_flat.sum(1)[:, None] + other_flat.sum(1)[None, :] - inter
    return inter / union.clamp(min=1)


def compare_image(ref: InstanceData, other: InstanceData) -> Dict[str, float]:
    """Agreement of one image's detections.

    Args:
        ref (InstanceData): Reference ``masks`` (R, H, W), ``labels`` (R,),
            ``scores`` (R,).
        other (InstanceData): The same for the compared result (Q of them).

    Returns:
        dict[str, float]: ``num_ref``, ``num_other``; ``aligned_equal`` (1.0
        when R == Q, labels equal in order, scores within 1e-4 and fewer than
        0.1% of the mask pixels differ); ``max_score_diff`` and
        ``mask_pixel_diff`` (fraction) over the aligned pairs (NaN when
        R != Q); ``matched`` (fraction of reference detections with an other
        detection of the same label and mask IoU >= 0.5) and ``mean_iou`` of
        each reference detection with its best same-label match.
    """
    num_ref, num_other = len(ref), len(other)
    out = dict(num_ref=float(num_ref), num_other=float(num_other))
    same_count = num_ref == num_other
    ref_masks, other_masks = ref.masks.bool(), other.masks.bool().to(ref.masks.device)
    ref_labels, other_labels = ref.labels.long(), other.labels.long().to(ref.labels.device)
    if same_count and num_ref > 0:
        score_diff = (ref.scores.float() - other.scores.float().to(ref.scores.device)).abs()
        out["max_score_diff"] = float(score_diff.max())
        out["mask_pixel_diff"] = float((ref_masks != other_masks).float().mean())
        out["aligned_equal"] = float(
            torch.equal(ref_labels, other_labels)
            and out["max_score_diff"] <= SCORE_TOL
            and out["mask_pixel_diff"] <= PIXEL_TOL
        )
    else:
        out["max_score_diff"] = 0.0 if same_count else float("nan")
        out["mask_pixel_diff"] = 0.0 if same_count else float("nan")
        out["aligned_equal"] = float(same_count)
    if num_ref == 0:
        out["matched"], out["mean_iou"] = 1.0 if num_other == 0 else 0.0, 1.0
        return out
    if num_other == 0:
        out["matched"], out["mean_iou"] = 0.0, 0.0
        return out
    iou = _mask_iou(ref_masks, other_masks) * (ref_labels[:, None] == other_labels[None, :])
    best = iou.amax(dim=1)
    out["matched"] = float((best >= 0.5).float().mean())
    out["mean_iou"] = float(best.mean())
    return out


def _nanmax(values: List[float]) -> float:
    """Largest value, or NaN when any value is NaN (undefined for some image)."""
    return float("nan") if any(math.isnan(v) for v in values) else max(values)


def compare_detections(
    ref: Sequence[InstanceData], other: Sequence[InstanceData]
) -> Dict[str, float]:
    """Agreement over a batch, from :func:`compare_image` per image.

    Args:
        ref (Sequence[InstanceData]): Reference results, one per image.
        other (Sequence[InstanceData]): Compared results, one per image.

    Returns:
        dict[str, float]: Sums of ``num_ref`` / ``num_other``; ``identical``
        (1.0 when every image is ``aligned_equal``); maxima of
        ``max_score_diff`` and ``mask_pixel_diff``; means of ``matched`` and
        ``mean_iou`` over images.

    Raises:
        ValueError: If the two have different numbers of images.
    """
    if len(ref) != len(other):
        raise ValueError(
            f"compare_detections: {len(ref)} reference images but {len(other)} compared ones."
        )
    per_image: List[Dict[str, float]] = [compare_image(r, o) for r, o in zip(ref, other)]
    if not per_image:
        return dict(identical=1.0)
    return dict(
        num_ref=sum(p["num_ref"] for p in per_image),
        num_other=sum(p["num_other"] for p in per_image),
        identical=float(all(p["aligned_equal"] == 1.0 for p in per_image)),
        max_score_diff=_nanmax([p["max_score_diff"] for p in per_image]),
        mask_pixel_diff=_nanmax([p["mask_pixel_diff"] for p in per_image]),
        matched=sum(p["matched"] for p in per_image) / len(per_image),
        mean_iou=sum(p["mean_iou"] for p in per_image) / len(per_image),
    )


def compare_training(
    ref_losses: Dict[str, float],
    ref_grads: Tensor,
    losses: Dict[str, float],
    grads: Tensor,
) -> Dict[str, float]:
    """Agreement of one training step with a reference step on the same batch and weights.

    Args:
        ref_losses (dict[str, float]): Reference loss values by name.
        ref_grads (Tensor): Reference gradients, all parameters flattened, shape (W,).
        losses (dict[str, float]): Compared loss values (the same names).
        grads (Tensor): Compared gradients, shape (W,).

    Returns:
        dict[str, float]: ``max_loss_rel_diff`` (largest ``|l - l_ref| / |l_ref|``
        over the losses), ``grad_cosine`` (cosine similarity of the two
        gradients) and ``grad_rel_diff`` (``||g - g_ref|| / ||g_ref||``).
    """
    rel = [abs(losses[key] - value) / abs(value) for key, value in ref_losses.items() if value]
    ref_grads, grads = ref_grads.double(), grads.double()
    return dict(
        max_loss_rel_diff=max(rel, default=0.0),
        grad_cosine=float(torch.nn.functional.cosine_similarity(ref_grads, grads, dim=0)),
        grad_rel_diff=float((grads - ref_grads).norm() / ref_grads.norm()),
    )
