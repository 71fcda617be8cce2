"""tools/convert_dataset.py, run as a command: seed2coco and coco2seed, errors on stderr."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from solov2_plugin.datasets import read_label_map, write_seed_sample

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "tools/convert_dataset.py", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_round_trip_through_the_command_line(tmp_path):
    label_map = np.zeros((12, 16), np.int64)
    label_map[1:5, 2:9], label_map[6:11, 3:7] = 7, 300
    write_seed_sample(
        tmp_path / "seed", "a", np.zeros((12, 16, 3), np.uint8), label_map, {7: "a", 300: "b"}
    )
    coco_json = tmp_path / "coco.json"
    done = run("seed2coco", str(tmp_path / "seed"), str(coco_json), "--classes", "a", "b")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{coco_json}: 1 images, 2 annotations, 2 categories\n"
    images = str(tmp_path / "seed" / "images")
    done = run("coco2seed", str(coco_json), images, str(tmp_path / "back"), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(
        "1 images, 2 classes (classes.json); 0 overlapping pixels, 0 annotations dropped\n"
    )
    assert np.array_equal(read_label_map(tmp_path / "back" / "labels" / "a.png"), label_map)
    assert json.loads((tmp_path / "back" / "classes.json").read_text()) == {
        "background": 0,
        "a": 1,
        "b": 2,
    }


def test_errors_name_the_file_and_exit_non_zero(tmp_path):
    done = run("seed2coco", str(tmp_path / "none"), "x.json", "--classes", "a")
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {tmp_path / 'none' / 'images'}: The images folder")
