"""Fusing masks into a label image, cleaning it, and flagging edge objects (exact label images)."""

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from solov2_plugin.apis.label_image import (
    clean_label_image,
    drop_edge_objects,
    edge_flags,
    fuse_instances,
    instances_to_label_image,
    relabel,
)


def _two_overlapping_masks():
    """Mask 0 covers columns 0..2, mask 1 columns 2..4 of a 2x5 image: column 2 is shared."""
    masks = np.zeros((2, 2, 5), bool)
    masks[0, :, 0:3] = True
    masks[1, :, 2:5] = True
    return masks


def test_fuse_by_score_higher_score_wins_the_overlap():
    masks = _two_overlapping_masks()
    fused = fuse_instances(masks, np.array([0.3, 0.9]), by="score")
    assert fused.dtype == np.int32
    np.testing.assert_array_equal(fused, [[1, 1, 2, 2, 2], [1, 1, 2, 2, 2]])


def test_fuse_by_score_ties_go_to_the_lower_index():
    fused = fuse_instances(_two_overlapping_masks(), np.array([0.5, 0.5]), by="score")
    np.testing.assert_array_equal(fused[0], [1, 1, 1, 2, 2])


def test_fuse_by_prob_decides_per_pixel():
    masks = _two_overlapping_masks()
    probs = np.zeros((2, 2, 5), np.float32)
    probs[0], probs[1] = 0.6, 0.7
    probs[0, 1, 2] = 0.95  # row 1 of the shared column goes to instance 0
    fused = fuse_instances(masks, np.array([0.9, 0.1]), probs=probs, by="prob")
    np.testing.assert_array_equal(fused, [[1, 1, 2, 2, 2], [1, 1, 1, 2, 2]])


def test_fuse_by_prob_without_probs_falls_back_to_score_and_takes_torch():
    masks = torch.from_numpy(_two_overlapping_masks())
    fused = fuse_instances(masks, torch.tensor([0.9, 0.3]))
    np.testing.assert_array_equal(fused[0], [1, 1, 1, 2, 2])


def test_fuse_empty_prediction_and_bad_arguments():
    fused = fuse_instances(np.zeros((0, 3, 4), bool), np.zeros(0))
    np.testing.assert_array_equal(fused, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="'prob'"):
        fuse_instances(np.zeros((1, 2, 2), bool), np.ones(1), by="area")
    with pytest.raises(ValueError, match="one score per mask"):
        fuse_instances(np.zeros((2, 2, 2), bool), np.ones(3))


def test_instances_to_label_image_keeps_tables_in_instance_order():
    instances = InstanceData(
        masks=torch.from_numpy(_two_overlapping_masks()),
        labels=torch.tensor([3, 1]),
        scores=torch.tensor([0.2, 0.8]),
    )
    label_image, labels, scores = instances_to_label_image(instances)
    np.testing.assert_array_equal(label_image[0], [1, 1, 2, 2, 2])
    np.testing.assert_array_equal(labels, [3, 1])
    np.testing.assert_allclose(scores, [0.2, 0.8])


def test_relabel_keeps_given_order():
    image = np.array([[5, 0, 2], [7, 7, 2]])
    out, kept = relabel(image, np.array([7, 2]))
    np.testing.assert_array_equal(out, [[0, 0, 2], [1, 1, 2]])
    np.testing.assert_array_equal(kept, [7, 2])


# A 6x8 label image: label 4 = a 3x3 block plus a one-pixel speck; label 9 = a 1-pixel-high bar;
# label 2 = two 2x2 blocks joined only diagonally (one part with 8-connectivity, two with 4).
_SCENE = np.array(
    [
        [4, 4, 4, 0, 0, 0, 0, 4],
        [4, 4, 4, 0, 2, 2, 0, 0],
        [4, 4, 4, 0, 2, 2, 0, 0],
        [0, 0, 0, 0, 0, 0, 2, 2],
        [0, 0, 0, 0, 0, 0, 2, 2],
        [9, 9, 9, 9, 9, 0, 0, 0],
    ]
)


