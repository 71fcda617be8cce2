"""One-to-one matching of two results by mask IoU within a class (hand-made masks)."""

import numpy as np
import pytest
from mmengine.structures import InstanceData

from solov2_plugin.deploy.agreement import compare_results, mask_iou_matrix, match_detections


def _result(masks, labels, scores) -> InstanceData:
    out = InstanceData()
    out.masks = np.asarray(masks, bool)
    out.labels = np.asarray(labels, np.int64)
    out.scores = np.asarray(scores, np.float32)
    return out


def _block(top: int, left: int, size: int = 4, shape=(10, 10)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[top : top + size, left : left + size] = True
    return mask


def test_mask_iou_by_hand():
    a, b = _block(0, 0), _block(0, 2)  # 16 px each, 8 px shared: IoU 8 / 24
    empty = np.zeros((10, 10), bool)
    iou = mask_iou_matrix(np.stack([a, empty]), np.stack([b, empty]))
    assert iou[0, 0] == pytest.approx(1 / 3)
    assert iou[1, 1] == 1.0  # two empty masks are the same mask
    assert iou[0, 1] == 0.0


def test_reordered_results_match_one_to_one():
    a, b = _block(0, 0), _block(5, 5)
    a_minus = a.copy()
    a_minus[0, 0] = False  # 15 of 16 pixels: IoU 15 / 16
    ref = _result([a, b], [1, 2], [0.9, 0.8])
    other = _result([b, a_minus], [2, 1], [0.79, 0.9])
    assert match_detections(ref, other) == [(1, 0, 1.0), (0, 1, 15 / 16)]
    agreement = compare_results([ref], [other])
    assert (agreement.matched, agreement.missing, agreement.extra) == (2, 0, 0)
    assert agreement.min_iou == pytest.approx(15 / 16)
    assert agreement.mean_iou == pytest.approx((1 + 15 / 16) / 2)
    assert agreement.max_score_diff == pytest.approx(0.01, abs=1e-6)
    assert not agreement.label_order_equal
    assert agreement.passes(0.9) and not agreement.passes(0.99)


def test_other_class_or_low_iou_is_missing():
    a = _block(0, 0)
    ref = _result([a, _block(5, 5)], [1, 2], [0.9, 0.8])
    other = _result([a, _block(6, 6)], [0, 2], [0.9, 0.8])  # label differs; IoU 9/23 < 0.5
    agreement = compare_results([ref], [other])
    assert (agreement.matched, agreement.missing, agreement.extra) == (0, 2, 2)
    assert not agreement.passes(0.0)


def test_one_shared_mask_pairs_once():
    a = _block(0, 0)
    ref = _result([a, a], [1, 1], [0.9, 0.5])
    other = _result([a], [1], [0.9])
    agreement = compare_results([ref], [other])
    assert (agreement.matched, agreement.missing, agreement.extra) == (1, 1, 0)


def test_image_counts_must_agree():
    with pytest.raises(ValueError, match="2 reference images but 1"):
        compare_results([_result([], [], [])] * 2, [_result([], [], [])])
