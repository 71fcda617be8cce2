"""Semantic (class) maps handed in as instance maps are told apart, cheaply and exactly."""

import numpy as np
from scipy import ndimage

from solov2_plugin.datasets.instance_maps import index_label_map, instance_boxes
from solov2_plugin.datasets.semantic_maps import count_regions, semantic_map_evidence
from solov2_plugin.testing import random_label_map


def squares(label_map: np.ndarray, label_id: int, corners, side: int = 3) -> None:
    for y, x in corners:
        label_map[y : y + side, x : x + side] = label_id


def regions(label_map: np.ndarray) -> list:
    ids, index_map = index_label_map(label_map)
    return count_regions(index_map, instance_boxes(index_map, len(ids))).tolist()


def test_regions_are_eight_connected_and_tiny_ones_ignored():
    label_map = np.zeros((20, 20), np.uint8)
    squares(label_map, 1, [(0, 0), (0, 10), (10, 0), (10, 10), (16, 16)])
    squares(label_map, 2, [(4, 4), (7, 7)])  # touch at a corner: one region
    label_map[19, 0] = 3  # a single pixel
    label_map[0, 19] = label_map[2, 19] = 3  # two stray pixels of the same ID
    assert regions(label_map) == [5, 1, 0]


def test_regions_of_a_random_scene_equal_brute_force():
    label_map = random_label_map(np.random.default_rng(3), 96, 128, 40, 65535)
    ids, index_map = index_label_map(label_map)
    counted = count_regions(index_map, instance_boxes(index_map, len(ids)), min_pixels=1)
    brute = [ndimage.label(label_map == i, np.ones((3, 3)))[1] for i in ids.tolist()]
    assert counted.tolist() == brute


def test_evidence_names_the_split_id():
    assert semantic_map_evidence([3, 9], [1, 4]) == "ID 9 covers 4 separate regions"
    assert semantic_map_evidence([3, 9], [1, 3]) is None
    assert semantic_map_evidence([1, 2], [2, 1], [1, 2]) == (
        "every ID equals its class's index and ID 1 covers 2 separate regions"
    )
    assert semantic_map_evidence([1, 2], [2, 1], [2, 1]) is None
    assert semantic_map_evidence([1, 2], [1, 1], [1, 2]) is None
    assert semantic_map_evidence([], []) is None
