"""Fixtures of the deployment tests: the tiny checkpoint exported once, checked once.

``tiny_export`` runs ``tools/export_onnx.py``'s ``main`` in-process (a static graph: the demo
val images are all 256 x 256, and a static trace takes seconds where a dynamic one takes a
minute): the tiny checkpoint with the ``keep_all`` settings, checked on 3 demo val images.
"""

import json
from pathlib import Path
from typing import NamedTuple

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
VAL_IMAGES = REPO / "data" / "demo" / "val" / "images"


class TinyExport(NamedTuple):
    """The export tool's run on the tiny checkpoint."""

    onnx: Path
    exit_status: int
    report: dict


def keep_all_args(keep_all: dict) -> list:
    """``--test-cfg`` items of the ``keep_all`` settings."""
    return [f"{key}={value}" for key, value in keep_all.items()]


@pytest.fixture(scope="session")
def tiny_export(tiny_checkpoint: Path, keep_all: dict, tmp_path_factory) -> TinyExport:
    """The tiny checkpoint exported (static) and checked on 3 demo val images."""
    from solov2_plugin.deploy.export_cli import main

    out = tmp_path_factory.mktemp("onnx")
    onnx_path, report = out / "tiny.onnx", out / "agreement.json"
    status = main(
        [
            str(DEMO_CONFIG),
            str(tiny_checkpoint),
            str(onnx_path),
            "--images",
            str(VAL_IMAGES),
            "--max-images",
            "3",
            "--test-cfg",
            *keep_all_args(keep_all),
            "--json",
            str(report),
            "--no-progress",
        ]
    )
    return TinyExport(onnx_path, status, json.loads(report.read_text()))
