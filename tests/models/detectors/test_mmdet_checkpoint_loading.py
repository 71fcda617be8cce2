"""mmdet SOLOv2 checkpoints load straight into SOLOv2Segmentor, by every loading path.

The mmdet model is built from mmdet's own ``solov2/solov2_r50_fpn_1x_coco.py`` and ours from
``configs/solov2_r50_fpn_1x_coco.py``, both shrunk the same way (ResNet-18 at 1/8 width, a
32-wide head) so the checkpoint is small. Every tensor of the mmdet model is set to random
values, so a tensor that was not loaded cannot match by chance.
"""

import logging
from collections import OrderedDict
from pathlib import Path

import mmdet
import pytest
import torch
from mmdet.apis import init_detector
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint, load_state_dict

import solov2_plugin  # noqa: F401  (registers our modules)
from solov2_plugin.models.utils import convert_mmdet_state_dict

REPO = Path(__file__).resolve().parents[3]
MMDET_CONFIG = Path(mmdet.__file__).parent / ".mim/configs/solov2/solov2_r50_fpn_1x_coco.py"
OUR_CONFIG = REPO / "configs/solov2_r50_fpn_1x_coco.py"
CLASSES = ("disc", "block", "triangle")
# mmdet name -> our name, one of each kind of renamed parameter, plus backbone and neck.
SAMPLE_KEYS = {
    "backbone.conv1.weight": "backbone.conv1.weight",
    "backbone.bn1.running_var": "backbone.bn1.running_var",
    "neck.fpn_convs.2.conv.bias": "neck.fpn_convs.2.conv.bias",
    "mask_head.cls_convs.3.gn.weight": "mask_head.cls_tower.3.gn.weight",
    "mask_head.kernel_convs.0.conv.weight": "mask_head.kernel_tower.0.conv.weight",
    "mask_head.conv_cls.bias": "mask_head.cls_pred.bias",
    "mask_head.conv_kernel.weight": "mask_head.kernel_pred.weight",
    "mask_head.mask_feature_head.convs_all_levels.3.conv2.conv.weight": (
        "mask_head.mask_feature_head.level_convs.3.2.conv.weight"
    ),
    "mask_head.mask_feature_head.conv_pred.gn.bias": (
        "mask_head.mask_feature_head.out_conv.gn.bias"
    ),
}


def shrunk_config(path):
    """The whole config, no pretrained weights, model shrunk to a tiny ResNet-18 SOLOv2."""
    cfg = Config.fromfile(str(path))
    model = cfg.model
    model.backbone.init_cfg = None
    model.backbone.depth = 18
    model.backbone.base_channels = 8
    model.neck.in_channels = [8, 16, 32, 64]
    model.neck.out_channels = 32
    model.mask_head.in_channels = 32
    model.mask_head.feat_channels = 32
    model.mask_head.num_classes = len(CLASSES)
    branch = model.mask_head.mask_feature_head
    branch.pop("in_channels", None)
    branch["mid_channels" if "mid_channels" in branch else "feat_channels"] = 32
    branch.out_channels = 32
    return cfg


def build(cfg):
    with DefaultScope.overwrite_default_scope("mmdet"):
        return MODELS.build(cfg.model)


@pytest.fixture(scope="module")
def mmdet_state():
    """An mmdet SOLOv2 state dict whose every tensor holds seeded random values."""
    torch.manual_seed(0)
    model = build(shrunk_config(MMDET_CONFIG))
    state = model.state_dict()
    with torch.no_grad():
        for value in state.values():
            if value.is_floating_point():
                value.copy_(torch.rand_like(value) + 0.5)
            else:
                value.fill_(7)
    assert all(key in state for key in SAMPLE_KEYS)
    return state


@pytest.fixture(scope="module")
def mmdet_file(mmdet_state, tmp_path_factory):
    """The state dict saved as mmdet saves a model checkpoint (state_dict + meta)."""
    path = tmp_path_factory.mktemp("ckpt") / "solov2_mmdet.pth"
    meta = dict(mmdet_version=mmdet.__version__, dataset_meta=dict(classes=CLASSES))
    torch.save(dict(state_dict=mmdet_state, meta=meta), path)
    return path


