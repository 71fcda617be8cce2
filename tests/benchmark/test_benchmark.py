"""solov2_plugin.benchmark: measurement, agreement, the model benchmark and the command line."""

import json
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from solov2_plugin.benchmark import compare_detections, measure
from solov2_plugin.benchmark.agreement import compare_training
from solov2_plugin.benchmark.cli import COMMANDS, main
from solov2_plugin.benchmark.flops import conv_flops, count_flops
from solov2_plugin.benchmark.measure import measure_interleaved, peak_memory, ratio
from solov2_plugin.benchmark.model_bench import ModelBenchConfig, format_report, run_model_benchmark
from solov2_plugin.benchmark.profiling import profile_call

CPU = torch.device("cpu")


def test_measure_calls_warmup_repeats_and_one_memory_call():
    calls = []
    result = measure(lambda: calls.append(1), CPU, warmup=2, repeats=3)
    assert len(calls) == 2 + 3 + 1
    assert result.repeats == 3 and 0 <= result.min_ms <= result.median_ms
    assert measure(lambda: calls.append(1), CPU, 0, 1, memory=False).peak_kind == "none"
    with pytest.raises(ValueError, match="repeats >= 1"):
        measure(lambda: None, CPU, repeats=0)


def test_cpu_peak_memory_sees_a_64_mib_buffer():
    def allocate():
        buffer = np.ones(64 * 2**20, dtype=np.uint8)  # touched pages count in the RSS
        return int(buffer[::4096].sum())

    peak, delta, kind = peak_memory(allocate, CPU)
    assert kind in ("rss", "rss_lifetime")
    if kind == "rss":
        assert 60 * 2**20 <= delta <= peak
    assert ratio(10.0, 4.0) == 2.5 and ratio(None, 1.0) is None and ratio(1.0, 0.0) is None


def detections(labels, scores, boxes, size=(8, 8)):
    masks = torch.zeros(len(labels), *size, dtype=torch.bool)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes):
        mask[y1:y2, x1:x2] = True
    return InstanceData(
        masks=masks, labels=torch.tensor(labels), scores=torch.tensor(scores, dtype=torch.float32)
    )


def test_compare_detections_by_hand():
    ref = detections([1, 2], [0.9, 0.5], [(0, 0, 4, 4), (4, 4, 8, 8)])
    same = compare_detections([ref], [ref])
    assert same["identical"] == 1.0 and same["matched"] == 1.0 and same["mean_iou"] == 1.0
    # The first mask loses 4 of its 16 pixels: IoU 12/16, 4 of 128 pixels differ.
    other = detections([1, 2], [0.9, 0.5], [(0, 0, 4, 3), (4, 4, 8, 8)])
    out = compare_detections([ref], [other])
    assert out["identical"] == 0.0 and out["mask_pixel_diff"] == 4 / 128
    assert out["matched"] == 1.0 and out["mean_iou"] == (12 / 16 + 1) / 2
    # A different label: the pair no longer matches; a different count: aligned values undefined.
    relabelled = detections([1, 3], [0.9, 0.5], [(0, 0, 4, 4), (4, 4, 8, 8)])
    assert compare_detections([ref], [relabelled])["matched"] == 0.5
    fewer = compare_detections([ref], [detections([1], [0.9], [(0, 0, 4, 4)])])
    assert fewer["identical"] == 0.0 and math.isnan(fewer["max_score_diff"])
    assert fewer["num_ref"] == 2 and fewer["num_other"] == 1 and fewer["matched"] == 0.5
    with pytest.raises(ValueError, match="2 reference images but 1"):
        compare_detections([ref, ref], [ref])


def test_compare_training_by_hand():
    ref_losses, ref_grads = dict(loss_a=2.0, loss_b=4.0), torch.tensor([3.0, 4.0])
    same = compare_training(ref_losses, ref_grads, dict(ref_losses), ref_grads.clone())
    assert same == dict(max_loss_rel_diff=0.0, grad_cosine=1.0, grad_rel_diff=0.0)
    # loss_a off by 0.1 (5%), loss_b off by 0.1 (2.5%); the gradient turned by 90 degrees:
    # (4, -3) - (3, 4) = (1, -7), of norm sqrt(50), over the reference's norm 5.
    out = compare_training(
        ref_losses, ref_grads, dict(loss_a=2.1, loss_b=3.9), torch.tensor([4.0, -3.0])
    )
    assert out["max_loss_rel_diff"] == pytest.approx(0.05)
    assert out["grad_cosine"] == pytest.approx(0.0, abs=1e-12)
    assert out["grad_rel_diff"] == pytest.approx(math.sqrt(50) / 5)


