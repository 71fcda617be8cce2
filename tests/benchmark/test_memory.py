"""solov2_plugin.benchmark.memory: RSS sampling, the report's arithmetic, short real runs."""

import argparse
import json
import math
import mmap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from solov2_plugin.benchmark.cli import write_json
from solov2_plugin.benchmark.memory import (
    MemorySample,
    RSSSampler,
    add_memory_arguments,
    demo_inputs,
    iteration_based,
    least_squares_slope,
    measure_inference,
    plot_memory,
    run_memory_command,
    slope_standard_error,
    summarize,
)

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
VAL_IMAGES = REPO / "data" / "demo" / "val" / "images"


def _memory_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_memory_arguments(parser)
    return parser.parse_args(list(argv))


def test_least_squares_slope_by_hand():
    # mean x 2.5, mean y 2.75; sum dx*dy = 2.625 - 0.125 - 0.375 + 3.375 = 5.5; sum dx^2 = 5.
    assert least_squares_slope([1, 2, 3, 4], [1, 3, 2, 5]) == pytest.approx(1.1)
    # Residuals of y = 2.75 + 1.1 (x - 2.5): -0.1, 0.8, -1.3, 0.6; squares sum to 2.7;
    # 2.7 / (4 - 2) / 5 = 0.27.
    assert slope_standard_error([1, 2, 3, 4], [1, 3, 2, 5]) == pytest.approx(math.sqrt(0.27))
    assert slope_standard_error([1, 2, 3], [1, 2, 3]) == 0.0
    assert slope_standard_error([1, 2], [1, 2]) is None
    assert least_squares_slope([1, 2, 3], [7, 7, 7]) == 0.0
    assert least_squares_slope([5], [1]) is None
    assert least_squares_slope([2, 2], [1, 3]) is None
    with pytest.raises(ValueError, match="3 abscissae but 2 ordinates"):
        least_squares_slope([1, 2, 3], [1, 2])


def test_summarize_known_series():
    # 20 samples: flat at 500 MiB for steps 1..10, then +0.02 MiB a step (2 MiB per 100 steps).
    samples = []
    for step in range(1, 21):
        rss = 500.0 + 0.02 * max(0, step - 10)
        samples.append(MemorySample(step, rss, rss + 1.0, children_mib=300.0 + 0.1 * step))
    samples[1].peak_mib = 520.0  # within the first 10% (2 samples)
    samples[18].peak_mib = 530.0  # within the last 10%
    report = summarize("training", samples, threshold_mib=1.0)
    assert report.steps == 20
    assert report.start_rss_mib == 500.0
    assert report.end_rss_mib == pytest.approx(500.2)
    assert report.first_peak_mib == 520.0
    assert report.last_peak_mib == 530.0
    # Second half: steps 11..20, exactly 0.02 MiB a step.
    assert report.growth_mib_per_100 == pytest.approx(2.0)
    assert report.growth_stderr_mib_per_100 == pytest.approx(0.0, abs=1e-9)  # on the line
    assert report.children_growth_mib_per_100 == pytest.approx(10.0)
    assert report.verdict == "growing"
    assert summarize("training", samples, threshold_mib=2.5).verdict == "flat"

    flat = summarize("inference", [MemorySample(s, 400.0, 410.0) for s in range(1, 11)])
    assert flat.growth_mib_per_100 == 0.0 and flat.verdict == "flat"
    assert flat.first_peak_mib == flat.last_peak_mib == 410.0

    row = report.as_dict()
    assert row["sample_columns"] == ["step", "rss_mib", "peak_mib", "children_mib"]
    assert row["samples"][1] == [2, 500.0, 520.0, 300.2]
    assert json.loads(json.dumps(row))["verdict"] == "growing"

    single = summarize("inference", [MemorySample(1, 400.0, 400.0)])
    assert single.growth_mib_per_100 is None and single.verdict == "unknown"
    with pytest.raises(ValueError, match="no samples"):
        summarize("inference", [])


def test_sampler_keeps_every_nth_step_and_sees_a_transient_64_mib():
    sampler = RSSSampler(every=3)
    buffer = None
    for step in range(1, 11):
        if step == 5:  # 64 MiB touched at step 5, unmapped after the sample of step 6
            # An anonymous mapping of its own: malloc could hand back pages already resident.
            buffer = mmap.mmap(-1, 64 * 2**20)
            pages = np.frombuffer(buffer, dtype=np.uint8)
            pages[:] = 1
            assert int(pages[::4096].sum()) == 16384
            del pages
        sampler.sample(step, force=step == 10)
        if step == 6:
            buffer.close()
    assert [s.step for s in sampler.samples] == [3, 6, 9, 10]
    assert all(s.peak_mib >= s.rss_mib > 0 for s in sampler.samples)
    assert sampler.samples[1].rss_mib - sampler.samples[0].rss_mib >= 60.0  # held at step 6
    if sampler.peak_kind == "since_previous":
        # Freed by step 9, yet the peak since step 6 (reset to the RSS holding it) shows it.
        gone = sampler.samples[2]
        assert gone.peak_mib - gone.rss_mib >= 60.0
    with pytest.raises(ValueError, match="every must be >= 1"):
        RSSSampler(every=0)


