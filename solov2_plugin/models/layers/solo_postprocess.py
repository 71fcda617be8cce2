"""SOLOv2 candidate selection in bounded memory (pure functions).

Dimension key: G grid cells of all levels, K classes, C cells whose masks are
computed, P kept candidates (P <= nms_pre), Hm x Wm mask-feature size.

mmdet's post-processing gives every (cell, class) pair above ``score_thr`` a
mask at mask-feature resolution before ``nms_pre`` keeps the best: tens of
thousands of masks in a crowded scene. The same selection is computed here
from per-cell statistics, with the same result:

- a candidate's mask depends on its cell only, so the mask area and the sum
  of probabilities inside the mask (maskness numerator) are computed once
  per cell, in chunks of at most ``chunk_size`` cells;
- cells are visited by descending best category score. Because maskness is
  at most 1, a candidate's rescored score ``cls * maskness`` is at most its
  category score; once ``nms_pre`` valid candidates are known, the
  ``nms_pre``-th best rescored score ``T`` bounds the rest: cells whose best
  category score is below ``T`` cannot place a candidate among the best
  ``nms_pre`` and are never computed (one host sync decides how many cells
  that is, none inside the chunk loops);
- ties are broken as mmdet does: candidates in (cell, class) order, sorted
  by a stable descending sort.

Full masks are then built only for the kept candidates
(:func:`candidate_masks`).
"""

from typing import Callable, NamedTuple, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# cells (C,) int64 -> mask logits (C, Hm, Wm), a new tensor each call (overwritten in place)
MaskLogitsFn = Callable[[Tensor], Tensor]

# Elements of one chunk of masks (C_chunk * Hm * Wm): about 13 bytes each are live at once
# (logits, probabilities, binary mask, product), so ~220 MB per chunk.
DEFAULT_CHUNK_ELEMENTS = 2**24


class TopCandidates(NamedTuple):
    """The best ``nms_pre`` candidates, highest rescored score first.

    Attributes:
        cells (Tensor): Grid cell of each candidate, shape (P,), int64.
        labels (Tensor): Class of each candidate, shape (P,), int64.
        scores (Tensor): Rescored score ``cls_score * maskness``, shape (P,).
        cells_computed (int): Cells whose masks were computed (C), for
            profiling the early stop.
    """

    cells: Tensor
    labels: Tensor
    scores: Tensor
    cells_computed: int


