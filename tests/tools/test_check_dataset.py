"""tools/check_dataset.py, run as a command: the report on stdout, progress on stderr, exit 1.

The report itself is tested through the package (tests/datasets/test_check_report.py); one
run here covers the wrapper: classes.json found, every line printed, the exit status.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from solov2_plugin.datasets import write_seed_sample

REPO = Path(__file__).resolve().parents[2]


def test_report_of_a_broken_split_and_its_exit_status(tmp_path):
    root = tmp_path / "train"
    label_map = np.zeros((12, 16), np.int64)
    label_map[1:5, 2:9] = 7
    for stem in ("a", "b"):
        write_seed_sample(root, stem, np.zeros((12, 16, 3), np.uint8), label_map, {7: "disc"})
    (tmp_path / "classes.json").write_text(json.dumps({"background": 0, "disc": 1}))
    (root / "annotations" / "a.json").write_text('{"7": {"class": 1}}')
    command = [sys.executable, "tools/check_dataset.py", str(root)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"classes: {tmp_path / 'classes.json'}"
    assert lines[1:3] == [
        "images: 1 (0 without instances)",
        "instances: 1 (per image: min 1, max 1)",
    ]
    assert lines[-2:] == [
        f'problem: {root / "annotations" / "a.json"}: Entry "7": "class" must be a class name '
        "string, got the integer 1 (use the name, one of 'disc'). Each entry must read "
        '"<label id>": {"class": "<name>", "bbox": [x0, y0, x1, y1]}.',
        "1 problem(s), 0 warning(s); 1 of 2 paired sample(s) are valid.",
    ]
    assert "checking" in done.stderr
