"""Writing label maps, annotations and samples; reading them back gives the same."""

import json

import numpy as np
import pytest
from PIL import Image
from seed_samples import blocks_label_map

from solov2_plugin.datasets.seed_readers import read_annotation, read_label_map
from solov2_plugin.datasets.seed_writers import (
    annotation_from_label_map,
    write_label_map,
    write_seed_sample,
)

FORMATS = [
    (".png", 8, (7, 200, 255), np.uint8),
    (".png", 16, (7, 300, 65000), np.uint16),
    (".bmp", 8, (7, 40, 200), np.uint8),
    (".tif", 32, (7, 300, 65000, 70000), np.int32),
]


@pytest.mark.parametrize("ext, bits, ids, dtype", FORMATS)
def test_label_maps_round_trip_losslessly(tmp_path, ext, bits, ids, dtype):
    label_map = blocks_label_map(32, 48, ids)
    path = write_label_map(tmp_path / f"map{ext}", label_map, bits)
    read = read_label_map(path)
    assert read.dtype == dtype
    assert np.array_equal(read, label_map)
    assert Image.open(path).mode == {8: "L", 16: "I;16", 32: "I"}[bits]


def test_write_seed_sample_picks_the_smallest_lossless_format(tmp_path):
    image = np.zeros((16, 24, 3), np.uint8)
    names = {}
    for stem, ids in (("small", (7, 255)), ("mid", (7, 256)), ("big", (7, 65536))):
        names = {i: "disc" for i in ids}
        paths = write_seed_sample(tmp_path, stem, image, blocks_label_map(16, 24, ids), names)
        assert paths["seg"].name == {"small": "small.png", "mid": "mid.png", "big": "big.tif"}[stem]
        assert paths["img"] == tmp_path / "images" / f"{stem}.png"
    assert read_label_map(tmp_path / "labels" / "small.png").dtype == np.uint8
    assert read_label_map(tmp_path / "labels" / "mid.png").dtype == np.uint16


def test_written_annotation_has_mask_boxes_and_classes(tmp_path):
    label_map = np.zeros((10, 12), np.int64)
    label_map[2:5, 3:9] = 70000
    label_map[6, 0] = 4
    paths = write_seed_sample(
        tmp_path,
        "s",
        np.zeros((10, 12, 3), np.uint8),
        label_map,
        {4: "rod", 70000: "ring"},
        crowd_ids=(4,),
    )
    content = json.loads(paths["ann"].read_text())
    assert content == {
        "4": {"class": "rod", "bbox": [0, 6, 1, 7], "iscrowd": 1},
        "70000": {"class": "ring", "bbox": [3, 2, 9, 5]},
    }
    entries = read_annotation(paths["ann"])
    assert list(entries) == [4, 70000]
    assert entries[4] == {"class": "rod", "bbox": [0.0, 6.0, 1.0, 7.0], "iscrowd": True}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label_ext=".jpg"), "lossless"),
        (dict(label_ext=".bmp"), "cannot hold|stores IDs up to"),
        (dict(label_bits=8), "cannot hold"),
        (dict(image_ext=".gif"), "image_ext"),
    ],
)
def test_writer_refuses_formats_that_lose_ids(tmp_path, kwargs, message):
    label_map = blocks_label_map(30, 40, (300,))
    with pytest.raises(ValueError, match=message):
        write_seed_sample(
            tmp_path, "s", np.zeros((30, 40, 3), np.uint8), label_map, {300: "a"}, **kwargs
        )


def test_writer_checks_classes_against_the_map(tmp_path):
    label_map = blocks_label_map(30, 40, (1, 2))
    image = np.zeros((30, 40, 3), np.uint8)
    with pytest.raises(ValueError, match=r"missing \[2\], not in the map \[5\]"):
        write_seed_sample(tmp_path, "s", image, label_map, {1: "a", 5: "b"})
    with pytest.raises(ValueError, match="same height and width"):
        write_seed_sample(tmp_path, "s", image[:4], label_map, {1: "a", 2: "b"})
    with pytest.raises(ValueError, match="non-empty class names"):
        annotation_from_label_map(label_map, {1: "a", 2: ""})
