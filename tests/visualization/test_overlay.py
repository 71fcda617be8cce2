"""Tests of the overlay picture and the fused label image."""

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from solov2_plugin.testing.scenes import random_instance_masks
from solov2_plugin.visualization import draw_instances, fused_label_map, label_anchors, place_labels

NAMES = ("disc", "block", "triangle")
PALETTE = ((200, 30, 30), (30, 60, 220), (40, 180, 60))
GREY = 100


def _blend(base, colour, alpha):
    return np.rint(np.float32(base) * (1 - alpha) + np.float32(colour) * alpha)


def _square(size=64, y0=24, x0=20, side=20):
    mask = np.zeros((size, size), dtype=bool)
    mask[y0 : y0 + side, x0 : x0 + side] = True
    return mask


def _reference_fusion(masks, scores):
    num, height, width = masks.shape
    expected = np.zeros((height, width), dtype=np.int64)
    for y in range(height):
        for x in range(width):
            covering = [i for i in range(num) if masks[i, y, x]]
            if covering:
                best = max(covering, key=lambda i: (scores[i], -i))
                expected[y, x] = best + 1
    return expected


@settings(max_examples=20, deadline=None)
@given(
    data=st.data(),
    num=st.integers(0, 6),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
)
def test_fused_label_map_matches_brute_force(data, num, height, width):
    masks = data.draw(hnp.arrays(bool, (num, height, width)))
    # Few distinct score values, so ties occur.
    scores = data.draw(hnp.arrays(np.float32, (num,), elements=st.sampled_from([0.1, 0.5, 0.9])))
    fused = fused_label_map(masks, scores)
    assert fused.dtype == np.uint16
    assert fused.shape == (height, width)
    np.testing.assert_array_equal(fused, _reference_fusion(masks, scores))


def test_fused_label_map_highest_score_wins_and_ids_follow_input_order():
    masks = np.zeros((3, 4, 6), dtype=bool)
    masks[0, :, 0:4] = True
    masks[1, :, 2:6] = True
    masks[2, 0, 0] = True  # hidden by mask 0, which scores higher
    fused = fused_label_map(masks, np.array([0.7, 0.9, 0.3]))
    np.testing.assert_array_equal(fused[1], [1, 1, 2, 2, 2, 2])
    assert fused[0, 0] == 1
    assert 3 not in fused


def test_fused_label_map_accepts_tensors_and_widens_dtype():
    masks = torch.rand(4, 8, 8) > 0.5
    scores = torch.rand(4)
    np.testing.assert_array_equal(
        fused_label_map(masks, scores), fused_label_map(masks.numpy(), scores.numpy())
    )
    many = np.ones((70000, 1, 1), dtype=bool)
    fused = fused_label_map(many, np.zeros(70000))
    assert fused.dtype == np.uint32
    assert fused[0, 0] == 1


def test_fused_label_map_no_instances():
    fused = fused_label_map(np.zeros((0, 5, 7), dtype=bool), np.zeros(0))
    assert fused.shape == (5, 7)
    assert not fused.any()
    np.testing.assert_array_equal(fused_label_map([[[1, 0]], [[1, 1]]], [0.2, 0.8]), [[2, 2]])


@pytest.mark.parametrize(
    ("masks", "scores", "match"),
    [
        (np.zeros((5, 7), dtype=bool), np.zeros(1), "shape \\(N, H, W\\)"),
        (np.zeros((2, 5, 7), dtype=bool), np.zeros(3), "`scores` must have shape \\(2,\\)"),
        (np.zeros((2, 5, 7), dtype=bool), np.zeros((2, 1)), "`scores` must have shape \\(2,\\)"),
    ],
)
def test_fused_label_map_rejects_bad_input(masks, scores, match):
    with pytest.raises(ValueError, match=match):
        fused_label_map(masks, scores)


