"""Bounded-memory candidate selection against the straightforward computation.

The straightforward computation is mmdet's: every (cell, class) pair above the
score threshold gets its mask, masks of area <= stride are dropped, scores are
rescored by maskness, a stable descending sort keeps ``nms_pre``. Both sides
read mask logits from one precomputed table, so cells and labels must be identical; scores may
differ in the last bit, as CPU kernels treat the tail of a tensor with scalar code (sigmoid of
one value can differ by an ulp with its position), except where logits saturate the sigmoid.
"""

import pytest
import torch

from solov2_plugin.models.layers.solo_postprocess import (
    candidate_masks,
    cell_mask_stats,
    chunk_size_for,
    rescored_scores,
    select_top_candidates,
)

MASK_THR = 0.5
SCORE_THR = 0.1


def straightforward(cls_scores, strides, logits, nms_pre):
    """(cells, labels, scores) of the best nms_pre candidates, as mmdet selects them."""
    cells, labels = (cls_scores > SCORE_THR).nonzero().unbind(1)
    probs = logits[cells].sigmoid()
    masks = probs > MASK_THR
    areas = masks.sum((1, 2)).float()
    keep = areas > strides[cells]
    maskness = (probs[keep] * masks[keep]).sum((1, 2)) / areas[keep]
    rescored = cls_scores[cells[keep], labels[keep]] * maskness
    scores, order = torch.sort(rescored, descending=True, stable=True)
    if nms_pre > 0:
        order, scores = order[:nms_pre], scores[:nms_pre]
    return cells[keep][order], labels[keep][order], scores