def assert_has_mmdet_weights(model, mmdet_state):
    """Every tensor of ``model`` equals mmdet's, under our names; none is left out."""
    ours = model.state_dict()
    expected = convert_mmdet_state_dict(mmdet_state)
    assert sorted(ours) == sorted(expected)
    for key, value in expected.items():
        assert torch.equal(ours[key], value), key
    for theirs, our_key in SAMPLE_KEYS.items():
        assert torch.equal(ours[our_key], mmdet_state[theirs])


def test_torch_load_state_dict_takes_mmdet_names(mmdet_state):
    model = build(shrunk_config(OUR_CONFIG))
    given = OrderedDict(mmdet_state)
    result = model.load_state_dict(given, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert_has_mmdet_weights(model, mmdet_state)
    assert list(given) == list(mmdet_state)  # the caller's dict is not renamed


def test_our_own_state_dict_loads_unchanged(mmdet_state):
    source = build(shrunk_config(OUR_CONFIG))
    source.load_state_dict(mmdet_state)
    model = build(shrunk_config(OUR_CONFIG))
    result = model.load_state_dict(source.state_dict(), strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert_has_mmdet_weights(model, mmdet_state)


def test_a_wrapped_segmentor_takes_mmdet_names_under_its_prefix(mmdet_state):
    wrapper = torch.nn.Module()
    wrapper.module = build(shrunk_config(OUR_CONFIG))
    prefixed = OrderedDict(("module." + key, value) for key, value in mmdet_state.items())
    wrapper.load_state_dict(prefixed, strict=True)
    assert_has_mmdet_weights(wrapper.module, mmdet_state)


def test_keys_outside_solov2_are_still_reported(mmdet_state):
    model = build(shrunk_config(OUR_CONFIG))
    state = OrderedDict(mmdet_state)
    state["mask_head.conv_mask_list.0.weight"] = torch.zeros(1)  # a SOLO v1 key
    del state["mask_head.conv_cls.bias"]
    result = model.load_state_dict(state, strict=False)
    assert result.unexpected_keys == ["mask_head.conv_mask_list.0.weight"]
    assert result.missing_keys == ["mask_head.cls_pred.bias"]


def test_mmengine_load_state_dict_takes_mmdet_names(mmdet_state):
    model = build(shrunk_config(OUR_CONFIG))
    load_state_dict(model, OrderedDict(mmdet_state), strict=True)
    assert_has_mmdet_weights(model, mmdet_state)


def test_mmengine_load_checkpoint_takes_an_mmdet_file(mmdet_state, mmdet_file):
    model = build(shrunk_config(OUR_CONFIG))
    checkpoint = load_checkpoint(model, str(mmdet_file), map_location="cpu", strict=True)
    assert checkpoint["meta"]["dataset_meta"]["classes"] == CLASSES
    assert_has_mmdet_weights(model, mmdet_state)


def test_init_detector_takes_an_mmdet_file(mmdet_state, mmdet_file):
    model = init_detector(shrunk_config(OUR_CONFIG), str(mmdet_file), device="cpu")
    assert type(model).__name__ == "SOLOv2Segmentor"
    assert model.dataset_meta["classes"] == CLASSES
    assert not model.training
    assert_has_mmdet_weights(model, mmdet_state)


def test_runner_load_from_takes_an_mmdet_file(mmdet_state, mmdet_file, tmp_path):
    cfg = shrunk_config(OUR_CONFIG)
    runner = Runner(
        model=cfg.model,
        work_dir=str(tmp_path),
        load_from=str(mmdet_file),
        default_scope="mmdet",
        log_level=logging.INFO,
    )
    runner.load_or_resume()
    assert_has_mmdet_weights(runner.model, mmdet_state)
    (log_file,) = tmp_path.glob("*/*.log")
    log = log_file.read_text()
    assert f"Load checkpoint from {mmdet_file}" in log
    renamed = sum(key.startswith("mask_head.") for key in mmdet_state)
    assert f"renamed {renamed} head parameters" in log
    assert "missing keys" not in log and "unexpected key" not in log
