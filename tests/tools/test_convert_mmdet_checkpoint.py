"""Tests of tools/convert_mmdet_checkpoint.py (mmdet SOLOv2 checkpoint -> ours)."""

import importlib.util
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import solov2_plugin  # noqa: F401  (registers our modules)

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools/convert_mmdet_checkpoint.py"
MMDET_CONFIGS = Path(mmdet.__file__).parent / ".mim/configs/solov2"


def load_tool():
    spec = importlib.util.spec_from_file_location("convert_mmdet_checkpoint", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = load_tool()


def build(path):
    cfg = Config.fromfile(str(path)).model
    cfg.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope("mmdet"):
        return MODELS.build(cfg)


def mmdet_like_state_dict():
    """A few keys of every kind an mmdet SOLOv2 state dict has."""
    names = [
        "backbone.conv1.weight",
        "neck.lateral_convs.0.conv.weight",
        "mask_head.cls_convs.0.conv.weight",
        "mask_head.cls_convs.0.gn.weight",
        "mask_head.kernel_convs.3.conv.weight",
        "mask_head.conv_cls.bias",
        "mask_head.conv_kernel.weight",
        "mask_head.mask_feature_head.convs_all_levels.0.conv0.conv.weight",
        "mask_head.mask_feature_head.convs_all_levels.3.conv2.gn.bias",
        "mask_head.mask_feature_head.conv_pred.conv.weight",
    ]
    return OrderedDict((name, torch.full((2,), float(i))) for i, name in enumerate(names))


def test_renames_head_keys_and_keeps_the_rest():
    converted = tool.convert_state_dict(mmdet_like_state_dict())
    assert list(converted) == [
        "backbone.conv1.weight",
        "neck.lateral_convs.0.conv.weight",
        "mask_head.cls_tower.0.conv.weight",
        "mask_head.cls_tower.0.gn.weight",
        "mask_head.kernel_tower.3.conv.weight",
        "mask_head.cls_pred.bias",
        "mask_head.kernel_pred.weight",
        "mask_head.mask_feature_head.level_convs.0.0.conv.weight",
        "mask_head.mask_feature_head.level_convs.3.2.gn.bias",
        "mask_head.mask_feature_head.out_conv.conv.weight",
    ]
    for i, value in enumerate(converted.values()):
        assert torch.equal(value, torch.full((2,), float(i)))


@pytest.mark.parametrize(
    "name", ["solov2_r50_fpn_1x_coco.py", "solov2-light_r18_fpn_ms-3x_coco.py"]
)
def test_mmdet_weights_load_strictly_into_our_config_of_the_same_name(name):
    theirs = build(MMDET_CONFIGS / name).state_dict()
    ours = build(REPO / "configs" / name).state_dict()
    converted = tool.convert_state_dict(theirs)
    assert set(converted) == set(ours)
    assert all(converted[key].shape == ours[key].shape for key in ours)


def test_checkpoint_file_round_trip_keeps_meta(tmp_path, capsys):
    src, dst = tmp_path / "mmdet.pth", tmp_path / "out" / "ours.pth"
    meta = dict(mmdet_version="3.3.0", dataset_meta=dict(classes=("a", "b")), epoch=12)
    state = mmdet_like_state_dict()
    torch.save(dict(state_dict=state, meta=meta, optimizer=dict(state={})), src)
    assert tool.main([str(src), str(dst)]) == 0
    assert f"wrote {len(state)} tensors" in capsys.readouterr().out
    result = torch.load(dst, weights_only=True)
    assert set(result) == {"state_dict", "meta"}
    assert {key: result["meta"][key] for key in meta} == meta
    assert "mmdet.pth" in result["meta"]["converted_from"]
    assert list(result["state_dict"]) == list(tool.convert_state_dict(state))


def test_bare_state_dict_is_accepted(tmp_path):
    src, dst = tmp_path / "bare.pth", tmp_path / "ours.pth"
    torch.save(mmdet_like_state_dict(), src)
    assert tool.convert_checkpoint(src, dst) == len(mmdet_like_state_dict())
    assert "mask_head.kernel_pred.weight" in torch.load(dst, weights_only=True)["state_dict"]


def test_solo_v1_checkpoint_is_refused_naming_the_file(tmp_path):
    state = mmdet_like_state_dict()
    state["mask_head.conv_mask_list.0.weight"] = torch.zeros(1)
    src = tmp_path / "solo_v1.pth"
    torch.save(dict(state_dict=state), src)
    with pytest.raises(ValueError, match=r"solo_v1\.pth.*conv_mask_list"):
        tool.convert_checkpoint(src, tmp_path / "out.pth")


def test_checkpoint_without_solov2_head_is_refused(tmp_path):
    src = tmp_path / "mask_rcnn.pth"
    torch.save(dict(state_dict={"backbone.conv1.weight": torch.zeros(1)}), src)
    with pytest.raises(ValueError, match=r"mask_rcnn\.pth.*not an mmdet SOLOv2 checkpoint"):
        tool.convert_checkpoint(src, tmp_path / "out.pth")


def test_missing_file_fails_with_status_1_naming_it(tmp_path, capsys):
    missing = tmp_path / "nope.pth"
    assert tool.main([str(missing), str(tmp_path / "out.pth")]) == 1
    err = capsys.readouterr().err
    assert "nope.pth" in err and "no such checkpoint file" in err


def test_unreadable_and_unsafe_files_are_refused(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.pth"):
        tool.convert_checkpoint(text, tmp_path / "a.pth")
    unsafe = tmp_path / "unsafe.pth"
    torch.save(dict(state_dict=mmdet_like_state_dict(), meta=dict(hook=print)), unsafe)
    with pytest.raises(ValueError, match=r"unsafe\.pth.*safe PyTorch checkpoint"):
        tool.convert_checkpoint(unsafe, tmp_path / "b.pth")


def test_destination_equal_to_source_is_refused(tmp_path):
    src = tmp_path / "same.pth"
    torch.save(dict(state_dict=mmdet_like_state_dict()), src)
    with pytest.raises(ValueError, match="DST must differ from SRC"):
        tool.convert_checkpoint(src, src)


def test_command_line_help():
    result = subprocess.run(
        [sys.executable, str(TOOL), "--help"], capture_output=True, text=True, check=True
    )
    assert "src" in result.stdout and "dst" in result.stdout
    assert "mmdet SOLOv2 checkpoint" in result.stdout
