"""Label-map indexing, boxes, masks and run lengths against brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from solov2_plugin.datasets.instance_maps import (
    index_label_map,
    instance_areas,
    instance_boxes,
    instance_masks,
    instance_run_lengths,
)

# IDs from both indexing paths: lookup table (< 2**20) and np.unique (larger).
ID_POOL = [0, 0, 0, 1, 2, 7, 255, 300, 65000, 70000, 2**31 - 1]


def label_maps():
    shapes = st.tuples(st.integers(1, 9), st.integers(1, 9))
    return shapes.flatmap(lambda shape: arrays(np.int64, shape, elements=st.sampled_from(ID_POOL)))


def brute_force_box(mask: np.ndarray) -> list:
    rows, cols = np.nonzero(mask)
    return [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def decode_runs(runs: list, height: int, width: int) -> np.ndarray:
    flat = np.concatenate([np.full(n, k % 2, np.uint8) for k, n in enumerate(runs)])
    flat = np.pad(flat, (0, height * width - flat.size))
    return flat.reshape(width, height).T


@settings(max_examples=20, deadline=None)
@given(label_maps())
def test_every_helper_matches_brute_force(label_map):
    ids, index_map = index_label_map(label_map)
    expected_ids = sorted(set(label_map.ravel().tolist()) - {0})
    assert ids.tolist() == expected_ids
    assert ids.dtype == np.int64 and index_map.dtype == np.int32
    num = len(ids)
    masks = instance_masks(index_map, num)
    boxes = instance_boxes(index_map, num)
    areas = instance_areas(index_map, num)
    runs = instance_run_lengths(index_map, num)
    assert masks.shape == (num, *label_map.shape) and masks.dtype == np.uint8
    assert np.array_equal(index_map == -1, label_map == 0)
    for k, label_id in enumerate(expected_ids):
        truth = label_map == label_id
        assert np.array_equal(masks[k], truth)
        assert np.array_equal(index_map == k, truth)
        assert boxes[k].tolist() == brute_force_box(truth)
        assert areas[k] == truth.sum()
        assert sum(runs[k]) == label_map.size and runs[k][-1] > 0
        assert np.array_equal(decode_runs(runs[k], *label_map.shape), truth)


def test_one_pixel_instance_box_has_exclusive_max():
    label_map = np.zeros((5, 6), np.uint8)
    label_map[2, 3] = 9
    ids, index_map = index_label_map(label_map)
    assert instance_boxes(index_map, 1).tolist() == [[3.0, 2.0, 4.0, 3.0]]


def test_empty_map_gives_empty_outputs():
    ids, index_map = index_label_map(np.zeros((4, 5), np.uint16))
    assert ids.shape == (0,)
    assert instance_boxes(index_map, 0).shape == (0, 4)
    assert instance_masks(index_map, 0).shape == (0, 4, 5)
    assert instance_run_lengths(index_map, 0) == []
    assert instance_areas(index_map, 0).shape == (0,)


def test_huge_ids_never_build_a_table_of_their_size():
    label_map = np.zeros((3, 3), np.int32)
    label_map[0, 0], label_map[2, 2] = 2**31 - 1, 5
    ids, index_map = index_label_map(label_map)
    assert ids.tolist() == [5, 2**31 - 1]
    assert index_map.tolist() == [[1, -1, -1], [-1, -1, -1], [-1, -1, 0]]


@pytest.mark.parametrize(
    "label_map, message",
    [
        (np.zeros((2, 2, 3), np.uint8), "2-D integer"),
        (np.zeros((2, 2), np.float32), "2-D integer"),
        (np.array([[0, -3]]), ">= 0"),
    ],
)
def test_bad_label_maps_raise_value_error(label_map, message):
    with pytest.raises(ValueError, match=message):
        index_label_map(label_map)
