"""The configs the train, test and demo tools run with, built without running anything."""

import os.path as osp

import pytest
import torch
from mmdet.registry import HOOKS

import solov2_plugin  # noqa: F401  (registers GTPredOverlayHook)
from solov2_plugin.apis.runner_config import (
    build_test_config,
    build_train_config,
    default_work_dir,
    load_config,
)
from solov2_plugin.engine import GTPredOverlayHook

DEMO = "configs/solov2_demo.py"
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, DEMO)


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "epoch_3.pth"
    path.write_bytes(b"")
    return str(path)


def test_work_dir_from_option_config_or_config_name(tmp_path):
    assert default_work_dir(CONFIG) == osp.join("work_dirs", "solov2_demo")
    assert load_config(CONFIG).work_dir == osp.join("work_dirs", "solov2_demo")
    assert load_config(CONFIG, work_dir="elsewhere").work_dir == "elsewhere"
    own = tmp_path / "own.py"
    own.write_text(f"_base_ = [{CONFIG!r}]\nwork_dir = 'from_config'\n")
    assert load_config(str(own)).work_dir == "from_config"
    assert load_config(str(own), work_dir="option").work_dir == "option"


def test_cfg_options_and_launcher():
    cfg = load_config(
        CONFIG,
        cfg_options={"train_cfg.max_epochs": 3, "model.mask_head.stacked_convs": 1},
        launcher="pytorch",
    )
    assert cfg.train_cfg.max_epochs == 3
    assert cfg.model.mask_head.stacked_convs == 1
    assert cfg.launcher == "pytorch"
    assert load_config(CONFIG).launcher == "none"
    with pytest.raises(ValueError, match="launcher must be one of"):
        load_config(CONFIG, launcher="ssh")


def test_missing_config_is_named():
    with pytest.raises(FileNotFoundError, match="'configs/nope.py' does not exist"):
        load_config("configs/nope.py")


def test_train_config_resume(checkpoint):
    fresh = build_train_config(CONFIG)
    assert not fresh.get("resume", False) and fresh.get("load_from") is None
    auto = build_train_config(CONFIG, resume="auto")
    assert auto.resume is True and auto.load_from is None  # the runner finds the latest
    given = build_train_config(CONFIG, resume=checkpoint)
    assert given.resume is True and given.load_from == checkpoint
    with pytest.raises(FileNotFoundError, match="'missing.pth' to resume from does not exist"):
        build_train_config(CONFIG, resume="missing.pth")


def test_train_config_amp_needs_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="--amp .* needs a CUDA GPU"):
        build_train_config(CONFIG, amp=True)
    assert build_train_config(CONFIG).optim_wrapper.type == "NonFiniteLossOptimWrapper"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = build_train_config(CONFIG, amp=True)
    # The demo's non-finite-loss guard becomes its AMP twin; any other wrapper mmengine's AMP.
    assert cfg.optim_wrapper.type == "NonFiniteLossAmpOptimWrapper"
    assert cfg.optim_wrapper.loss_scale == "dynamic"
    assert cfg.optim_wrapper.optimizer.type == "AdamW"  # the rest of the wrapper is kept
    plain = build_train_config(CONFIG, amp=True, cfg_options={"optim_wrapper.type": "OptimWrapper"})
    assert plain.optim_wrapper.type == "AmpOptimWrapper"


def test_test_config_checkpoint_out_and_show_dir(checkpoint):
    cfg = build_test_config(CONFIG, checkpoint, cfg_options={"test_dataloader.batch_size": 2})
    assert cfg.load_from == checkpoint
    assert cfg.test_dataloader.batch_size == 2
    assert cfg.work_dir == osp.join("work_dirs", "solov2_demo")
    assert not any(h.type == "GTPredOverlayHook" for h in cfg.get("custom_hooks", []))
    assert cfg.test_evaluator.type == "CocoMetric"

    cfg = build_test_config(CONFIG, checkpoint, out="preds.pkl", show_dir="show")
    assert [e["type"] for e in cfg.test_evaluator] == ["CocoMetric", "DumpDetResults"]
    assert cfg.test_evaluator[1].out_file_path == "preds.pkl"
    hooks = [h for h in cfg.custom_hooks if h.type == "GTPredOverlayHook"]
    assert hooks == [dict(type="GTPredOverlayHook", out_dir="show", score_thr=0.3)]
    hook = HOOKS.build(hooks[0])
    assert isinstance(hook, GTPredOverlayHook) and hook.out_dir == "show"
    # mmdet's DetVisualizationHook stays off (it would draw an empty ground-truth panel).
    assert not cfg.default_hooks.visualization.get("draw", False)


def test_show_dir_replaces_a_configured_overlay_hook(tmp_path, checkpoint):
    own = tmp_path / "own.py"
    own.write_text(
        f"_base_ = [{CONFIG!r}]\n"
        "custom_hooks = [dict(type='GTPredOverlayHook', out_dir='old'), dict(type='EMAHook')]\n"
    )
    cfg = build_test_config(str(own), checkpoint, show_dir="new", show_score_thr=0.5)
    assert cfg.custom_hooks == [
        dict(type="EMAHook"),
        dict(type="GTPredOverlayHook", out_dir="new", score_thr=0.5),
    ]


def test_test_config_rejects_missing_checkpoint_and_bad_out(checkpoint):
    with pytest.raises(FileNotFoundError, match="Checkpoint 'nope.pth' does not exist"):
        build_test_config(CONFIG, "nope.pth")
    with pytest.raises(ValueError, match="--out must name a .pkl file, got 'preds.json'"):
        build_test_config(CONFIG, checkpoint, out="preds.json")