def test_draw_instances_fill_outline_and_tag():
    image = np.full((64, 64, 3), GREY, dtype=np.uint8)
    mask = _square()  # rows 24..43, cols 20..39
    before = image.copy()
    overlay = draw_instances(image, mask[None], np.array([1]), np.array([0.87]), NAMES, PALETTE)
    np.testing.assert_array_equal(image, before)
    assert overlay.shape == image.shape
    assert overlay.dtype == np.uint8
    # The tag is centred on the mask's centre (wider than the mask, it sticks out sideways).
    (box,) = place_labels(mask[None], ["block 0.87"], 0.35, np.array([0.87]))
    assert (box.y0 + box.y1) // 2 == 33 and (box.x0 + box.x1) // 2 == 29
    assert box.y0 > 26 and box.y1 < 43
    # Interior above the tag: translucent fill in the class colour.
    np.testing.assert_array_equal(overlay[26, 30], _blend(GREY, PALETTE[1], 0.5))
    # Boundary pixels (left and bottom edges): the outline in the class colour.
    np.testing.assert_array_equal(overlay[25, 20], PALETTE[1])
    np.testing.assert_array_equal(overlay[43, 30], PALETTE[1])
    # The tag: filled with the class colour, with light text (the colour is dark).
    tag = overlay[box.y0 : box.y1, box.x0 : box.x1]
    assert (tag == PALETTE[1]).all(axis=-1).mean() > 0.4
    assert (tag[..., 0] > 150).sum() > 20
    # Outside the instance and its tag nothing changes.
    outside = ~mask
    outside[box.y0 : box.y1, box.x0 : box.x1] = False
    np.testing.assert_array_equal(overlay[outside], image[outside])


def test_draw_instances_best_score_on_top_and_holes_outlined():
    image = np.full((64, 64, 3), GREY, dtype=np.uint8)
    low = _square(y0=24, x0=10, side=24)
    high = _square(y0=24, x0=22, side=24)
    high[32:40, 30:38] = False  # a hole
    overlay = draw_instances(
        image, np.stack([high, low]), np.array([2, 0]), np.array([0.9, 0.4]), NAMES, PALETTE
    )
    boxes = place_labels(
        np.stack([high, low]), ["triangle 0.90", "disc 0.40"], 0.35, np.array([0.9, 0.4])
    )
    assert all(not box.y0 <= 35 < box.y1 for box in boxes)  # row 35 shows no tag
    under = _blend(GREY, PALETTE[0], 0.5)
    np.testing.assert_array_equal(overlay[35, 26], _blend(under, PALETTE[2], 0.5))
    # The hole shows the lower mask's fill; its rim is outlined in the upper mask's colour.
    np.testing.assert_array_equal(overlay[35, 32], under)
    np.testing.assert_array_equal(overlay[35, 29], PALETTE[2])


def test_draw_instances_without_scores_alpha_zero_and_no_instances():
    image = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
    mask = _square()
    overlay = draw_instances(image, mask[None], np.array([0]), None, NAMES, alpha=0.0)
    (box,) = place_labels(mask[None], ["disc"], 0.35)
    assert box.y1 <= 40
    np.testing.assert_array_equal(overlay[40:43, 25:35], image[40:43, 25:35])
    assert (overlay != image).any()
    empty = draw_instances(image, np.zeros((0, 64, 64), bool), np.zeros(0, int), None, NAMES)
    np.testing.assert_array_equal(empty, image)
    assert empty is not image


def test_draw_instances_tensors_match_numpy_and_tag_fits_at_the_edge():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    masks = np.zeros((2, 48, 80), dtype=bool)
    masks[0, 0:10, 70:80] = True  # top-right corner: the tag must move inside the image
    masks[1, 20:40, 5:30] = True
    labels, scores = np.array([2, 0]), np.array([0.5, 0.75])
    expected = draw_instances(image, masks, labels, scores, NAMES)
    got = draw_instances(
        torch.from_numpy(image),
        torch.from_numpy(masks),
        torch.from_numpy(labels),
        torch.from_numpy(scores),
        NAMES,
    )
    np.testing.assert_array_equal(got, expected)
    assert (expected[:10, 40:70] != image[:10, 40:70]).any(axis=-1).sum() > 100


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(image=np.zeros((64, 64, 3), np.float32)), "RGB uint8"),
        (dict(image=np.zeros((64, 64), np.uint8)), "RGB uint8"),
        (dict(masks=np.zeros((1, 32, 64), bool)), "do not match `image`"),
        (dict(labels=np.array([3])), "must lie in 0..2"),
        (dict(labels=np.array([0.0])), "must be integers"),
        (dict(scores=np.array([0.1, 0.2])), "`scores` must have shape \\(1,\\)"),
        (dict(palette=PALETTE[:2]), "`palette` has 2 colours for 3 classes"),
        (dict(alpha=1.5), "`alpha` must lie in \\[0, 1\\]"),
    ],
)
def test_draw_instances_rejects_bad_input(kwargs, match):
    arguments = dict(
        image=np.zeros((64, 64, 3), np.uint8),
        masks=_square()[None],
        labels=np.array([0]),
        scores=np.array([0.5]),
        class_names=NAMES,
        palette=PALETTE,
    )
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        draw_instances(**arguments)


