"""check_split reports every problem of a split in one pass, the warnings, then a summary."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from solov2_plugin.datasets import check_split, write_seed_sample


def write(root: Path, stem: str, ids, names=("disc", "block"), **kwargs) -> None:
    label_map = np.zeros((32, 48), np.int64)
    for k, label_id in enumerate(ids):
        label_map[2 + 6 * k : 6 + 6 * k, 3 : 10 + 5 * k] = label_id
    image = np.full((32, 48, 3), 90, np.uint8)
    classes = {label_id: names[k % len(names)] for k, label_id in enumerate(ids)}
    write_seed_sample(root, stem, image, label_map, classes, **kwargs)


def test_valid_split_passes_with_a_summary(tmp_path):
    root = tmp_path / "train"
    write(root, "a", (5, 9, 300))
    write(root, "b", (70000,))
    write(root, "c", ())
    (tmp_path / "classes.json").write_text(json.dumps({"background": 0, "disc": 1, "block": 2}))
    report = check_split(root)
    assert report.exit_status == 0 and report.paired == 3 and len(report.samples) == 3
    assert report.classes == ["disc", "block"] and report.classes_file == tmp_path / "classes.json"
    assert report.lines() == [
        f"classes: {tmp_path / 'classes.json'}",
        "images: 3 (1 without instances)",
        "instances: 4 (per image: min 0, max 3)",
        "instances per class:",
        "  disc   3",
        "  block  1",
        "image sizes (HxW): 32x48 x3",
        "image kinds: 8-bit RGB x3",
        "label maps: .png 16-bit x1, .tif 32-bit x1, .png 8-bit x1",
        # areas 4x7, 4x12, 4x17 and 4x7 px: sqrt 5.3, 6.9, 8.2, 5.3
        "instance size sqrt(area) px: min 5, median 6, max 8; COCO small/medium/large: 4/0/0",
        "0 problem(s), 0 warning(s); 3 of 3 paired sample(s) are valid.",
    ]


def test_every_problem_is_reported_in_one_pass(tmp_path):
    root = tmp_path / "val"
    for stem in "abcdefg":
        write(root, stem, (1, 2))
    (root / "labels" / "a.png").unlink()
    (root / "annotations" / "orphan.json").write_text("{}")
    (root / "annotations" / "b.json").write_text('{"1": {"class": "disc"')
    ann_c = root / "annotations" / "c.json"
    content = json.loads(ann_c.read_text())
    content["2"]["class"] = "sphere"
    content["7"] = {"class": "disc"}
    ann_c.write_text(json.dumps(content))
    (root / "images" / "d.png").write_bytes((root / "images" / "d.png").read_bytes()[:-60])
    label_e = root / "labels" / "e.png"
    label_e.rename(root / "labels" / "e.jpg")
    ann_f = root / "annotations" / "f.json"
    content = json.loads(ann_f.read_text())
    content["1"]["bbox"][2] += 6
    ann_f.write_text(json.dumps(content))
    report = check_split(root, classes=["disc", "block"])
    expected = [
        (root / "images" / "a.png", "has no labels/a.<png|bmp|tif|tiff>"),
        (root / "annotations" / "orphan.json", "has no image"),
        (root / "annotations" / "b.json", "not valid JSON"),
        (ann_c, "'sphere' are not among"),
        (ann_c, "7 of the annotation do not occur"),
        (root / "images" / "d.png", "truncated"),
        (root / "labels" / "e.jpg", "lossy"),
    ]
    assert [Path(p.path) for p in report.problems] == [path for path, _ in expected]
    assert all(phrase in str(p) for p, (_, phrase) in zip(report.problems, expected))
    assert report.warnings == [
        f"{ann_f}: boxes of IDs [1] differ from their masks by more than 2.0 px (the masks' "
        "boxes are used)."
    ]
    lines = report.lines()
    assert lines[-1] == "7 problem(s), 1 warning(s); 2 of 6 paired sample(s) are valid."
    assert "images: 2 (0 without instances)" in lines and report.exit_status == 1


def test_missing_split_is_reported(tmp_path):
    report = check_split(tmp_path / "nowhere")
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'nowhere' / folder}: The {folder} folder does not exist. A split folder "
        "(data_root) must hold images/, labels/ and annotations/; check data_root and "
        "data_prefix."
        for folder in ("images", "labels", "annotations")
    ]


def test_deep_greyscale_images_and_semantic_maps_are_warned_about(tmp_path):
    root = tmp_path / "split"
    write(root, "a", (1, 2))
    write(root, "b", (1, 2))
    Image.fromarray(np.full((32, 48), 1728, np.uint16)).save(root / "images" / "a.png")
    Image.fromarray(np.full((32, 48), 80, np.uint8)).save(root / "images" / "b.png")
    label_map = np.zeros((32, 48), np.int64)
    for x in (0, 10, 20, 30):
        label_map[0:5, x : x + 5] = 2
    write_seed_sample(root, "c", np.zeros((32, 48, 3), np.uint8), label_map, {2: "block"})
    report = check_split(root, classes=["disc", "block"])
    assert report.exit_status == 0
    assert "image kinds: 16-bit greyscale x1, 8-bit greyscale x1, 8-bit RGB x1" in report.lines()
    semantic, deep, grey = report.warnings
    assert semantic.startswith(
        f"1 label map(s) look like semantic (class) maps: {root / 'labels' / 'c.png'} "
        "(ID 2 covers 4 separate regions). An instance map needs one ID per object."
    )
    assert deep.startswith(
        f"1 image(s) have more than 8 bits per channel: {root / 'images' / 'a.png'} "
        "(16-bit greyscale). mmcv's LoadImageFromFile keeps only their high byte"
    )
    assert "dict(type='LoadSeedImage')" in deep
    assert grey.startswith(f"1 image(s) are greyscale: {root / 'images' / 'b.png'}. ")
