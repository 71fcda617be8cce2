"""Tests of tools/make_demo_data.py (the command line) and of the demo data under data/demo.

The generator itself (``solov2_plugin.demo``) is tested in tests/demo.
"""

import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from solov2_plugin.datasets import read_annotation, read_label_map
from solov2_plugin.demo import CLASSES, make_sample

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "make_demo_data.py"
DEMO = REPO / "data" / "demo"


def run_tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True)


def samples(split_dir):
    for ann_path in sorted((split_dir / "annotations").glob("*.json")):
        (label_path,) = (split_dir / "labels").glob(f"{ann_path.stem}.*")
        yield ann_path, label_path


def check_split(split_dir, min_pixels):
    """Check every sample of a split; return per-kind counts."""
    counts = Counter()
    for ann_path, label_path in samples(split_dir):
        label_map = read_label_map(label_path)
        annotation = read_annotation(ann_path)
        with Image.open(label_path) as label_image:
            counts[f"{label_path.suffix[1:]}{8 if label_image.mode == 'L' else 16}"] += 1
        ids = np.unique(label_map)
        ids = ids[ids > 0]
        assert sorted(annotation) == ids.tolist()
        counts["empty"] += not ids.size
        for label_id, entry in annotation.items():
            assert entry["class"] in CLASSES
            counts[entry["class"]] += 1
            mask = label_map == label_id
            assert mask.sum() >= min_pixels, f"{label_path}: ID {label_id} too small"
            pieces, _ = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
            assert pieces == 2, f"{label_path}: ID {label_id} is not one piece"
    return counts


def test_command_line_writes_the_data(tmp_path):
    result = run_tool("--out", str(tmp_path), "--num-train", "3", "--num-val", "1", "--size", "48")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'train'}: ") and "images 3" in lines[0]
    assert lines[1].startswith(f"{tmp_path / 'val'}: ") and "images 1" in lines[1]
    assert len(list((tmp_path / "train" / "images").iterdir())) == 3
    assert (tmp_path / "classes.json").is_file()


@pytest.mark.slow
def test_command_line_keeps_data_unless_overwrite_and_checks_size(tmp_path):
    arguments = ["--out", str(tmp_path), "--num-train", "2", "--num-val", "1", "--size", "48"]
    assert run_tool(*arguments).returncode == 0
    refused = run_tool(*arguments)
    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    again = run_tool(*arguments[:3], "1", *arguments[4:], "--overwrite")
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "train" / "images").iterdir())) == 1
    too_small = run_tool("--out", str(tmp_path / "x"), "--size", "8")
    assert too_small.returncode == 2 and "--size must be at least 32 px" in too_small.stderr


@pytest.mark.parametrize(("split", "index"), [("train", 1), ("train", 5), ("val", 3)])
def test_committed_demo_data_is_what_the_generator_makes(split, index):
    sample = make_sample(0, split, index)
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
    train = check_split(DEMO / "train", min_pixels=30)
    val = check_split(DEMO / "val", min_pixels=30)
    assert sum(1 for _ in samples(DEMO / "train")) == 80
    assert sum(1 for _ in samples(DEMO / "val")) == 20
    for counts, least in ((train, 100), (val, 20)):
        assert counts["empty"] >= 1
        assert min(counts["png8"], counts["png16"], counts["bmp8"]) >= 3
        assert min(counts[name] for name in CLASSES) >= least
    per_image = []
    sizes = []
    for ann_path, _ in samples(DEMO / "train"):
        boxes = np.array([e["bbox"] for e in read_annotation(ann_path).values()]).reshape(-1, 4)
        per_image.append(len(boxes))
        sizes.extend(np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    assert max(per_image) >= 15 and min(n for n in per_image if n) <= 3
    sizes = np.array(sizes)
    assert (sizes < 16).sum() >= 10 and (sizes > 80).sum() >= 10
    assert np.mean((sizes >= 16) & (sizes <= 100)) > 0.7