def _inside(mask, box):
    """Whether the centre of a label box lies inside the mask."""
    return bool(mask[(box.y0 + box.y1) // 2, (box.x0 + box.x1) // 2])


def test_label_anchors_start_at_the_point_farthest_from_the_edge():
    mask = _square(size=64, y0=10, x0=20, side=21)  # rows 10..30, cols 20..40: centre (30, 20)
    anchors = label_anchors(mask, max_anchors=8)
    assert anchors.shape == (8, 2)
    np.testing.assert_array_equal(anchors[0], [30, 20])
    assert mask[anchors[:, 1], anchors[:, 0]].all()
    assert label_anchors(np.zeros((5, 5), bool)).shape == (0, 2)


def test_labels_of_two_adjacent_masks_do_not_overlap():
    masks = np.zeros((2, 64, 96), bool)
    masks[0, 20:44, 10:48] = True
    masks[1, 20:44, 48:86] = True  # touches the first mask
    texts = ["triangle 0.95", "triangle 0.90"]
    boxes = place_labels(masks, texts, 0.35, priority=np.array([0.95, 0.90]))
    assert all(box is not None for box in boxes)
    assert not boxes[0].overlaps(boxes[1])
    assert _inside(masks[0], boxes[0]) and _inside(masks[1], boxes[1])
    # At their masks' centres the two full-size labels would overlap: one of them moved or shrank.
    full_w = cv2.getTextSize(texts[0], cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)[0][0] + 2
    assert full_w > 38
    # The same drawn: each tag is in its own colour, and the two tags touch no common pixel.
    overlay = draw_instances(
        np.full((64, 96, 3), GREY, np.uint8),
        masks,
        np.array([2, 2]),
        np.array([0.95, 0.90]),
        NAMES,
        ((0, 0, 0), (0, 0, 0), (40, 180, 60)),
    )
    for box in boxes:
        tag = overlay[box.y0 : box.y1, box.x0 : box.x1]
        assert (tag == (40, 180, 60)).all(axis=-1).mean() > 0.5  # filled with the class colour


def test_labels_left_out_when_there_is_no_room():
    masks = np.zeros((3, 16, 16), bool)
    masks[:, 4:12, 4:12] = True  # three masks on the same pixels, no room for three labels
    boxes = place_labels(masks, ["a long label"] * 3, 0.35, priority=np.array([0.2, 0.9, 0.5]))
    assert boxes[1] is not None  # the best score is served first
    placed = [box for box in boxes if box is not None]
    assert len(placed) < 3
    assert all(not a.overlaps(b) for i, a in enumerate(placed) for b in placed[i + 1 :])
    empty = np.zeros((1, 16, 16), bool)
    assert place_labels(empty, ["x"], 0.35) == [None]
    with pytest.raises(ValueError, match="`texts` has 1 entries for 3 masks"):
        place_labels(masks, ["x"], 0.35)


def test_labels_in_a_crowded_scene_never_overlap():
    masks = random_instance_masks(np.random.default_rng(3), 25, (128, 160), (8.0, 60.0))
    texts = [f"block {0.5 + i / 100:.2f}" for i in range(25)]
    boxes = place_labels(masks, texts, 0.35)
    placed = [box for box in boxes if box is not None]
    assert len(placed) >= 10
    for n, a in enumerate(placed):
        assert a.x0 >= 0 and a.x1 <= 160 and a.y0 >= 0 and a.y1 <= 128
        assert all(not a.overlaps(b) for b in placed[n + 1 :])
