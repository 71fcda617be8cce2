"""``tools/benchmark.py export`` logic on the tiny export (one image, one timed call)."""

from pathlib import Path

import pytest

from solov2_plugin.benchmark.export_bench import (
    ExportBenchConfig,
    format_export_report,
    images_from,
    run_export_benchmark,
    time_calls,
)

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"


def test_time_calls_counts_warmup_and_repeats():
    calls = []
    assert time_calls(calls.append, 7, warmup=2, repeats=3) >= 0
    assert calls == [7] * 5


def test_export_benchmark_reports_both_backends(tiny_export, tiny_checkpoint, keep_all):
    images = images_from(None, str(DEMO_CONFIG), 1)
    assert [p.name for p in images] == ["val_0000.jpg"]  # the config's val split, first image
    cfg = ExportBenchConfig(
        config=str(DEMO_CONFIG),
        checkpoint=str(tiny_checkpoint),
        images=images,
        onnx=str(tiny_export.onnx),
        threads=1,
        warmup=0,
        repeats=1,
        test_cfg=dict(keep_all),
    )
    report = run_export_benchmark(cfg)
    (row,) = report["per_image"]
    assert row["image"] == "val_0000.jpg"
    assert report["pytorch_ms"] == row["pytorch_ms"] > 0
    assert report["speedup"] == pytest.approx(row["pytorch_ms"] / row["onnxruntime_ms"])
    assert report["agreement"]["matched"] == report["agreement"]["reference"] == 8
    text = format_export_report(report)
    assert "| PyTorch eager (CPU) |" in text and "| onnxruntime (CPU) |" in text
    assert "8/8 PyTorch detections matched (0 extra)" in text


def test_export_benchmark_needs_images():
    cfg = ExportBenchConfig(config=str(DEMO_CONFIG), checkpoint="absent.pth", images=[])
    with pytest.raises(ValueError, match="--images"):
        run_export_benchmark(cfg)
