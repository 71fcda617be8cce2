import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solov2_plugin.models.layers.matrix_nms import matrix_nms


def _brute_force(masks, labels, scores, kernel, sigma, nms_pre, max_num, filter_thr):
    """Matrix NMS written as plain loops over candidate pairs.

    Returns a list of (decayed score, input index), best first.
    """
    flat = [m.flatten().astype(bool) for m in masks]

    def iou(a, b):
        inter = np.logical_and(flat[a], flat[b]).sum()
        union = flat[a].sum() + flat[b].sum() - inter
        return inter / union if union > 0 else 0.0

    def f(x):
        return math.exp(-sigma * x * x) if kernel == "gaussian" else 1.0 - x

    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    if nms_pre > 0:
        order = order[:nms_pre]
    # comp[i]: largest IoU of i with a same-class candidate scored above it.
    comp = {}
    for pos, i in enumerate(order):
        overlaps = [iou(k, i) for k in order[:pos] if labels[k] == labels[i]]
        comp[i] = max(overlaps, default=0.0)
    kept = []
    for pos, j in enumerate(order):
        decay = 1.0
        for i in order[:pos]:
            if labels[i] == labels[j]:
                num, den = f(iou(i, j)), f(comp[i])
                # A duplicated mask (comp 1, linear kernel) decays its duplicates to 0.
                decay = min(decay, num / den if den > 0 else (math.inf if num > 0 else 0.0))
        kept.append((scores[j] * decay, j))
    if filter_thr > 0:
        kept = [(s, j) for s, j in kept if s >= filter_thr]
    kept.sort(key=lambda item: -item[0])
    if max_num > 0:
        kept = kept[:max_num]
    return kept


def _random_candidates(rng, num, size=16, num_classes=3):
    """Overlapping rectangles (a few duplicated) with distinct scores."""
    masks = np.zeros((num, size, size), dtype=bool)
    for k in range(num):
        y, x = rng.integers(0, size - 4, 2)
        h, w = rng.integers(3, size // 2, 2)
        masks[k, y : y + h, x : x + w] = True
    if num > 3:
        masks[1] = masks[0]  # an exact duplicate
    labels = rng.integers(0, num_classes, num)
    scores = rng.permutation(num) / num * 0.9 + 0.05 + rng.random(num) * 1e-3
    return masks, labels, scores


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    num=st.integers(1, 12),
    kernel=st.sampled_from(["gaussian", "linear"]),
    sigma=st.sampled_from([0.5, 2.0]),
    nms_pre=st.sampled_from([-1, 5]),
    max_num=st.sampled_from([-1, 4]),
    filter_thr=st.sampled_from([-1, 0.05, 0.3]),
)
def test_matches_brute_force(seed, num, kernel, sigma, nms_pre, max_num, filter_thr):
    rng = np.random.default_rng(seed)
    masks, labels, scores = _random_candidates(rng, num)
    expected = _brute_force(masks, labels, scores, kernel, sigma, nms_pre, max_num, filter_thr)

    out_scores, out_labels, out_masks, keep = matrix_nms(
        torch.from_numpy(masks),
        torch.from_numpy(labels),
        torch.from_numpy(scores).float(),
        nms_pre=nms_pre,
        max_num=max_num,
        kernel=kernel,
        sigma=sigma,
        filter_thr=filter_thr,
    )
    assert keep.tolist() == [j for _, j in expected]
    np.testing.assert_allclose(out_scores.numpy(), [s for s, _ in expected], rtol=1e-5, atol=1e-6)
    # The four outputs stay aligned with the input (the seed's bug was not).
    assert torch.equal(out_masks, torch.from_numpy(masks)[keep])
    assert torch.equal(out_labels, torch.from_numpy(labels)[keep])
    assert torch.all(out_scores[:-1] >= out_scores[1:])


def test_hand_computed_pair():
    # Two same-class masks of 4 pixels sharing 2: IoU = 2 / 6.
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[0, 0, :4] = True
    masks[1, 0, 2:4] = True
    masks[1, 1, 2:4] = True
    masks[2] = masks[0]  # same pixels, other class: never decayed
    labels = torch.tensor([0, 0, 1])
    scores = torch.tensor([0.9, 0.8, 0.7])
    out_scores, out_labels, _, keep = matrix_nms(masks, labels, scores, kernel="gaussian", sigma=2)
    assert keep.tolist() == [0, 2, 1]
    expected = [0.9, 0.7, 0.8 * math.exp(-2 * (1 / 3) ** 2)]
    np.testing.assert_allclose(out_scores.numpy(), expected, rtol=1e-6)
    assert out_labels.tolist() == [0, 1, 0]

    out_scores, *_ = matrix_nms(masks, labels, scores, kernel="linear")
    np.testing.assert_allclose(out_scores.numpy(), [0.9, 0.7, 0.8 * (2 / 3)], rtol=1e-6)


def test_duplicates_decay_without_nan():
    masks = torch.zeros(3, 6, 6, dtype=torch.bool)
    masks[:, 1:4, 1:4] = True
    labels = torch.zeros(3, dtype=torch.long)
    for kernel in ("gaussian", "linear"):
        scores, *_ = matrix_nms(masks, labels, torch.tensor([0.9, 0.8, 0.7]), kernel=kernel)
        assert torch.isfinite(scores).all()
        assert scores[0] == pytest.approx(0.9)
    scores, *_ = matrix_nms(masks, labels, torch.tensor([0.9, 0.8, 0.7]), kernel="linear")
    assert scores[1:].tolist() == [0.0, 0.0]


def test_given_areas_equal_computed_areas():
    rng = np.random.default_rng(0)
    masks, labels, scores = (torch.from_numpy(a) for a in _random_candidates(rng, 8))
    scores = scores.float()
    areas = masks.sum((1, 2)).float()
    with_areas = matrix_nms(masks, labels, scores, mask_areas=areas)
    without = matrix_nms(masks, labels, scores)
    for a, b in zip(with_areas, without):
        assert torch.equal(a, b)


def test_empty_input_and_everything_filtered():
    masks = torch.zeros(0, 5, 6, dtype=torch.bool)
    scores, labels, out_masks, keep = matrix_nms(
        masks, torch.zeros(0, dtype=torch.long), torch.zeros(0)
    )
    assert scores.shape == labels.shape == keep.shape == (0,)
    assert out_masks.shape == (0, 5, 6)
    assert keep.dtype == torch.long

    masks = torch.ones(2, 5, 6, dtype=torch.bool)
    out = matrix_nms(masks, torch.tensor([0, 1]), torch.tensor([0.2, 0.1]), filter_thr=0.5)
    assert [t.shape[0] for t in out] == [0, 0, 0, 0]
    assert out[2].shape == (0, 5, 6)


def test_bad_arguments_raise():
    masks = torch.ones(2, 4, 4, dtype=torch.bool)
    labels, scores = torch.tensor([0, 1]), torch.tensor([0.5, 0.4])
    with pytest.raises(ValueError, match="kernel"):
        matrix_nms(masks, labels, scores, kernel="box")
    with pytest.raises(ValueError, match="share N"):
        matrix_nms(masks, labels[:1], scores)
    with pytest.raises(ValueError, match="mask_areas"):
        matrix_nms(masks, labels, scores, mask_areas=torch.ones(3))