def chunk_size_for(mask_size: Tuple[int, int], elements: int = DEFAULT_CHUNK_ELEMENTS) -> int:
    """Cells per chunk so that a chunk of masks holds at most ``elements`` values (>= 1)."""
    return max(1, elements // max(1, mask_size[0] * mask_size[1]))


def cell_mask_stats(
    mask_logits: MaskLogitsFn, cells: Tensor, mask_thr: float, chunk_size: int
) -> Tuple[Tensor, Tensor]:
    """Mask area and sum of probabilities inside the mask, per cell, chunk by chunk.

    Args:
        mask_logits (MaskLogitsFn): Mask logits (C', Hm, Wm) of given cells.
        cells (Tensor): Cells to compute, shape (C,), int64.
        mask_thr (float): A pixel is in the mask when its probability is
            above this value.
        chunk_size (int): Cells per call of ``mask_logits`` (>= 1).

    Returns:
        tuple[Tensor, Tensor]: ``areas`` (C,) float (pixel counts) and
        ``prob_sums`` (C,) float (sum of the probabilities of the mask's
        pixels, in float32 as mmdet sums them); maskness is
        ``prob_sums / areas``.
    """
    areas, sums = [], []
    for start in range(0, cells.shape[0], chunk_size):
        probs = mask_logits(cells[start : start + chunk_size]).sigmoid_()
        areas.append((probs > mask_thr).sum((1, 2)).float())
        # threshold keeps p where p > mask_thr and writes 0 elsewhere: the values of
        # probs * mask in one pass, without a float copy of the mask.
        sums.append(F.threshold(probs, mask_thr, 0.0).sum((1, 2)))
    if not areas:
        empty = torch.zeros(0, device=cells.device)
        return empty, empty.clone()
    return torch.cat(areas), torch.cat(sums)


def rescored_scores(
    cls_scores: Tensor, areas: Tensor, prob_sums: Tensor, strides: Tensor, score_thr: float
) -> Tensor:
    """Rescored score of every (cell, class) pair, ``-inf`` where it is no candidate.

    Args:
        cls_scores (Tensor): Category scores of C cells, shape (C, K).
        areas (Tensor): Mask area of each cell, shape (C,).
        prob_sums (Tensor): Sum of probabilities inside each mask, (C,).
        strides (Tensor): Level stride of each cell, shape (C,); masks of
            area <= stride are dropped.
        score_thr (float): Pairs need a category score above this value.

    Returns:
        Tensor: Shape (C, K): ``cls_score * (prob_sums / areas)`` for
        candidates, ``-inf`` for the other pairs.
    """
    maskness = prob_sums / areas
    valid = (cls_scores > score_thr) & (areas > strides)[:, None]
    rescored = cls_scores * maskness[:, None]
    return torch.where(valid, rescored, torch.full_like(rescored, float("-inf")))


def _kth_best(values: Tensor, k: int) -> Tensor:
    """The k-th largest value (a 0-d tensor), ``-inf`` when there are fewer than k finite ones."""
    flat = values.flatten()
    if k <= 0 or flat.numel() < k:
        return flat.new_tensor(float("-inf"))
    return flat.topk(k).values[-1]


def select_top_candidates(
    cls_scores: Tensor,
    strides: Tensor,
    mask_logits: MaskLogitsFn,
    *,
    score_thr: float,
    mask_thr: float,
    nms_pre: int,
    chunk_size: int,
    early_stop: bool = True,
) -> TopCandidates:
    """The ``nms_pre`` best rescored (cell, class) candidates, as mmdet selects them.

    A candidate is a pair with category score above ``score_thr`` whose cell
    mask has an area above the cell's stride; its score is rescored by the
    maskness (mean probability inside the mask). Candidates are ordered by
    rescored score, ties in (cell, class) order, and the first ``nms_pre``
    kept (all when ``nms_pre <= 0``).

    Args:
        cls_scores (Tensor): Category scores of all cells after points NMS,
            shape (G, K).
        strides (Tensor): Level stride of each cell, shape (G,).
        mask_logits (MaskLogitsFn): Mask logits (C, Hm, Wm) of given cells.
        score_thr (float): Category score threshold.
        mask_thr (float): Mask probability threshold.
        nms_pre (int): Candidates kept; ``<= 0`` keeps all.
        chunk_size (int): Cells per mask computation (bounds memory).
        early_stop (bool): Skip the cells that cannot reach the best
            ``nms_pre`` (same result, less work). Defaults to True.

    Returns:
        TopCandidates: P <= nms_pre candidates, best first.
    """
    num_classes = cls_scores.shape[1]
    is_candidate = cls_scores > score_thr
    cell_best = torch.where(is_candidate, cls_scores, torch.full_like(cls_scores, -1.0)).amax(1)
    order = torch.sort(cell_best, descending=True, stable=True).indices
    num_with_candidates = int(is_candidate.any(1).sum())  # host sync 1
    order = order[:num_with_candidates]

    if early_stop and 0 < nms_pre < num_with_candidates:
        # Phase 1: the nms_pre cells of best category score hold >= nms_pre pairs.
        first = order[:nms_pre]
        areas, sums = cell_mask_stats(mask_logits, first, mask_thr, chunk_size)
        rescored = rescored_scores(cls_scores[first], areas, sums, strides[first], score_thr)
        bound = _kth_best(rescored, nms_pre)
        # Phase 2: only cells whose best category score reaches the bound (a prefix).
        rest = order[nms_pre:]
        num_rest = int((cell_best[rest] >= bound).sum())  # host sync 2
        rest = rest[:num_rest]
        areas2, sums2 = cell_mask_stats(mask_logits, rest, mask_thr, chunk_size)
        computed = torch.cat([first, rest])
        areas, sums = torch.cat([areas, areas2]), torch.cat([sums, sums2])
    else:
        computed = order
        areas, sums = cell_mask_stats(mask_logits, computed, mask_thr, chunk_size)

    # (cell, class) order among the computed cells, then a stable descending sort.
    computed, by_cell = torch.sort(computed)
    rescored = rescored_scores(
        cls_scores[computed], areas[by_cell], sums[by_cell], strides[computed], score_thr
    ).flatten()
    flat_scores, flat_order = torch.sort(rescored, descending=True, stable=True)
    num_valid = int(torch.isfinite(flat_scores).sum())  # host sync 3
    keep = num_valid if nms_pre <= 0 else min(nms_pre, num_valid)
    flat_order = flat_order[:keep]
    return TopCandidates(
        cells=computed[flat_order // num_classes].to(torch.long),
        labels=(flat_order % num_classes).to(torch.long),
        scores=flat_scores[:keep],
        cells_computed=int(computed.shape[0]),
    )


def candidate_masks(
    mask_logits: MaskLogitsFn, cells: Tensor, mask_thr: float
) -> Tuple[Tensor, Tensor, Tensor]:
    """Probabilities, binary masks and areas of the kept candidates.

    A cell shared by several candidates (several classes) is computed once.

    Args:
        mask_logits (MaskLogitsFn): Mask logits (C, Hm, Wm) of given cells.
        cells (Tensor): Cell of each candidate, shape (P,), int64.
        mask_thr (float): Mask probability threshold.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``probs`` (P, Hm, Wm) float,
        ``masks`` (P, Hm, Wm) bool and ``areas`` (P,) float.
    """
    unique_cells, inverse = torch.unique(cells, return_inverse=True)
    if unique_cells.shape[0] == cells.shape[0]:
        probs = mask_logits(cells).sigmoid()
    else:
        probs = mask_logits(unique_cells).sigmoid()[inverse]
    masks = probs > mask_thr
    return probs, masks, masks.sum((1, 2)).float()
