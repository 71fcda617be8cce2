"""Whole splits to COCO JSON and back: identical label maps; COCO polygons in; errors name files."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from solov2_plugin.datasets import (
    SeedFormatError,
    read_annotation,
    read_label_map,
    write_coco_as_seed,
    write_seed_as_coco,
    write_seed_sample,
)

CLS_IND = {"background": 0, "disc": 1, "ring": 4}


def write_seed_split(root: Path) -> None:
    rng = np.random.default_rng(0)
    specs = {"a": (7, 300, 65000, 70000), "b": (2, 9), "c": ()}
    for stem, ids in specs.items():
        label_map = np.zeros((40, 56), np.int64)
        for k, label_id in enumerate(ids):
            y, x = 3 + 9 * k, 2 + 7 * k
            label_map[y : y + 8, x : x + 20] = label_id
        label_map[0, 55] = ids[-1] if ids else 0
        image = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
        names = {label_id: ("disc", "ring")[k % 2] for k, label_id in enumerate(ids)}
        write_seed_sample(root, stem, image, label_map, names, crowd_ids=ids[1:2] if ids else ())


def test_round_trip_gives_identical_label_maps_and_classes(tmp_path):
    source = tmp_path / "seed"
    write_seed_split(source)
    (tmp_path / "classes.json").write_text(json.dumps(CLS_IND))
    coco_json = tmp_path / "coco" / "train.json"
    written = write_seed_as_coco(source, coco_json, cls_ind=tmp_path / "classes.json")
    coco = json.loads(coco_json.read_text())
    assert coco == written
    assert [c["id"] for c in coco["categories"]] == [1, 4]
    assert len(coco["annotations"]) == 6 and all(
        isinstance(a["segmentation"]["counts"], str) for a in coco["annotations"]
    )
    back = tmp_path / "back"
    summary = write_coco_as_seed(coco_json, source / "images", back)
    assert (summary.images, summary.overlap_pixels, summary.dropped) == (3, 0, [])
    assert summary.cls_ind == CLS_IND
    assert json.loads((back / "classes.json").read_text()) == CLS_IND
    for stem, ext in (("a", ".tif"), ("b", ".png"), ("c", ".png")):
        original = read_label_map(source / "labels" / f"{stem}{ext}")
        assert np.array_equal(read_label_map(back / "labels" / f"{stem}{ext}"), original)
        assert read_annotation(back / "annotations" / f"{stem}.json") == read_annotation(
            source / "annotations" / f"{stem}.json"
        )
        image = back / "images" / f"{stem}.png"
        assert image.read_bytes() == (source / "images" / f"{stem}.png").read_bytes()


def test_coco_polygons_become_seed_samples(tmp_path):
    images = tmp_path / "coco_images"
    images.mkdir()
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(images / "x.jpg")
    polygon = [[3.0, 3.0, 20.0, 3.0, 20.0, 15.0, 3.0, 15.0]]
    rle = mask_utils.encode(
        np.asfortranarray(np.pad(np.ones((5, 5), np.uint8), ((20, 5), (30, 5))))
    )
    rle["counts"] = rle["counts"].decode()
    coco = dict(
        images=[dict(id=1, file_name="x.jpg", height=30, width=40)],
        annotations=[
            dict(id=1, image_id=1, category_id=8, segmentation=polygon, iscrowd=0),
            dict(id=2, image_id=1, category_id=3, segmentation=rle, iscrowd=0),
        ],
        categories=[dict(id=3, name="ring"), dict(id=8, name="rod")],
    )
    coco_json = tmp_path / "in.json"
    coco_json.write_text(json.dumps(coco))
    out = tmp_path / "seed"
    write_coco_as_seed(coco_json, images, out, label_ext=".bmp")
    label_map = read_label_map(out / "labels" / "x.bmp")
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygon, 30, 40)))
    assert np.array_equal(label_map == 1, expected.astype(bool))
    assert (label_map == 2).sum() == 25 and label_map[20:25, 30:35].min() == 2
    assert read_annotation(out / "annotations" / "x.json") == {
        1: {"class": "rod", "bbox": [3.0, 3.0, 20.0, 15.0], "iscrowd": False},
        2: {"class": "ring", "bbox": [30.0, 20.0, 35.0, 25.0], "iscrowd": False},
    }
    assert json.loads((out / "classes.json").read_text()) == {"background": 0, "ring": 3, "rod": 8}


def test_errors_name_the_file(tmp_path):
    coco = dict(images=[dict(id=1, file_name="gone.png", height=8, width=8)], categories=[])
    coco_json = tmp_path / "in.json"
    coco_json.write_text(json.dumps(coco))
    with pytest.raises(SeedFormatError) as info:
        write_coco_as_seed(coco_json, tmp_path, tmp_path / "out")
    assert str(info.value).startswith(f"{tmp_path / 'gone.png'}: The file does not exist.")
    coco["images"][0]["file_name"] = "x.gif"
    coco_json.write_text(json.dumps(coco))
    with pytest.raises(SeedFormatError, match="format .gif is not supported") as info:
        write_coco_as_seed(coco_json, tmp_path, tmp_path / "out")
    assert info.value.path == str(tmp_path / "x.gif")
    coco["categories"] = [dict(id=1, name="background")]
    coco_json.write_text(json.dumps(coco))
    with pytest.raises(SeedFormatError, match="reserves for label 0"):
        write_coco_as_seed(coco_json, tmp_path, tmp_path / "out")
    with pytest.raises(SeedFormatError, match="images folder does not exist"):
        write_seed_as_coco(tmp_path / "none", tmp_path / "x.json", classes=["a"])