def test_demo_inputs_paths_then_resized_arrays():
    inputs = demo_inputs([VAL_IMAGES], extra_sizes=((97, 131), (40, 30)))
    paths = sorted(str(p) for p in VAL_IMAGES.iterdir())  # .jpg and .png
    assert inputs[:-2] == paths
    assert [a.shape for a in inputs[-2:]] == [(97, 131, 3), (40, 30, 3)]
    assert all(a.dtype == np.uint8 for a in inputs[-2:])
    with pytest.raises(FileNotFoundError, match="no image files"):
        demo_inputs([REPO / "configs"])


def test_short_inference_run_cycles_the_inputs(predictor):
    inputs = demo_inputs([VAL_IMAGES], extra_sizes=((97, 131),))[-2:]  # one path, one array
    seen, counts = [], []

    def predict(image):
        seen.append(0 if isinstance(image, str) else 1)
        result = predictor(image)
        counts.append(len(result.scores))
        return result

    report = measure_inference(predict, inputs, steps=5)
    assert report.kind == "inference" and report.steps == 5
    assert [s.step for s in report.samples] == [1, 2, 3, 4, 5]
    assert seen == [0, 1, 0, 1, 0]
    assert report.settings["detections_per_image"] == pytest.approx(sum(counts) / 5)


def test_iteration_based_config():
    from mmengine.config import Config

    cfg = iteration_based(Config.fromfile(str(DEMO_CONFIG)), 30, batch_size=2, num_workers=2)
    assert cfg.train_cfg == dict(type="IterBasedTrainLoop", max_iters=30, val_interval=30)
    assert cfg.val_cfg is None and cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.param_scheduler[0]["end"] == 30
    assert cfg.default_hooks.checkpoint.interval == 30
    assert cfg.default_hooks.checkpoint.by_epoch is False
    assert cfg.default_hooks.logger.interval == 50
    validated = iteration_based(Config.fromfile(str(DEMO_CONFIG)), 1000, val_interval=250)
    assert validated.train_cfg.val_interval == 250
    assert validated.val_dataloader.num_workers == 0
    assert validated.param_scheduler[0]["end"] == 50


def test_short_training_run_from_the_command(tmp_path):
    args = _memory_args(
        "--runs",
        "training",
        "--config",
        str(DEMO_CONFIG),
        "--steps",
        "3",
        "--threads",
        "0",  # leave torch's threads as they are for the rest of the session
        "--work-dir",
        str(tmp_path / "work"),
        "--json",
        str(tmp_path / "memory.json"),
        "--plot",
        str(tmp_path / "memory.png"),
    )
    assert run_memory_command(args) == 0
    report = json.loads((tmp_path / "memory.json").read_text())["reports"][0]
    assert report["kind"] == "training" and report["steps"] == 3
    assert [row[0] for row in report["samples"]] == [1, 2, 3]
    assert report["settings"]["batch_size"] == 2 and report["settings"]["num_workers"] == 0
    checkpoints = sorted(p.name for p in (tmp_path / "work" / "workers_0").glob("*.pth"))
    assert checkpoints == ["iter_3.pth"]  # one checkpoint, at the end
    assert imread(str(tmp_path / "memory.png")).shape[:2] == (352, 880)  # 8 x 3.2 in, 110 dpi


def test_plot_two_runs(tmp_path):
    samples = [MemorySample(s, 400.0 + s, 410.0 + s, 100.0) for s in range(1, 6)]
    reports = [summarize("inference", samples), summarize("training", samples).as_dict()]
    plot_memory(reports, str(tmp_path / "two.png"))
    assert imread(str(tmp_path / "two.png")).shape[:2] == (704, 880)
    rows = [report if isinstance(report, dict) else report.as_dict() for report in reports]
    write_json(dict(reports=rows), str(tmp_path / "two.json"))
    again = str(tmp_path / "again.png")
    replot = _memory_args("--plot-from", str(tmp_path / "two.json"), "--plot", again)
    assert run_memory_command(replot) == 0
    assert imread(again).shape[:2] == (704, 880)


def test_command_refuses_bad_options(capsys, tmp_path):
    assert run_memory_command(_memory_args("--runs", "inference,speed")) == 1
    err = capsys.readouterr().err
    assert "unknown ['speed']" in err
    assert "--checkpoint missing" in err and "tools/train.py" in err
    missing = str(tmp_path / "none.pth")
    assert run_memory_command(_memory_args("--runs", "inference", "--checkpoint", missing)) == 1
    assert f"--checkpoint {missing}: no such file" in capsys.readouterr().err
    assert run_memory_command(_memory_args("--plot-from", missing, "--plot", missing)) == 1
    assert "write it with 'memory --json'" in capsys.readouterr().err
