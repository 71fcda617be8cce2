"""Tests of solov2_plugin.demo.scenes: scene composition and single samples."""

import cv2
import numpy as np
import pytest

from solov2_plugin.demo import CLASSES, MIN_VISIBLE_FRACTION, compose_scene, make_sample


def test_same_arguments_give_the_same_sample():
    first, again = make_sample(3, "train", 4, 64), make_sample(3, "train", 4, 64)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.label_map, again.label_map)
    assert first.classes_by_id == again.classes_by_id
    other = make_sample(4, "train", 4, 64)
    assert not np.array_equal(first.image, other.image)


def test_sample_kinds_cycle_with_the_index():
    empty = make_sample(0, "val", 0, 64)
    assert empty.density == "empty" and empty.classes_by_id == {}
    assert not empty.label_map.any()
    wide = make_sample(0, "val", 1, 64)  # LABEL_FORMATS[1] == 'png16'
    assert (wide.label_ext, wide.label_bits, wide.label_map.dtype) == (".png", 16, np.uint16)
    assert min(wide.classes_by_id) > 255
    assert (wide.density, wide.image_ext) == ("crowded", ".jpg")
    bmp = make_sample(0, "val", 2, 64)  # 'bmp8', 'sparse'
    assert (bmp.label_ext, bmp.label_bits, bmp.label_map.dtype) == (".bmp", 8, np.uint8)
    assert bmp.density == "sparse"
    assert make_sample(0, "val", 5, 64).image_ext == ".png"  # every eighth, from 5


def test_label_map_and_classes_agree():
    sample = make_sample(1, "train", 1, 96)
    assert sample.image.shape == (96, 96, 3) and sample.image.dtype == np.uint8
    ids = np.unique(sample.label_map)
    assert sorted(sample.classes_by_id) == ids[ids > 0].tolist()
    assert set(sample.classes_by_id.values()) <= set(CLASSES)


def test_composed_scene_keeps_every_object_visible_in_one_piece():
    image, owner, classes = compose_scene(np.random.default_rng(5), 128, "crowded")
    assert image.shape == (128, 128, 3) and owner.shape == (128, 128)
    assert len(classes) >= 5
    assert owner.min() >= -1 and owner.max() == len(classes) - 1
    for index in range(len(classes)):
        mask = (owner == index).astype(np.uint8)
        assert cv2.connectedComponents(mask, connectivity=8)[0] == 2
    # Mostly visible: the smallest visible object is not a sliver.
    assert min((owner == index).sum() for index in range(len(classes))) >= 6
    assert 0 < MIN_VISIBLE_FRACTION < 1


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="`split` must be one of"):
        make_sample(0, "test", 0)
