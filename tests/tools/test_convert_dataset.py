"""tools/convert_dataset.py, run as a command: what it prints, writes and exits with.

The conversions themselves are tested through the package (tests/datasets/test_coco_files.py).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from solov2_plugin.datasets import write_seed_sample

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "tools/convert_dataset.py", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_seed2coco_writes_the_json_and_prints_its_counts(tmp_path):
    label_map = np.zeros((12, 16), np.int64)
    label_map[1:5, 2:9], label_map[6:11, 3:7] = 7, 300
    image = np.zeros((12, 16, 3), np.uint8)
    write_seed_sample(tmp_path / "seed", "a", image, label_map, {7: "a", 300: "b"})
    coco_json = tmp_path / "coco.json"
    done = run("seed2coco", str(tmp_path / "seed"), str(coco_json), "--classes", "a", "b")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{coco_json}: 1 images, 2 annotations, 2 categories\n"
    coco = json.loads(coco_json.read_text())
    assert [a["seed_label_id"] for a in coco["annotations"]] == [7, 300]
    assert [a["area"] for a in coco["annotations"]] == [28, 20]


def test_coco2seed_error_names_the_file_and_exits_non_zero(tmp_path):
    coco = dict(images=[dict(id=1, file_name="gone.png", height=8, width=8)], categories=[])
    (tmp_path / "in.json").write_text(json.dumps(coco))
    out = str(tmp_path / "out")
    done = run("coco2seed", str(tmp_path / "in.json"), str(tmp_path), out, "--no-progress")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith(f"error: {tmp_path / 'gone.png'}: The file does not exist.")