def test_clean_nothing_to_do_only_relabels():
    out, kept = clean_label_image(_SCENE)
    np.testing.assert_array_equal(kept, [2, 4, 9])
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.array([0, 0, 1, 0, 2, 0, 0, 0, 0, 3])[_SCENE])


def test_clean_min_box_side_drops_the_thin_bar():
    out, kept = clean_label_image(_SCENE, min_box_side=2)
    np.testing.assert_array_equal(kept, [2, 4])
    assert not (out[5] > 0).any()


def test_clean_min_part_area_removes_the_speck_and_shrinks_the_box():
    out, kept = clean_label_image(_SCENE, min_part_area=2)
    np.testing.assert_array_equal(kept, [2, 4, 9])  # the bar (5 px) survives, the speck does not
    assert out[0, 7] == 0 and (out[:3, :3] == 2).all()
    # With the speck gone the box of label 4 is 3x3 (label 2's is 4x4, the bar's 1x5):
    _, kept3 = clean_label_image(_SCENE, min_box_side=3, min_part_area=2)
    _, kept4 = clean_label_image(_SCENE, min_box_side=4, min_part_area=2)
    np.testing.assert_array_equal(kept3, [2, 4])
    np.testing.assert_array_equal(kept4, [2])


def test_clean_min_part_area_large_drops_whole_objects():
    out, kept = clean_label_image(_SCENE, min_part_area=9)
    np.testing.assert_array_equal(kept, [4])
    expected = np.zeros_like(_SCENE)
    expected[:3, :3] = 1
    np.testing.assert_array_equal(out, expected)


def test_clean_split_parts_with_4_and_8_connectivity():
    out8, kept8 = clean_label_image(_SCENE, min_part_area=2, split_parts=True, connectivity=2)
    np.testing.assert_array_equal(kept8, [2, 4, 9])
    out4, kept4 = clean_label_image(_SCENE, min_part_area=2, split_parts=True, connectivity=1)
    np.testing.assert_array_equal(kept4, [2, 2, 4, 9])
    expected = np.array(
        [
            [3, 3, 3, 0, 0, 0, 0, 0],
            [3, 3, 3, 0, 1, 1, 0, 0],
            [3, 3, 3, 0, 1, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 2, 2],
            [0, 0, 0, 0, 0, 0, 2, 2],
            [4, 4, 4, 4, 4, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(out4, expected)


def test_clean_rejects_bad_arguments():
    with pytest.raises(ValueError, match=">= 0"):
        clean_label_image(_SCENE, min_box_side=-1)
    with pytest.raises(ValueError, match="connectivity"):
        clean_label_image(_SCENE, connectivity=3)


def test_edge_flags_per_edge_and_margin():
    np.testing.assert_array_equal(
        edge_flags(_SCENE), [False, True, False, True, False, False, False, False, True]
    )
    np.testing.assert_array_equal(np.flatnonzero(edge_flags(_SCENE, edges=("top",))) + 1, [4])
    np.testing.assert_array_equal(np.flatnonzero(edge_flags(_SCENE, edges=("right",))) + 1, [2, 4])
    # Label 2 starts on row 1: one pixel from the top edge.
    np.testing.assert_array_equal(
        np.flatnonzero(edge_flags(_SCENE, margin=1, edges=("top",))) + 1, [2, 4]
    )
    with pytest.raises(ValueError, match="unknown edges"):
        edge_flags(_SCENE, edges=("up",))


def test_drop_edge_objects_relabels_what_is_left():
    scene = np.zeros((6, 6), int)
    scene[2:4, 2:4] = 5
    scene[0, 1] = 3
    scene[4:6, 4] = 8
    out, kept = drop_edge_objects(scene)
    np.testing.assert_array_equal(kept, [5])
    np.testing.assert_array_equal(out, (scene == 5).astype(int))
    out, kept = drop_edge_objects(scene, edges=("top",))
    np.testing.assert_array_equal(kept, [5, 8])
    assert out[5, 4] == 2 and out[0, 1] == 0
