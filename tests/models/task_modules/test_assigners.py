"""The SOLOv2 grid assigners: registration, options, and how a head picks one."""

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import ConfigDict

from solov2_plugin.models.task_modules import (
    SOLOv2CenterRegionAssigner,
    SOLOv2GridAssigner,
    SOLOv2MaskExtentAssigner,
    assign_solo_targets,
    build_solo_assigner,
)
from solov2_plugin.testing import random_instance_masks

BG = 5
GN4 = dict(type="GN", num_groups=4, requires_grad=True)


def _scene(seed=0, num=12, size=(64, 96)):
    rng = np.random.default_rng(seed)
    masks = torch.from_numpy(random_instance_masks(rng, num, size, side_range=(2.0, 60.0)))
    return masks, torch.from_numpy(rng.integers(0, BG, num))


ASSIGN_ARGS = dict(
    num_classes=BG,
    grid_sizes=[(12, 12), (6, 9)],
    scale_ranges=[(1, 24), (12, 128)],
    mask_size=(16, 24),
    strides=[4, 8],
)


@pytest.mark.parametrize("name", ["SOLOv2CenterRegionAssigner", "SOLOv2MaskExtentAssigner"])
def test_registered_in_mmdet_task_utils_under_our_names(name):
    cls = TASK_UTILS.get(name)
    assert cls is not None and cls.__module__.startswith("solov2_plugin.")
    assert issubclass(cls, SOLOv2GridAssigner)
    assert isinstance(TASK_UTILS.build(dict(type=name)), cls)


def test_each_assigner_takes_only_its_own_options():
    assert SOLOv2CenterRegionAssigner.option_names() == ("pos_scale",)
    assert SOLOv2MaskExtentAssigner.option_names() == ("offset_factor", "route_thin")
    with pytest.raises(TypeError, match="offset_factor"):
        SOLOv2CenterRegionAssigner(offset_factor=0.25)
    with pytest.raises(TypeError, match="pos_scale"):
        TASK_UTILS.build(dict(type="SOLOv2MaskExtentAssigner", pos_scale=0.2))
    with pytest.raises(ValueError, match="pos_scale"):
        SOLOv2CenterRegionAssigner(pos_scale=-0.1)
    with pytest.raises(ValueError, match="route_thin"):
        SOLOv2MaskExtentAssigner(route_thin="yes")


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        (dict(type="SOLOv2CenterRegionAssigner", route_thin=True), r"\['route_thin'\].*MaskExtent"),
        (dict(type="SOLOv2MaskExtentAssigner", pos_scale=0.2), r"\['pos_scale'\].*CenterRegion"),
        (dict(type="SOLOv2MaskExtentAssigner", offset=0.2), r"\['offset'\]"),
        (dict(type="MaxIoUAssigner"), "SOLOv2 grid assigner"),
        (dict(pos_scale=0.2), "type"),
    ],
)
def test_build_names_the_wrong_option_or_type(cfg, match):
    with pytest.raises(ValueError, match=match):
        build_solo_assigner(cfg)


def test_build_defaults_and_accepts_classes_and_instances():
    default = build_solo_assigner(None)
    assert type(default) is SOLOv2CenterRegionAssigner and default.pos_scale == 0.2
    seed = build_solo_assigner(ConfigDict(type=SOLOv2MaskExtentAssigner, route_thin=True))
    assert seed.options() == dict(offset_factor=0.25, route_thin=True)
    assert build_solo_assigner(seed) is seed
    assert repr(seed) == "SOLOv2MaskExtentAssigner(offset_factor=0.25, route_thin=True)"


@pytest.mark.parametrize(
    ("mode", "cfg"),
    [
        ("mmdet", dict(type="SOLOv2CenterRegionAssigner", pos_scale=0.5)),
        ("seed", dict(type="SOLOv2MaskExtentAssigner", offset_factor=0.3, route_thin=True)),
    ],
)
def test_assigner_equals_the_pure_function_of_its_mode(mode, cfg):
    masks, labels = _scene()
    options = {key: value for key, value in cfg.items() if key != "type"}
    ours = TASK_UTILS.build(cfg).assign(masks, labels, **ASSIGN_ARGS)
    expected = assign_solo_targets(masks, labels, mode=mode, **ASSIGN_ARGS, **options)
    assert sum(len(level.pos_inds) for level in ours) > 5
    for got, want in zip(ours, expected):
        for a, b in zip(got, want):
            assert torch.equal(a, b)


def test_options_change_the_assignment():
    masks, labels = _scene(seed=3)
    narrow = SOLOv2CenterRegionAssigner(pos_scale=0.0).assign(masks, labels, **ASSIGN_ARGS)
    wide = SOLOv2CenterRegionAssigner(pos_scale=1.0).assign(masks, labels, **ASSIGN_ARGS)
    # pos_scale 0: the centre cell only, one claim per instance a level takes.
    assert sum(len(level.pos_inds) for level in narrow) < sum(len(level.pos_inds) for level in wide)


def _head(train_cfg):
    return MODELS.build(
        dict(
            type="SOLOv2DynamicHead",
            num_classes=3,
            in_channels=8,
            feat_channels=8,
            stacked_convs=1,
            strides=(8, 8, 16, 32, 32),
            num_grids=(10, 8, 6, 4, 3),
            norm_cfg=GN4,
            mask_feature_head=dict(mid_channels=8, out_channels=8, norm_cfg=GN4),
            train_cfg=train_cfg,
        )
    )


def test_head_picks_the_assigner_of_its_train_cfg():
    assert type(_head(None).assigner) is SOLOv2CenterRegionAssigner
    assert _head(dict()).assigner.pos_scale == 0.2
    seed = _head(ConfigDict(assigner=dict(type="SOLOv2MaskExtentAssigner", offset_factor=0.5)))
    assert seed.assigner.options() == dict(offset_factor=0.5, route_thin=False)
    with pytest.raises(ValueError, match=r"train_cfg.assigner.*\['offset_factor'\]"):
        _head(dict(assigner=dict(type="SOLOv2CenterRegionAssigner", offset_factor=0.5)))


@pytest.mark.parametrize("old_key", ["assign_mode", "pos_scale", "offset_factor", "route_thin"])
def test_old_head_keys_are_gone(old_key):
    cfg = dict(
        type="SOLOv2DynamicHead",
        num_classes=3,
        in_channels=8,
        norm_cfg=GN4,
        mask_feature_head=dict(mid_channels=8, out_channels=8, norm_cfg=GN4),
    )
    cfg[old_key] = 0.25
    with pytest.raises(TypeError, match=old_key):
        MODELS.build(cfg)
