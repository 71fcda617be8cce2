"""tools/check_dataset.py, run as a command: the report on stdout, the exit status."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from solov2_plugin.datasets import write_seed_sample

REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "tools/check_dataset.py", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_valid_then_broken_split(tmp_path):
    root = tmp_path / "train"
    label_map = np.zeros((12, 16), np.int64)
    label_map[1:5, 2:9] = 7
    write_seed_sample(root, "a", np.zeros((12, 16, 3), np.uint8), label_map, {7: "disc"})
    (tmp_path / "classes.json").write_text(json.dumps({"background": 0, "disc": 1}))
    done = run(str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"classes: {tmp_path / 'classes.json'}"
    assert lines[-1] == "0 problem(s), 0 warning(s); 1 of 1 paired sample(s) are valid."
    assert "checking" in done.stderr
    (root / "annotations" / "a.json").write_text('{"7": {"class": 1}}')
    done = run(str(root), "--no-progress")
    assert done.returncode == 1 and done.stderr == ""
    assert (
        f'problem: {root / "annotations" / "a.json"}: Entry "7": "class" must be a class name '
        "string, got the integer 1 (use the name, one of 'disc')." in done.stdout
    )
    done = run(str(root), "--cls-ind", str(tmp_path / "none.json"))
    assert done.returncode == 1 and "problem: " in done.stdout and "none.json" in done.stdout