def test_training_rows_of_the_eager_variants():
    cfg = ModelBenchConfig(size=(64, 96), instances=3, warmup=0, repeats=1, shrink=True)
    cfg.measures, cfg.variants = ["train_step"], ["bf16", "channels_last", "compile"]
    report = run_model_benchmark(cfg)
    assert report["variants"]["compile"] == dict(
        error="ValueError: compile times inference only: add inference to --measures"
    )
    bf16, channels_last = report["variants"]["bf16"], report["variants"]["channels_last"]
    for row in (bf16, channels_last):
        assert set(row) == {"train_step", "train_agreement"}  # no inference row asked for
        assert row["train_step"]["repeats"] == 1
    # channels_last changes the memory layout only: the same step up to summation order.
    assert channels_last["train_agreement"]["max_loss_rel_diff"] < 1e-5
    assert channels_last["train_agreement"]["grad_cosine"] > 0.99999
    # bfloat16 keeps about 3 significant digits in the network: close, not the same.
    bf16_agree = bf16["train_agreement"]
    assert 0 < bf16_agree["max_loss_rel_diff"] < 0.05
    assert 0.9 < bf16_agree["grad_cosine"] < 0.99999
    text = format_report(report)
    assert "ours bf16           train_step" in text and "x mmdet fp32, losses within" in text


def test_model_benchmark_reports_identical_detections():
    cfg = ModelBenchConfig(
        size=(64, 96), instances=3, warmup=0, repeats=1, shrink=True, category_bias=-3.0
    )
    cfg.measures = ["inference"]
    report = run_model_benchmark(cfg)
    assert set(report["results"]["ours"]) == set(report["results"]["mmdet"]) == {"inference"}
    assert report["parameters"]["mmdet"] == report["parameters"]["ours"]
    agreement = report["agreement"]
    assert agreement["identical"] == 1.0 and agreement["num_ref"] == agreement["num_other"] > 0
    assert agreement["max_score_diff"] <= 1e-6 and agreement["mask_pixel_diff"] == 0.0
    assert report["environment"]["threads"] == 2 and report["variants"] == {}
    text = format_report(report)
    assert text.startswith("model: shrunk R18 SOLOv2, cpu")
    assert "identical: True" in text and "train_step" not in text


@pytest.mark.slow
def test_model_benchmark_all_measures_and_variants():
    cfg = ModelBenchConfig(size=(96, 128), instances=6, batch=2, warmup=0, repeats=1, shrink=True)
    cfg.variants = ["bf16", "channels_last"]
    report = run_model_benchmark(cfg)
    for name in ("mmdet", "ours"):
        assert set(report["results"][name]) == {
            "inference",
            "forward",
            "train_step",
            "targets_losses",
        }
        assert report["results"][name]["inference"]["peak_kind"] in ("rss", "rss_lifetime")
    assert report["agreement"]["identical"] == 1.0 and report["agreement"]["num_ref"] == 200
    assert set(report["variants"]) == {"bf16", "channels_last"}
    assert report["variants"]["channels_last"]["agreement"]["matched"] == 1.0
    for row in report["variants"].values():
        assert set(row) == {"inference", "agreement", "train_step", "train_agreement"}
    text = format_report(report)
    for row in ("inference", "train_step", "targets_losses", "bf16", "channels_last"):
        assert row in text


def test_model_command_writes_json_and_rejects_bad_options(tmp_path, capsys):
    path = tmp_path / "bench.json"
    argv = ["model", "--shrink", "--size", "64", "64", "--instances", "3", "--warmup", "0"]
    argv += [
        "--repeats",
        "2",
        "--measures",
        "forward",
        "--category-bias",
        "-3",
        "--json",
        str(path),
    ]
    assert main(argv) == 0
    report = json.loads(path.read_text())
    assert set(report["results"]["ours"]) == {"forward"}
    assert report["results"]["ours"]["forward"]["repeats"] == 2
    assert report["config"]["size"] == [64, 64] and report["config"]["category_bias"] == -3
    assert "speed-up" in capsys.readouterr().out
    assert main(["model", "--variants", "fp8"]) == 1
    assert "unknown ['fp8']" in capsys.readouterr().err


