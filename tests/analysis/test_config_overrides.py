"""The suggestion as --cfg-options (parsed as tools/train.py parses them) and as a config file.

Both must reach the pipelines' resize scale and give a head, neck and mask branch that agree:
the merged configs are built and run.
"""

import argparse
import copy
import os
import shlex
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

import solov2_plugin  # noqa: F401  (registers our modules)
from solov2_plugin.analysis import stats_from_objects, suggest_settings
from solov2_plugin.analysis.config_overrides import python_text
from solov2_plugin.analysis.level_settings import (
    FPN_STRIDES,
    InputSizeChoice,
    SuggestedSettings,
    choose_grids,
    level_ranges,
)
from solov2_plugin.apis.data_overrides import merge_cfg_options

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "solov2_demo.py"
X50 = REPO / "configs" / "solov2_x50.py"


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope("mmdet"):
        yield


@pytest.fixture(scope="module")
def demo_cfg():
    """configs/solov2_demo.py, loaded once (tests change deep copies)."""
    return Config.fromfile(str(DEMO))


@pytest.fixture(scope="module")
def x50_cfg():
    """configs/solov2_x50.py, loaded once (tests change deep copies)."""
    return Config.fromfile(str(X50))


@pytest.fixture(scope="module")
def settings():
    """320 px images with 10, 25 and 80 px objects: 3 octaves, b = nice(14.1) = 16."""
    sides = [10] * 20 + [25] * 20 + [80] * 20
    boxes = [(0, 0, s, s) for s in sides]
    owners = [i // 10 for i in range(60)]
    stats = stats_from_objects([(320, 320)] * 6, owners, [s * s for s in sides], boxes)
    return suggest_settings(stats)


def parse_cfg_options(line):
    """``--cfg-options`` words parsed as tools/train.py does."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(["--cfg-options", *shlex.split(line)]).cfg_options


def test_cfg_options_reach_the_pipelines_and_build_a_consistent_model(settings, demo_cfg):
    assert settings.input_size == 320
    assert settings.scale_ranges == ((1, 32), (16, 64), (32, 320))
    assert settings.num_grids == (40, 20, 10)
    options = settings.cfg_options(demo_cfg)
    assert options == {
        "input_size": (320, 320),
        "model.neck.num_outs": 3,
        "model.neck.end_level": 2,
        "model.mask_head.strides": (4, 8, 16),
        "model.mask_head.scale_ranges": ((1, 32), (16, 64), (32, 320)),
        "model.mask_head.num_grids": (40, 20, 10),
        "model.mask_head.mask_feature_head.end_level": 2,
        "train_dataloader.dataset.pipeline.2.scale": (320, 320),
        "val_dataloader.dataset.pipeline.1.scale": (320, 320),
        "test_dataloader.dataset.pipeline.1.scale": (320, 320),
    }
    parsed = parse_cfg_options(settings.cfg_options_line(demo_cfg))
    assert parsed == options
    cfg = merge_cfg_options(copy.deepcopy(demo_cfg), parsed)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        resize = [t for t in cfg[loader].dataset.pipeline if t.type == "Resize"]
        assert [t.scale for t in resize] == [(320, 320)]
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 128, 128))  # grids do not depend on it
        kernels, classes, mask_feats = model.mask_head(feats)
    assert [tuple(c.shape[-2:]) for c in classes] == [(40, 40), (20, 20), (10, 10)]
    assert len(kernels) == 3
    assert tuple(mask_feats.shape[-2:]) == (32, 32)


def make_settings(num_levels, size=512, base=16):
    """A suggestion with ``num_levels`` levels, built from the rule's helpers."""
    return SuggestedSettings(
        input_size=size,
        strides=FPN_STRIDES[:num_levels],
        scale_ranges=level_ranges(size, base, num_levels),
        num_grids=choose_grids(size, base, num_levels),
        base_size=base,
        level_shares=(1 / num_levels,) * num_levels,
        level_counts=(1,) * num_levels,
        centre_collisions=(0.0,) * num_levels,
        size_choice=InputSizeChoice(size, size, size, 0, 8.0, 8.0),
    )


@pytest.mark.parametrize("num_levels", [2, 5])
def test_every_level_count_gives_a_neck_and_head_that_agree(num_levels, x50_cfg):
    """The seed's model: 2 levels cut its FPN at P3, 5 keep P6 (layers narrowed to 32 channels)."""
    options = make_settings(num_levels).cfg_options(x50_cfg)
    cfg = merge_cfg_options(copy.deepcopy(x50_cfg), options)
    widths = (32, 32, 64, 64)
    neck = MODELS.build(dict(cfg.model.neck, in_channels=list(widths), out_channels=32))
    branch = dict(cfg.model.mask_head.mask_feature_head, mid_channels=32, out_channels=32)
    narrow = dict(in_channels=32, feat_channels=32, stacked_convs=1, mask_feature_head=branch)
    head = MODELS.build(dict(cfg.model.mask_head, **narrow))
    inputs = [torch.zeros(1, c, 64 // 2**i, 64 // 2**i) for i, c in enumerate(widths)]
    with torch.no_grad():
        feats = neck(inputs)
        assert len(feats) == num_levels
        kernels, classes, mask_feats = head(feats)
    assert [c.shape[-1] for c in classes] == list(choose_grids(512, 16, num_levels))
    assert mask_feats.shape[-1] == 64


def test_config_file_equals_the_base_merged_with_the_options(settings, demo_cfg, tmp_path):
    out = tmp_path / "analysis"
    out.mkdir()
    base_ref = os.path.relpath(DEMO, out)
    path = out / "suggested_config.py"
    path.write_text(settings.config_text(demo_cfg, base_ref))
    text = path.read_text()
    assert f"_base_ = [{base_ref!r}]" in text
    assert "# input 320 px (native 320, budget 320, small-object floor 256)" in text
    loaded = Config.fromfile(str(path))
    merged = merge_cfg_options(copy.deepcopy(demo_cfg), settings.cfg_options(demo_cfg))
    for key in ("input_size", "model", "train_dataloader", "val_dataloader", "test_dataloader"):
        assert loaded[key] == merged[key], key


def test_config_text_needs_an_existing_base(settings, tmp_path):
    with pytest.raises(FileNotFoundError, match="base config not found"):
        settings.config_text(str(tmp_path / "missing.py"))


@pytest.mark.parametrize(
    "value",
    [
        dict(a=1, b=(1, 2), c=[dict(type="Resize", scale=(320, 320))]),
        {"not a name": (5,), "x": "text"},
        [dict(type="PackDetInputs", meta_keys=tuple(f"key_{i}" for i in range(20)))],
    ],
)
def test_python_text_evaluates_back_to_the_value(value):
    assert eval(python_text(value)) == value  # noqa: S307 (our own generated literal)


def test_a_base_with_mmdet_level_resizing_is_switched_and_other_heads_refused(settings):
    cfg = Config(
        dict(
            input_size=(256, 256),
            model=dict(mask_head=dict(type="SOLOv2DynamicHead"), neck=dict(in_channels=[8] * 4)),
        )
    )
    options = settings.cfg_options(cfg)
    assert options["model.mask_head.level_resize"] == "none"  # the head's default is 'mmdet'
    assert parse_cfg_options(settings.cfg_options_line(cfg)) == options
    cfg.model.mask_head = dict(type="SOLOV2Head")
    with pytest.raises(ValueError, match="suggestion is for a SOLOv2DynamicHead mask head"):
        settings.cfg_options(cfg)
