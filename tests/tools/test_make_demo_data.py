"""Tests of tools/make_demo_data.py and of the demo data committed under data/demo."""

import importlib.util
import io
import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from solov2_plugin.datasets.seed_io import read_annotation, read_label_map

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
CLASSES = ("disc", "block", "triangle", "ring", "rod")


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "make_demo_data", REPO / "tools" / "make_demo_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_data(tool, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    counts = tool.make_demo_data(out, seed=3, num_train=6, num_val=3, size=64)
    return out, counts


def _files(root):
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _samples(split_dir):
    for ann_path in sorted((split_dir / "annotations").glob("*.json")):
        (label_path,) = (split_dir / "labels").glob(f"{ann_path.stem}.*")
        yield ann_path, label_path


def _check_split(split_dir, min_pixels):
    """Check every sample of a split; return per-kind counts."""
    counts = Counter()
    for ann_path, label_path in _samples(split_dir):
        (image_path,) = (split_dir / "images").glob(f"{ann_path.stem}.*")
        label_map = read_label_map(label_path)
        annotation = read_annotation(ann_path)
        with Image.open(image_path) as image:
            assert image.mode == "RGB"
            assert image.size == label_map.shape[::-1]
        with Image.open(label_path) as label_image:
            kind = f"{label_path.suffix[1:]}{8 if label_image.mode == 'L' else 16}"
        counts[kind] += 1
        ids = np.unique(label_map)
        ids = ids[ids > 0]
        assert sorted(annotation) == ids.tolist()
        if kind == "png16" and ids.size:
            assert ids.min() > 255
        if not ids.size:
            counts["empty"] += 1
        for label_id, entry in annotation.items():
            assert entry["class"] in CLASSES
            counts[entry["class"]] += 1
            mask = label_map == label_id
            assert mask.sum() >= min_pixels, f"{label_path}: ID {label_id} too small"
            pieces, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            assert pieces == 2, f"{label_path}: ID {label_id} is not one piece"
            rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
            assert entry["bbox"] == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
    return counts


def test_same_seed_gives_identical_files(tool, tiny_data, tmp_path):
    out, _ = tiny_data
    tool.make_demo_data(tmp_path / "again", seed=3, num_train=6, num_val=3, size=64)
    assert _files(tmp_path / "again") == _files(out)
    tool.make_demo_data(tmp_path / "other", seed=4, num_train=6, num_val=3, size=64)
    other = _files(tmp_path / "other")
    assert other.keys() == _files(out).keys()
    assert other["train/images/train_0001.jpg"] != _files(out)["train/images/train_0001.jpg"]


def test_a_sample_does_not_depend_on_the_split_size(tool, tiny_data, tmp_path):
    out, _ = tiny_data
    tool.make_demo_data(tmp_path / "short", seed=3, num_train=2, num_val=1, size=64)
    short = _files(tmp_path / "short")
    full = _files(out)
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
        found = _check_split(out / split, min_pixels=6)
        assert found["empty"] >= 1
        assert found["png8"] >= 1 and found["png16"] >= 1 and found["bmp8"] >= 1
        assert counts[split]["images"] == number
        assert counts[split]["images/jpg"] + counts[split]["images/png"] == number
        assert counts[split]["instances"] == sum(found[name] for name in CLASSES)
    assert counts["train"]["instances"] > 10


def test_existing_data_is_kept_unless_overwrite(tool, tmp_path, capsys):
    arguments = ["--out", str(tmp_path), "--num-train", "3", "--num-val", "1", "--size", "48"]
    assert tool.main(arguments) == 0
    assert "train: " in capsys.readouterr().out
    assert tool.main(arguments) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert tool.main([*arguments[:3], "1", *arguments[4:], "--overwrite"]) == 0
    assert len(list((tmp_path / "train" / "images").iterdir())) == 1
    with pytest.raises(SystemExit):
        tool.parse_args(["--size", "8"])


@pytest.mark.parametrize(("split", "index"), [("train", 1), ("train", 5), ("val", 3)])
def test_committed_demo_data_is_what_the_tool_makes(tool, split, index):
    sample = tool.make_sample(0, split, index)
    stem = f"{split}_{index:04d}"
    with Image.open(DEMO / split / "images" / f"{stem}{sample.image_ext}") as image:
        stored = np.asarray(image).astype(int)
    if sample.image_ext == ".png":
        np.testing.assert_array_equal(stored, sample.image)
    else:
        encoded = io.BytesIO()
        Image.fromarray(sample.image).save(encoded, format="JPEG")
        with Image.open(encoded) as image:
            expected = np.asarray(image).astype(int)
        # The same encoder gives the same pixels; allow for another libjpeg's rounding.
        assert np.abs(stored - expected).mean() < 0.5
    label_map = read_label_map(DEMO / split / "labels" / f"{stem}{sample.label_ext}")
    np.testing.assert_array_equal(label_map, sample.label_map)
    annotation = read_annotation(DEMO / split / "annotations" / f"{stem}.json")
    assert {key: entry["class"] for key, entry in annotation.items()} == sample.classes_by_id


def test_committed_demo_data_is_varied():
    train = _check_split(DEMO / "train", min_pixels=30)
    val = _check_split(DEMO / "val", min_pixels=30)
    assert sum(1 for _ in _samples(DEMO / "train")) == 80
    assert sum(1 for _ in _samples(DEMO / "val")) == 20
    for counts, least in ((train, 100), (val, 20)):
        assert counts["empty"] >= 1
        assert min(counts["png8"], counts["png16"], counts["bmp8"]) >= 3
        assert min(counts[name] for name in CLASSES) >= least
    per_image = []
    sizes = []
    for ann_path, _ in _samples(DEMO / "train"):
        boxes = np.array([e["bbox"] for e in read_annotation(ann_path).values()]).reshape(-1, 4)
        per_image.append(len(boxes))
        sizes.extend(np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    assert max(per_image) >= 15 and min(n for n in per_image if n) <= 3
    sizes = np.array(sizes)
    assert (sizes < 16).sum() >= 10 and (sizes > 80).sum() >= 10
    assert np.mean((sizes >= 16) & (sizes <= 100)) > 0.7
