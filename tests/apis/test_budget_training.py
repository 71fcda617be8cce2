"""Budgeted training: the clock that excludes validation, stopping, curves, plots, schedules."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from solov2_plugin.apis import budget_training
from solov2_plugin.apis.budget_plot import plot_curves
from solov2_plugin.apis.budget_training import (
    CurvePoint,
    WallTimeBudgetHook,
    ap_at,
    budget_config,
    fitted_max_iters,
    read_curve,
    write_curve,
)
from solov2_plugin.apis.config import config_path


class _Clock:
    """A perf_counter the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _ValLoop:
    def __init__(self) -> None:
        self.runs = 0

    def run(self) -> None:
        self.runs += 1


def _runner(tmp_path, iteration: int):
    return SimpleNamespace(
        iter=iteration,
        work_dir=str(tmp_path),
        train_loop=SimpleNamespace(stop_training=False),
        val_loop=_ValLoop(),
    )


def test_clock_pauses_during_validation_and_stops_at_the_budget(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(budget_training.time, "perf_counter", clock)
    monkeypatch.setattr(budget_training.time, "process_time", lambda: 30.0)
    hook = WallTimeBudgetHook(budget_minutes=2.0)
    runner = _runner(tmp_path, 10)
    hook.before_train(runner)
    clock.now = 60.0  # 1 training minute
    hook.after_train_iter(runner, 9)
    assert not runner.train_loop.stop_training
    hook.before_val(runner)
    clock.now = 90.0  # inside validation: still 1 training minute
    hook.after_val_epoch(runner, {"coco/segm_mAP": 0.25, "coco/bbox_mAP": 0.5})
    clock.now = 120.0
    hook.after_val(runner)
    clock.now = 150.0  # 150 s wall - 60 s validation = 1.5 training minutes
    assert hook.train_minutes() == pytest.approx(1.5)
    hook.after_train_iter(runner, 10)
    assert not runner.train_loop.stop_training
    clock.now = 181.0  # 2.0167 training minutes: past the budget
    runner.iter = 13
    hook.after_train_iter(runner, 12)
    assert runner.train_loop.stop_training
    # Iteration 13 was not validated by the loop: the hook validates it.
    hook.after_train(runner)
    assert runner.val_loop.runs == 1
    curve = json.loads((tmp_path / "budget_curve.json").read_text())
    assert curve == {
        "budget_minutes": 2.0,
        "points": [
            {
                "iteration": 10,
                "train_minutes": 1.0,
                "cpu_minutes": 0.5,
                "ap": 0.25,
                "metrics": {"coco/segm_mAP": 0.25, "coco/bbox_mAP": 0.5},
            }
        ],
    }


def test_no_second_validation_when_the_loop_just_validated(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(budget_training.time, "perf_counter", clock)
    hook = WallTimeBudgetHook(budget_minutes=1.0)
    runner = _runner(tmp_path, 20)
    hook.before_train(runner)
    clock.now = 70.0
    hook.after_val_epoch(runner, {})  # a missing metric reads -1
    hook.after_train(runner)
    assert runner.val_loop.runs == 0
    assert hook.points[0].ap == -1.0


def test_a_budget_must_be_positive():
    with pytest.raises(ValueError, match="budget_minutes"):
        WallTimeBudgetHook(budget_minutes=0)


def test_curve_round_trip_and_ap_at(tmp_path):
    points = [
        CurvePoint(10, 1.0, 1.1, 0.1, {"coco/segm_mAP": 0.1}),
        CurvePoint(20, 2.5, 2.6, 0.3, {"coco/segm_mAP": 0.3}),
    ]
    path = write_curve(tmp_path / "run" / "budget_curve.json", points, 3.0)
    assert read_curve(path) == points
    assert ap_at(points, 0.5) == -1.0
    assert ap_at(points, 2.0) == 0.1
    assert ap_at(points, 2.5) == 0.3
    with pytest.raises(FileNotFoundError, match="compare_recipes.py train"):
        read_curve(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a budget curve"):
        read_curve(tmp_path / "bad.json")


def test_fitted_max_iters():
    assert fitted_max_iters(2.0, 10.0) == 285  # 600 s * 0.95 / 2 s
    assert fitted_max_iters(1.0, 1.0, share=1.0) == 60
    assert fitted_max_iters(1000.0, 1.0) == 1
    with pytest.raises(ValueError, match="seconds_per_iter"):
        fitted_max_iters(0.0, 1.0)


def test_budget_config_sets_the_loop_checkpoints_and_one_hook():
    cfg = Config.fromfile(config_path("solov2_custom.py"))
    budget_config(cfg, 5.0, 25, max_iters=300, work_dir="w")
    budget_config(cfg, 6.0, 30)  # again: still one budget hook, the new one
    assert cfg.train_cfg.max_iters == 300 and cfg.train_cfg.val_interval == 30
    assert cfg.default_hooks.checkpoint.interval == 30
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    budget_hooks = [h for h in cfg.custom_hooks if h["type"] == "WallTimeBudgetHook"]
    assert budget_hooks == [
        dict(type="WallTimeBudgetHook", budget_minutes=6.0, metric="coco/segm_mAP")
    ]
    assert cfg.work_dir == "w"
    with pytest.raises(ValueError, match="val_interval"):
        budget_config(cfg, 5.0, 0)


def test_budget_config_refuses_an_epoch_schedule():
    cfg = Config.fromfile(config_path("solov2_demo.py"))
    with pytest.raises(ValueError, match="IterBasedTrainLoop"):
        budget_config(cfg, 5.0, 10)


def test_plot_curves_writes_the_png(tmp_path):
    curves = {
        "ours": [CurvePoint(10, 1.0, 1.0, 0.2, {}), CurvePoint(20, 2.0, 2.0, 0.4, {})],
        "mmdet": [CurvePoint(5, 1.5, 1.5, -1.0, {})],
    }
    out = plot_curves(curves, tmp_path / "curve.png", budget_minutes=2.0)
    image = np.asarray(Image.open(out))
    assert image.shape[:2] == (462, 770)  # 7 x 4.2 inches at 110 dpi
    assert image.std() > 0  # something drawn on the white figure
    both = np.asarray(Image.open(plot_curves(curves, tmp_path / "two.png", with_cpu=True)))
    assert both.shape[:2] == (462, 1540)  # two 7-inch panels
    with pytest.raises(ValueError, match="empty"):
        plot_curves({"none": []}, tmp_path / "empty.png")
