"""Dynamic export (about a minute of tracing): non-square inputs of other sizes than the trace."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from solov2_plugin.apis import read_image
from solov2_plugin.deploy.export_cli import main
from solov2_plugin.deploy.onnx_export import read_metadata

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
VAL_IMAGES = REPO / "data" / "demo" / "val" / "images"

pytestmark = pytest.mark.slow


def test_dynamic_export_agrees_on_other_sizes(tiny_checkpoint, keep_all, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name, (height, width) in [("val_0001", (256, 256)), ("val_0008", (200, 256))]:
        pixels = read_image(VAL_IMAGES / f"{name}.jpg")[:height, :width]
        Image.fromarray(np.ascontiguousarray(pixels)).save(images / f"{name}.png")
    # 150 x 90 is resized up to 256 x 154 by the demo's test pipeline.
    small = read_image(VAL_IMAGES / "val_0009.jpg")[:150, :90]
    Image.fromarray(np.ascontiguousarray(small)).save(images / "small.png")
    onnx_path, report_path = tmp_path / "dynamic.onnx", tmp_path / "agreement.json"
    status = main(
        [
            str(DEMO_CONFIG),
            str(tiny_checkpoint),
            str(onnx_path),
            "--dynamic",
            "--images",
            str(images),
            "--test-cfg",
            *[f"{key}={value}" for key, value in keep_all.items()],
            "--json",
            str(report_path),
            "--no-progress",
        ]
    )
    report = json.loads(report_path.read_text())
    assert status == 0 and report["passed"]
    assert report["reference"] == report["matched"] == 3 * keep_all["max_per_img"]
    assert report["extra"] == 0 and report["min_iou"] >= 0.99
    assert report["max_score_diff"] < 1e-4
    assert read_metadata(onnx_path)["dynamic"] is True
