"""Tests of solov2_plugin.demo.writer: a whole demo data set on disk."""

import json
from collections import Counter

import cv2
import numpy as np
import pytest
from PIL import Image

from solov2_plugin.datasets import read_annotation, read_label_map
from solov2_plugin.demo import CLASSES, make_demo_data


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    counts = make_demo_data(out, seed=3, num_train=6, num_val=3, size=64)
    return out, counts


def files(root):
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def check_split(split_dir, min_pixels):
    """Check every sample of a split; return per-kind counts."""
    counts = Counter()
    for ann_path in sorted((split_dir / "annotations").glob("*.json")):
        (label_path,) = (split_dir / "labels").glob(f"{ann_path.stem}.*")
        (image_path,) = (split_dir / "images").glob(f"{ann_path.stem}.*")
        label_map = read_label_map(label_path)
        annotation = read_annotation(ann_path)
        with Image.open(image_path) as image:
            assert image.mode == "RGB" and image.size == label_map.shape[::-1]
        with Image.open(label_path) as label_image:
            kind = f"{label_path.suffix[1:]}{8 if label_image.mode == 'L' else 16}"
        counts[kind] += 1
        ids = np.unique(label_map)
        ids = ids[ids > 0]
        assert sorted(annotation) == ids.tolist()
        if kind == "png16" and ids.size:
            assert ids.min() > 255
        counts["empty"] += not ids.size
        for label_id, entry in annotation.items():
            counts[entry["class"]] += 1
            mask = label_map == label_id
            assert mask.sum() >= min_pixels
            assert cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[0] == 2
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert entry["bbox"] == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
    return counts


def test_same_seed_gives_identical_files(tiny_data, tmp_path):
    out, _ = tiny_data
    make_demo_data(tmp_path / "again", seed=3, num_train=6, num_val=3, size=64)
    assert files(tmp_path / "again") == files(out)
    make_demo_data(tmp_path / "other", seed=4, num_train=6, num_val=3, size=64)
    other = files(tmp_path / "other")
    assert other.keys() == files(out).keys()
    assert other["train/images/train_0001.jpg"] != files(out)["train/images/train_0001.jpg"]


def test_a_sample_does_not_depend_on_the_split_size(tiny_data, tmp_path):
    out, _ = tiny_data
    make_demo_data(tmp_path / "short", seed=3, num_train=2, num_val=1, size=64)
    short = files(tmp_path / "short")
    full = files(out)
    assert len(short) == 3 * 3 + 1
    assert all(full[name] == data for name, data in short.items())


def test_tiny_splits_hold_every_kind_of_sample(tiny_data):
    out, counts = tiny_data
    assert json.loads((out / "classes.json").read_text()) == {
        "background": 0,
        "disc": 1,
        "block": 2,
        "triangle": 3,
        "ring": 4,
        "rod": 5,
    }
    for split, number in (("train", 6), ("val", 3)):
        found = check_split(out / split, min_pixels=6)
        assert found["empty"] == 1  # index 0 of every 40
        assert found["png8"] >= 1 and found["png16"] >= 1 and found["bmp8"] >= 1
        assert counts[split]["images"] == number
        assert counts[split]["images/jpg"] + counts[split]["images/png"] == number
        assert counts[split]["instances"] == sum(found[name] for name in CLASSES)
        assert counts[split]["density/empty"] == 1
    # train indices 0..5: label formats png8, png16, bmp8, png8, png16, png8.
    assert (counts["train"]["labels/png8"], counts["train"]["labels/png16"]) == (3, 2)
    assert counts["train"]["labels/bmp8"] == 1
    assert counts["train"]["images/png"] == 1  # index 5
    assert counts["train"]["instances"] > 10


def test_existing_data_is_kept_unless_overwrite(tmp_path):
    make_demo_data(tmp_path, num_train=3, num_val=1, size=48)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        make_demo_data(tmp_path, num_train=3, num_val=1, size=48)
    make_demo_data(tmp_path, num_train=1, num_val=1, size=48, overwrite=True)
    assert len(list((tmp_path / "train" / "images").iterdir())) == 1


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match="size must be at least 32 px to hold the objects, got 8"):
        make_demo_data(tmp_path, size=8)
    with pytest.raises(ValueError, match="num_train=-1"):
        make_demo_data(tmp_path, num_train=-1)
    assert not any(tmp_path.iterdir())
