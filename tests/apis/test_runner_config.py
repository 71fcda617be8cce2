"""The configs the train, test and demo tools run with, built without running anything."""

import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import mmdet
import pytest
import torch
from mmdet.registry import HOOKS

import solov2_plugin  # noqa: F401  (registers GTPredOverlayHook)
from solov2_plugin.apis import runner_config
from solov2_plugin.apis.runner_config import (
    CHECKPOINT_STATE_HOOKS,
    build_test_config,
    build_train_config,
    default_work_dir,
    load_config,
)
from solov2_plugin.engine import GTPredOverlayHook, UnsafeCheckpointError

DEMO = "configs/solov2_demo.py"
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, DEMO)


class RunsShellCommand:
    """Pickles as ``os.system(command)``: code run by whoever unpickles it unsafely."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.fixture
def checkpoint(tmp_path):
    """A small but loadable training checkpoint."""
    path = tmp_path / "epoch_3.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"epoch": 3}}, path)
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


def test_train_config_resume(checkpoint, tmp_path):
    fresh = build_train_config(CONFIG)
    assert not fresh.get("resume", False) and fresh.get("load_from") is None
    # auto: the newest checkpoint of the work dir that loads; none there: a fresh start.
    auto = build_train_config(CONFIG, work_dir=str(tmp_path), resume="auto")
    assert auto.resume is True and auto.load_from == checkpoint
    empty = build_train_config(CONFIG, work_dir=str(tmp_path / "new"), resume="auto")
    assert empty.resume is False and empty.load_from is None
    given = build_train_config(CONFIG, resume=checkpoint)
    assert given.resume is True and given.load_from == checkpoint
    with pytest.raises(FileNotFoundError, match="'missing.pth' to resume from does not exist"):
        build_train_config(CONFIG, resume="missing.pth")


def test_train_config_refuses_torn_and_unsafe_checkpoints(checkpoint, tmp_path):
    torn = tmp_path / "torn.pth"
    torn.write_bytes(Path(checkpoint).read_bytes()[:50])
    with pytest.raises(ValueError, match="'.*torn.pth' cannot be resumed from: RuntimeError"):
        build_train_config(CONFIG, resume=str(torn))
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": RunsShellCommand("true")}, evil)
    with pytest.raises(UnsafeCheckpointError, match="evil.pth"):
        build_train_config(CONFIG, resume=str(evil))


def test_train_config_adds_the_checkpoint_hooks_once():
    cfg = build_train_config(CONFIG)  # lists them already
    types = [hook["type"] for hook in cfg.custom_hooks]
    assert types.count("RandomStateCheckpointHook") == types.count("PortableCheckpointHook") == 1
    assert cfg.default_hooks.checkpoint.type == "AtomicCheckpointHook"
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 2  # its arguments are kept


def test_train_config_makes_any_mmdet_config_safe():
    """An mmdet Mask R-CNN config, which knows nothing of the plugin, gains the hooks."""
    config = osp.join(
        osp.dirname(mmdet.__file__), ".mim", "configs", "mask_rcnn", "mask-rcnn_r50_fpn_1x_coco.py"
    )
    plain = load_config(config)
    assert plain.default_hooks.checkpoint.type == "CheckpointHook"
    assert not plain.get("custom_hooks")
    cfg = build_train_config(config)
    assert [hook["type"] for hook in cfg.custom_hooks] == list(CHECKPOINT_STATE_HOOKS)
    assert cfg.default_hooks.checkpoint == dict(type="AtomicCheckpointHook", interval=1)
    for name in (*CHECKPOINT_STATE_HOOKS, "AtomicCheckpointHook"):
        assert HOOKS.get(name) is not None


def test_train_tool_refuses_a_checkpoint_carrying_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "meta": {}, "x": RunsShellCommand(f"touch {marker}")}, evil)
    result = subprocess.run(
        [
            sys.executable,
            "tools/train.py",
            CONFIG,
            "--work-dir",
            str(tmp_path),
            "--resume",
            str(evil),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"error: Refused to load checkpoint '{evil}'" in result.stderr
    assert not marker.exists()


def test_train_config_amp_is_float16_on_a_gpu_and_bfloat16_without(monkeypatch):
    assert build_train_config(CONFIG).optim_wrapper.type == "NonFiniteLossOptimWrapper"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = build_train_config(CONFIG, amp=True)
    # The demo's non-finite-loss guard becomes its AMP twin; any other wrapper mmengine's AMP.
    assert cfg.optim_wrapper.type == "NonFiniteLossAmpOptimWrapper"
    assert cfg.optim_wrapper.loss_scale == "dynamic"
    assert cfg.optim_wrapper.optimizer.type == "AdamW"  # the rest of the wrapper is kept
    plain = build_train_config(CONFIG, amp=True, cfg_options={"optim_wrapper.type": "OptimWrapper"})
    assert plain.optim_wrapper.type == "AmpOptimWrapper"

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runner_config, "cpu_has_native_bf16", lambda: True)
    cfg = build_train_config(CONFIG, amp=True)
    assert cfg.optim_wrapper.type == "NonFiniteLossBF16OptimWrapper"
    assert "loss_scale" not in cfg.optim_wrapper  # bfloat16 needs no loss scaler
    assert cfg.optim_wrapper.optimizer.type == "AdamW"
    plain = build_train_config(CONFIG, amp=True, cfg_options={"optim_wrapper.type": "OptimWrapper"})
    assert plain.optim_wrapper.type == "BF16OptimWrapper"


def test_train_config_amp_warns_on_a_cpu_without_native_bfloat16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(runner_config, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(UserWarning, match="no native bfloat16 arithmetic .* slower"):
        cfg = build_train_config(CONFIG, amp=True)
    assert cfg.optim_wrapper.type == "NonFiniteLossBF16OptimWrapper"


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
