"""Tests of the mmdet SOLOv2 checkpoint converter (solov2_plugin.models.utils) and its CLI."""

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

from solov2_plugin.models.utils import (
    convert_mmdet_checkpoint,
    convert_mmdet_state_dict,
    is_mmdet_solov2_state_dict,
    mmdet_head_key_to_ours,
)

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools/convert_mmdet_checkpoint.py"
MMDET_CONFIGS = Path(mmdet.__file__).parent / ".mim/configs/solov2"

OUR_NAMES = [
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


def build(path):
    cfg = Config.fromfile(str(path)).model
    cfg.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope("mmdet"):
        return MODELS.build(cfg)


def mmdet_like_state_dict():
    """A few keys of every kind an mmdet SOLOv2 state dict has; tensor i is full of i."""
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
    state = mmdet_like_state_dict()
    converted = convert_mmdet_state_dict(state)
    assert isinstance(converted, OrderedDict)
    assert list(converted) == OUR_NAMES
    for i, value in enumerate(converted.values()):
        assert torch.equal(value, torch.full((2,), float(i)))
    # The same tensor objects, not copies.
    assert converted["mask_head.kernel_pred.weight"] is state["mask_head.conv_kernel.weight"]


def test_key_renaming_under_a_prefix():
    assert (
        mmdet_head_key_to_ours("model.mask_head.kernel_convs.1.gn.weight", "model.")
        == "model.mask_head.kernel_tower.1.gn.weight"
    )
    assert mmdet_head_key_to_ours("mask_head.conv_kernel.weight", "model.") is None
    assert mmdet_head_key_to_ours("backbone.conv1.weight") is None
    assert all(mmdet_head_key_to_ours(name) is None for name in OUR_NAMES)


def test_layout_predicate():
    assert is_mmdet_solov2_state_dict(mmdet_like_state_dict())
    assert not is_mmdet_solov2_state_dict(dict.fromkeys(OUR_NAMES))
    assert not is_mmdet_solov2_state_dict({"backbone.conv1.weight": None})
    prefixed = {"model." + key: value for key, value in mmdet_like_state_dict().items()}
    assert is_mmdet_solov2_state_dict(prefixed, "model.")
    assert not is_mmdet_solov2_state_dict(prefixed)


@pytest.mark.parametrize(
    "name", ["solov2_r50_fpn_1x_coco.py", "solov2-light_r18_fpn_ms-3x_coco.py"]
)
def test_mmdet_weights_match_our_config_of_the_same_name(name):
    theirs = build(MMDET_CONFIGS / name).state_dict()
    ours = build(REPO / "configs" / name).state_dict()
    converted = convert_mmdet_state_dict(theirs)
    assert set(converted) == set(ours)
    assert all(converted[key].shape == ours[key].shape for key in ours)


def test_checkpoint_file_round_trip_keeps_meta(tmp_path):
    src, dst = tmp_path / "mmdet.pth", tmp_path / "out" / "ours.pth"
    meta = dict(mmdet_version="3.3.0", dataset_meta=dict(classes=("a", "b")), epoch=12)
    state = mmdet_like_state_dict()
    torch.save(dict(state_dict=state, meta=meta, optimizer=dict(state={})), src)
    assert convert_mmdet_checkpoint(src, dst) == len(state)
    result = torch.load(dst, weights_only=True)
    assert set(result) == {"state_dict", "meta"}
    assert {key: result["meta"][key] for key in meta} == meta
    assert "mmdet.pth" in result["meta"]["converted_from"]
    assert list(result["state_dict"]) == OUR_NAMES
    for i, value in enumerate(result["state_dict"].values()):
        assert torch.equal(value, torch.full((2,), float(i)))


def test_bare_state_dict_is_accepted(tmp_path):
    src, dst = tmp_path / "bare.pth", tmp_path / "ours.pth"
    torch.save(mmdet_like_state_dict(), src)
    assert convert_mmdet_checkpoint(src, dst) == len(OUR_NAMES)
    assert list(torch.load(dst, weights_only=True)["state_dict"]) == OUR_NAMES


def test_solo_v1_checkpoint_is_refused_naming_the_file(tmp_path):
    state = mmdet_like_state_dict()
    state["mask_head.conv_mask_list.0.weight"] = torch.zeros(1)
    src = tmp_path / "solo_v1.pth"
    torch.save(dict(state_dict=state), src)
    with pytest.raises(ValueError, match=r"solo_v1\.pth.*conv_mask_list"):
        convert_mmdet_checkpoint(src, tmp_path / "out.pth")


def test_checkpoint_without_solov2_head_is_refused(tmp_path):
    src = tmp_path / "mask_rcnn.pth"
    torch.save(dict(state_dict={"backbone.conv1.weight": torch.zeros(1)}), src)
    with pytest.raises(ValueError, match=r"mask_rcnn\.pth.*not an mmdet SOLOv2 checkpoint"):
        convert_mmdet_checkpoint(src, tmp_path / "out.pth")


def test_missing_file_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.pth: no such checkpoint file"):
        convert_mmdet_checkpoint(tmp_path / "nope.pth", tmp_path / "out.pth")


def test_unreadable_and_unsafe_files_are_refused(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes\.pth"):
        convert_mmdet_checkpoint(text, tmp_path / "a.pth")
    unsafe = tmp_path / "unsafe.pth"
    torch.save(dict(state_dict=mmdet_like_state_dict(), meta=dict(hook=print)), unsafe)
    with pytest.raises(ValueError, match=r"unsafe\.pth.*safe PyTorch checkpoint"):
        convert_mmdet_checkpoint(unsafe, tmp_path / "b.pth")
    assert not (tmp_path / "b.pth").exists()


def test_destination_equal_to_source_is_refused(tmp_path):
    src = tmp_path / "same.pth"
    torch.save(dict(state_dict=mmdet_like_state_dict()), src)
    with pytest.raises(ValueError, match="DST must differ from SRC"):
        convert_mmdet_checkpoint(src, src)


def test_command_line(tmp_path):
    src, dst = tmp_path / "mmdet.pth", tmp_path / "ours.pth"
    torch.save(dict(state_dict=mmdet_like_state_dict()), src)
    result = subprocess.run(
        [sys.executable, str(TOOL), str(src), str(dst)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {len(OUR_NAMES)} tensors to {dst}"
    assert list(torch.load(dst, weights_only=True)["state_dict"]) == OUR_NAMES