def test_scaling_sweep_and_plot(tmp_path):
    path, png = tmp_path / "scaling.json", tmp_path / "scaling.png"
    argv = ["model", "--scaling", "--shrink", "--size", "64", "64", "--instances", "2"]
    argv += ["--warmup", "0", "--repeats", "1", "--measures", "forward", "--category-bias", "-3"]
    argv += ["--scaling-instances", "4", "--scaling-sizes", "64", "--json", str(path)]
    assert main(argv + ["--plot", str(png)]) == 0
    report = json.loads(path.read_text())
    points = [(p["sweep"], p["instances"], p["size"][0], p["model"]) for p in report["points"]]
    assert points == [
        (sweep, k, side, model)
        for sweep, k, side in (("instances", 4, 64), ("size", 2, 64))
        for model in ("mmdet", "ours")
    ]
    assert all(set(p["measures"]) == {"forward"} for p in report["points"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "again.png"
    assert main(["plot", str(path), str(again)]) == 0 and again.is_file()
    assert main(["plot", str(tmp_path / "missing.json"), str(again)]) == 1


def test_loading_command_runs_and_reports_rates(capsys):
    assert set(COMMANDS) == {"loading", "model", "plot", "memory", "export"}
    argv = ["loading", "--height", "48", "--width", "96", "--instances", "6"]
    assert main(argv + ["--samples", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("loading: 48x96 16-bit PNG label maps, 6 instances, 2 samples x 1")
    for row in ("LoadSeedInstanceMasks", "LoadImageFromFile + LoadSeedInstanceMasks", "from RLE"):
        assert row in out
    assert out.count("samples/s") == 4


def test_profile_call_counts_calls_and_writes_the_cpu_table(tmp_path):
    matrix = torch.ones(64, 64)
    calls = []

    def work():
        calls.append(1)
        return (matrix @ matrix).sum()

    path = tmp_path / "sub" / "work.txt"
    summary = profile_call(work, CPU, path, "a title", steps=4)
    assert len(calls) == 4
    text = path.read_text()
    assert text.startswith("a title\n4 calls profiled; per call:")
    # A CPU run has one table, by self CPU time, and the 4 matmuls are in it.
    assert "## By self_cpu_time_total" in text and "self_device_time_total" not in text
    row = next(line for line in text.splitlines() if line.strip().startswith("aten::mm"))
    assert row.split()[-1] == "4"
    assert summary["device_ms"] == 0 and summary["launches"] == 0 and summary["syncs"] == 0
    assert summary["wall_ms"] > 0


def test_model_command_profile_writes_one_table_per_model_and_measure(tmp_path):
    argv = ["model", "--shrink", "--size", "64", "64", "--instances", "3", "--warmup", "0"]
    argv += ["--repeats", "1", "--measures", "forward,targets_losses", "--category-bias", "-3"]
    argv += ["--profile", str(tmp_path / "prof"), "--json", str(tmp_path / "bench.json")]
    assert main(argv) == 0
    names = sorted(path.name for path in (tmp_path / "prof").iterdir())
    assert names == [
        "mmdet_forward.txt",
        "mmdet_targets_losses.txt",
        "ours_forward.txt",
        "ours_targets_losses.txt",
    ]
    report = json.loads((tmp_path / "bench.json").read_text())
    assert set(report["profiles"]["ours"]) == {"forward", "targets_losses"}
    assert (
        (tmp_path / "prof" / "ours_forward.txt")
        .read_text()
        .startswith("ours forward: 64x64, batch 1, 3 inst.")
    )


def test_count_flops_of_a_convolution_and_a_product_by_hand():
    inputs, weight = torch.ones(2, 3, 5, 7), torch.ones(4, 3, 3, 3)
    conv = count_flops(lambda: torch.nn.functional.conv2d(inputs, weight, padding=1))
    # 2 images x 4 out channels x 35 pixels, each a 27-term multiply-add.
    assert conv == 2 * 2 * 4 * 35 * 27 == conv_flops((2, 3, 4, 5, 7, 3)) == 15120
    assert count_flops(lambda: torch.ones(6, 5) @ torch.ones(5, 4)) == 2 * 6 * 5 * 4
    assert count_flops(lambda: torch.ones(100).sigmoid()) == 0  # element-wise: not counted
    assert conv_flops() == 2 * 2 * 512 * 40 * 40 * 512 * 9


def test_model_command_flops_counts_the_same_arithmetic_for_both_models(tmp_path, capsys):
    """Same network, same targets: forward and training step count the same operations."""
    argv = ["model", "--shrink", "--size", "64", "64", "--instances", "3", "--warmup", "0"]
    argv += ["--repeats", "1", "--measures", "forward,train_step", "--category-bias", "-3"]
    argv += ["--flops", "--json", str(tmp_path / "bench.json")]
    assert main(argv) == 0
    arith = json.loads((tmp_path / "bench.json").read_text())["arithmetic"]
    models = arith["models"]
    assert set(models["ours"]) == set(models["mmdet"]) == {"forward", "train_step"}
    for key in ("forward", "train_step"):
        assert models["ours"][key]["gflop"] == models["mmdet"][key]["gflop"]
    # Backward costs about twice the forward, and the step includes a forward.
    forward, step = models["ours"]["forward"]["gflop"], models["ours"]["train_step"]["gflop"]
    assert 2.0 * forward < step < 3.0 * forward
    assert arith["reference_conv"] == [2, 512, 512, 40, 40, 3]
    assert arith["reference_gflop_per_s"] > 0
    out = capsys.readouterr().out
    assert "mmdet GFLOP/s" in out and "reference: one 3x3 convolution, 512 -> 512" in out


def test_measure_interleaved_alternates_the_order_every_round():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    results = measure_interleaved(fns, CPU, warmup=1, repeats=3, memory=False)
    # warm-up round, then rounds in order, reversed, in order.
    assert "".join(calls) == "abc" + "abc" + "cba" + "abc"
    assert set(results) == {"a", "b", "c"} and all(r.repeats == 3 for r in results.values())
