"""tools/check_dataset.py reports every problem of a split in one pass, then a summary."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from solov2_plugin.datasets import write_seed_sample

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_dataset.py"


@pytest.fixture(scope="module")
def check_dataset():
    spec = importlib.util.spec_from_file_location("check_dataset_tool", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(root: Path, stem: str, ids, names=("disc", "block"), **kwargs) -> None:
    label_map = np.zeros((32, 48), np.int64)
    for k, label_id in enumerate(ids):
        label_map[2 + 6 * k : 6 + 6 * k, 3 : 10 + 5 * k] = label_id
    image = np.full((32, 48, 3), 90, np.uint8)
    classes = {label_id: names[k % len(names)] for k, label_id in enumerate(ids)}
    write_seed_sample(root, stem, image, label_map, classes, **kwargs)


def test_valid_split_passes_with_a_summary(tmp_path, check_dataset, capsys):
    root = tmp_path / "train"
    write(root, "a", (5, 9, 300))
    write(root, "b", (70000,))
    write(root, "c", ())
    (tmp_path / "classes.json").write_text(json.dumps({"background": 0, "disc": 1, "block": 2}))
    assert check_dataset.main([str(root)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert f"classes: {tmp_path / 'classes.json'}" in out
    assert "images: 3 (1 without instances)" in out
    assert "instances: 4 (per image: min 0, max 3)" in out
    assert "  disc   3" in out and "  block  1" in out
    assert "image sizes (HxW): 32x48 x3" in out
    for label_format in (".png 8-bit x1", ".png 16-bit x1", ".tif 32-bit x1"):
        assert label_format in out
    assert "0 problem(s), 0 warning(s); 3 of 3 paired sample(s) are valid." in out
    assert "checking" in captured.err


def test_every_problem_is_reported_in_one_pass(tmp_path, check_dataset, capsys):
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
    assert check_dataset.main([str(root), "--classes", "disc", "block", "--no-progress"]) == 1
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith("problem: ")]
    expected = [
        (root / "images" / "a.png", "has no labels/a"),
        (root / "annotations" / "orphan.json", "has no image"),
        (root / "annotations" / "b.json", "not valid JSON"),
        (ann_c, "'sphere' are not among"),
        (ann_c, "7 of the annotation do not occur"),
        (root / "images" / "d.png", "truncated"),
        (root / "labels" / "e.jpg", "lossy"),
    ]
    assert len(problems) == len(expected), out
    for path, phrase in expected:
        assert any(line.startswith(f"problem: {path}:") and phrase in line for line in problems), (
            path,
            phrase,
        )
    assert f"warning: {ann_f}: boxes of IDs [1]" in out
    assert "7 problem(s), 1 warning(s); 2 of 6 paired sample(s) are valid." in out
    assert "images: 2 (0 without instances)" in out


def test_missing_split_is_reported(tmp_path, check_dataset, capsys):
    assert check_dataset.main([str(tmp_path / "nowhere"), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert f"problem: {tmp_path / 'nowhere' / 'images'}: The images folder does not exist." in out
