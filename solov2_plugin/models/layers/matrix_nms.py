"""Matrix NMS (SOLOv2, arXiv 2003.10152, section 4) as a pure function.

Dimension key: N candidate masks, K kept masks, H x W mask size.

Each candidate's score is multiplied by a decay factor computed in one
matrix pass: for a candidate ``j`` and every higher-scored candidate ``i``
of the same class, ``f(iou_ij) / f(comp_i)``, where ``comp_i`` is the largest
IoU of ``i`` with any candidate of its class scored above it and
``f(x) = exp(-sigma * x**2)`` (gaussian, mmdet's form) or ``1 - x`` (linear);
the decay is the minimum of those ratios and 1. This reproduces mmdet 3.3's
``mask_matrix_nms``, except that a linear kernel with a perfectly duplicated
mask (``comp_i == 1``) decays to 0 instead of producing NaN.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

_KERNELS = ("gaussian", "linear")


def _empty_result(masks: Tensor, labels: Tensor, scores: Tensor) -> Tuple[Tensor, ...]:
    """Zero-length outputs with the input dtypes and mask size."""
    return (
        scores.new_zeros(0),
        labels.new_zeros(0),
        masks.new_zeros((0, *masks.shape[-2:])),
        torch.zeros(0, dtype=torch.long, device=labels.device),
    )


def matrix_nms(
    masks: Tensor,
    labels: Tensor,
    scores: Tensor,
    *,
    mask_areas: Optional[Tensor] = None,
    nms_pre: int = -1,
    max_num: int = -1,
    kernel: str = "gaussian",
    sigma: float = 2.0,
    filter_thr: float = -1,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Decay the scores of overlapping same-class masks and keep the best.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool (or 0/1 values).
        labels (Tensor): Class of each mask, shape (N,), int64.
        scores (Tensor): Score of each mask, shape (N,), float.
        mask_areas (Tensor, optional): Foreground pixel count of each mask,
            shape (N,); computed from ``masks`` when None.
        nms_pre (int): Keep only the ``nms_pre`` best-scored masks before the
            decay; ``<= 0`` keeps all.
        max_num (int): Keep at most ``max_num`` masks after the decay;
            ``<= 0`` keeps all.
        kernel (str): ``'gaussian'`` or ``'linear'``.
        sigma (float): Gaussian kernel factor: ``f(x) = exp(-sigma * x**2)``.
        filter_thr (float): Drop masks whose decayed score is below this
            value; ``<= 0`` drops none.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: Aligned along K and sorted by
        decayed score, highest first:

        - scores (Tensor): Decayed scores, shape (K,).
        - labels (Tensor): Labels, shape (K,).
        - masks (Tensor): Masks, shape (K, H, W).
        - keep_inds (Tensor): Index of each kept mask in the input, shape
          (K,), int64.

    Raises:
        ValueError: If ``kernel`` is unknown or the inputs disagree in length.
    """
    if kernel not in _KERNELS:
        raise ValueError(f"matrix_nms: kernel must be one of {_KERNELS}, got {kernel!r}.")
    num = masks.shape[0]
    if labels.shape != (num,) or scores.shape != (num,):
        raise ValueError(
            "matrix_nms: masks (N, H, W), labels (N,) and scores (N,) must share N; got "
            f"{tuple(masks.shape)}, {tuple(labels.shape)} and {tuple(scores.shape)}."
        )
    if mask_areas is not None and mask_areas.shape != (num,):
        raise ValueError(
            f"matrix_nms: mask_areas must have shape ({num},), got {tuple(mask_areas.shape)}."
        )
    if num == 0:
        return _empty_result(masks, labels, scores)
    if mask_areas is None:
        mask_areas = masks.sum((1, 2))
    mask_areas = mask_areas.float()

    scores, order = torch.sort(scores, descending=True, stable=True)
    if 0 < nms_pre < num:
        order, scores = order[:nms_pre], scores[:nms_pre]
    masks, labels, mask_areas = masks[order], labels[order], mask_areas[order]
    num = order.shape[0]

    flat = masks.reshape(num, -1).float()
    inter = flat @ flat.t()
    union = mask_areas[:, None] + mask_areas[None, :] - inter
    # iou[i, j], i scored above j, same class; 0 elsewhere (upper triangle).
    same_class = labels[:, None] == labels[None, :]
    iou = (inter / union.clamp(min=1e-6) * same_class).triu(diagonal=1)
    # comp[i]: overlap of candidate i with the best same-class candidate above it.
    comp = iou.amax(dim=0)[:, None]
    if kernel == "gaussian":
        decay = torch.exp(-sigma * iou.square()) / torch.exp(-sigma * comp.square())
    else:
        decay = (1 - iou) / (1 - comp).clamp(min=1e-6)
    scores = scores * decay.amin(dim=0)

    if filter_thr > 0:
        keep = scores >= filter_thr
        order, scores, masks, labels = order[keep], scores[keep], masks[keep], labels[keep]

    scores, rank = torch.sort(scores, descending=True, stable=True)
    if max_num > 0:
        rank, scores = rank[:max_num], scores[:max_num]
    return scores, labels[rank], masks[rank], order[rank]