def random_problem(seed, cells=60, classes=5, size=(12, 10), quantised=False):
    """Category scores (G, K), strides (G,) and a mask-logit table (G, H, W)."""
    gen = torch.Generator().manual_seed(seed)
    cls_scores = torch.rand(cells, classes, generator=gen) * 0.6
    logits = torch.randn(cells, *size, generator=gen) * 3 + torch.randn(cells, 1, 1, generator=gen)
    if quantised:  # many exact ties: 4 score values, saturated logits (maskness exactly 1)
        cls_scores = (cls_scores * 6).floor() / 10
        logits = torch.where(logits > 0, 40.0, -40.0)
    strides = torch.tensor([4.0, 8.0, 16.0]).repeat_interleave(cells // 3)
    strides = torch.cat([strides, strides.new_full((cells - strides.numel(),), 16.0)])
    return cls_scores, strides, logits


def select(cls_scores, strides, logits, nms_pre, chunk_size=7, early_stop=True):
    return select_top_candidates(
        cls_scores,
        strides,
        lambda cells: logits[cells],
        score_thr=SCORE_THR,
        mask_thr=MASK_THR,
        nms_pre=nms_pre,
        chunk_size=chunk_size,
        early_stop=early_stop,
    )


def assert_same(top, expected, exact=False):
    cells, labels, scores = expected
    assert torch.equal(top.cells, cells)
    assert torch.equal(top.labels, labels)
    if exact:
        assert torch.equal(top.scores, scores)
    else:
        torch.testing.assert_close(top.scores, scores, atol=0, rtol=1e-6)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("nms_pre", [1, 10, 40, 1000, -1])
def test_selection_equals_the_straightforward_computation(seed, nms_pre):
    cls_scores, strides, logits = random_problem(seed)
    expected = straightforward(cls_scores, strides, logits, nms_pre)
    for chunk_size in (1, 7, 1000):
        for early_stop in (True, False):
            top = select(cls_scores, strides, logits, nms_pre, chunk_size, early_stop)
            assert_same(top, expected)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("nms_pre", [3, 17, 50])
def test_ties_keep_the_cell_then_class_order(seed, nms_pre):
    cls_scores, strides, logits = random_problem(seed, quantised=True)
    expected = straightforward(cls_scores, strides, logits, nms_pre)
    assert len(expected[2]) > len(torch.unique(expected[2]))  # ties are present
    assert_same(select(cls_scores, strides, logits, nms_pre), expected, exact=True)


def test_early_stop_skips_cells_that_cannot_reach_the_best():
    # 200 cells, one class; cell c has category score 0.9 - c / 400 and a full mask, so the
    # 10 best candidates are the first 10 cells and every cell past the bound is skipped.
    cls_scores = (0.9 - torch.arange(200.0) / 400)[:, None]
    logits = torch.full((200, 6, 6), 40.0)
    strides = torch.full((200,), 4.0)
    top = select(cls_scores, strides, logits, nms_pre=10)
    assert top.cells.tolist() == list(range(10))
    bound = cls_scores[9, 0]  # the 10th best rescored score (maskness 1)
    reachable = int((cls_scores[:, 0] >= bound).sum())  # cells whose best score reaches it
    assert top.cells_computed == reachable < 200
    assert_same(top, straightforward(cls_scores, strides, logits, 10), exact=True)
    assert select(cls_scores, strides, logits, 10, early_stop=False).cells_computed == 200


def test_no_candidates_gives_an_empty_selection():
    cls_scores, strides, logits = random_problem(0)
    top = select(cls_scores * 0, strides, logits, nms_pre=10)
    assert top.cells.shape == top.labels.shape == top.scores.shape == (0,)
    assert top.cells_computed == 0


def test_masks_at_or_below_the_stride_are_no_candidates():
    cls_scores, _, logits = random_problem(1)
    top = select(cls_scores, torch.full((60,), 1e6), logits, nms_pre=10)
    assert top.cells.numel() == 0


def test_fewer_candidates_than_nms_pre_keeps_all_of_them():
    cls_scores, strides, logits = random_problem(2, cells=9, classes=2)
    expected = straightforward(cls_scores, strides, logits, -1)
    assert 0 < len(expected[0]) < 500
    assert_same(select(cls_scores, strides, logits, 500), expected)


def test_cell_mask_stats_match_direct_sums():
    _, _, logits = random_problem(3)
    logits[5, :2, :2] = 0.0  # probability exactly 0.5, the threshold: outside the mask
    cells = torch.tensor([5, 0, 59, 5, 17])
    areas, sums = cell_mask_stats(lambda c: logits[c], cells, MASK_THR, chunk_size=2)
    probs = logits[cells].sigmoid()
    masks = probs > MASK_THR
    assert MASK_THR == 0.5 and not masks[0, :2, :2].any()
    assert torch.equal(areas, masks.sum((1, 2)).float())
    assert torch.equal(sums, (probs * masks).sum((1, 2)))  # mmdet's form, bit for bit
    empty_areas, empty_sums = cell_mask_stats(
        lambda c: logits[c], cells[:0], MASK_THR, chunk_size=2
    )
    assert empty_areas.shape == empty_sums.shape == (0,)


def test_rescored_scores_by_hand():
    cls_scores = torch.tensor([[0.5, 0.05], [0.8, 0.3]])
    areas = torch.tensor([10.0, 2.0])
    sums = torch.tensor([8.0, 2.0])
    strides = torch.tensor([4.0, 4.0])
    out = rescored_scores(cls_scores, areas, sums, strides, SCORE_THR)
    inf = float("-inf")
    first = float(torch.tensor(0.5) * (torch.tensor(8.0) / 10))  # 0.5 * maskness 0.8 in float32
    assert out.tolist() == [[first, inf], [inf, inf]]  # second cell: area 2 <= stride 4


def test_candidate_masks_share_cells_and_keep_the_order():
    _, _, logits = random_problem(4)
    calls = []

    def mask_logits(cells):
        calls.append(cells.numel())
        return logits[cells]

    cells = torch.tensor([7, 3, 7, 40])
    probs, masks, areas = candidate_masks(mask_logits, cells, MASK_THR)
    assert calls == [3]
    assert torch.equal(probs, logits[cells].sigmoid())
    assert torch.equal(masks, probs > MASK_THR)
    assert torch.equal(areas, masks.sum((1, 2)).float())
    probs, _, _ = candidate_masks(mask_logits, torch.tensor([9, 2]), MASK_THR)
    assert torch.equal(probs, logits[torch.tensor([9, 2])].sigmoid())


@pytest.mark.parametrize(
    "size, elements, expected", [((200, 336), 2**24, 249), ((512, 512), 2**24, 64), ((8, 8), 10, 1)]
)
def test_chunk_size_bounds_the_elements(size, elements, expected):
    assert chunk_size_for(size, elements) == expected
