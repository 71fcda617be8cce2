"""Tests of SOLOv2MaskFeatBranch, the unified mask-feature branch."""

import re

import pytest
import torch
from mmdet.models.dense_heads.solov2_head import MaskFeatModule
from mmengine.registry import DefaultScope

from solov2_plugin.models.layers import ChannelLayerNorm, SOLOv2MaskFeatBranch

GN4 = dict(type="GN", num_groups=4, requires_grad=True)


def pyramid(channels=8, height=32, width=48, levels=5, batch=2):
    """FPN-like levels of shape (batch, channels, height / 2**l, width / 2**l)."""
    torch.manual_seed(0)
    return [
        torch.randn(batch, channels, height >> level, width >> level) for level in range(levels)
    ]


@pytest.mark.parametrize(("mask_stride", "scale"), [(4, 1), (2, 2)])
def test_output_shape_for_stride_4_and_2(mask_stride, scale):
    branch = SOLOv2MaskFeatBranch(
        8, mid_channels=8, out_channels=12, mask_stride=mask_stride, norm_cfg=GN4
    )
    out = branch(pyramid(height=32, width=48))
    assert out.shape == (2, 12, 32 * scale, 48 * scale)
    assert branch.mask_stride == mask_stride
    assert len(branch.upsample_convs) == scale // 2


def test_uses_levels_start_to_end_and_coord_on_the_top_level():
    branch = SOLOv2MaskFeatBranch(8, 8, 8, start_level=1, end_level=2, norm_cfg=GN4)
    assert [len(convs) for convs in branch.level_convs] == [1, 1]
    assert branch.level_convs[1][0].conv.in_channels == 8 + 2  # coordinates
    assert branch.level_convs[0][0].conv.in_channels == 8
    out = branch(pyramid(height=32, width=64))
    assert out.shape == (2, 8, 16, 32)  # the size of level 1


def test_without_coordinates_top_level_takes_plain_channels():
    branch = SOLOv2MaskFeatBranch(8, 8, 8, with_coord=False, norm_cfg=GN4)
    assert branch.level_convs[3][0].conv.in_channels == 8
    assert branch(pyramid()).shape == (2, 8, 32, 48)


def test_channel_layer_norm_and_gelu_variant():
    with DefaultScope.overwrite_default_scope("mmdet"):
        branch = SOLOv2MaskFeatBranch(
            8, 8, 8, norm_cfg=dict(type="ChannelLayerNorm"), act_cfg=dict(type="GELU")
        )
    assert isinstance(branch.out_conv.norm, ChannelLayerNorm)
    assert isinstance(branch.out_conv.activate, torch.nn.GELU)
    out = branch(pyramid())
    assert out.shape == (2, 8, 32, 48) and torch.isfinite(out).all()


def test_backward_reaches_every_level():
    branch = SOLOv2MaskFeatBranch(8, 8, 8, norm_cfg=GN4)
    branch(pyramid()).square().mean().backward()
    for convs in branch.level_convs:
        assert convs[0].conv.weight.grad.abs().sum() > 0


def test_matches_mmdet_mask_feat_module_with_renamed_weights():
    mmdet_branch = MaskFeatModule(
        in_channels=8, feat_channels=8, start_level=0, end_level=3, out_channels=12, norm_cfg=GN4
    )
    mmdet_branch.init_weights()
    ours = SOLOv2MaskFeatBranch(8, mid_channels=8, out_channels=12, norm_cfg=GN4)
    renamed = {
        re.sub(r"^convs_all_levels\.(\d+)\.conv(\d+)\.", r"level_convs.\1.\2.", key).replace(
            "conv_pred.", "out_conv."
        ): value
        for key, value in mmdet_branch.state_dict().items()
    }
    ours.load_state_dict(renamed, strict=True)
    feats = pyramid()
    with torch.no_grad():
        torch.testing.assert_close(ours(feats), mmdet_branch(feats), atol=1e-6, rtol=0)


def test_odd_level_sizes_are_resized_to_the_first_level():
    feats = [torch.randn(1, 8, size, size + 2) for size in (25, 13, 7, 4)]
    out = SOLOv2MaskFeatBranch(8, 8, 8, norm_cfg=GN4)(feats)
    assert out.shape == (1, 8, 25, 27)


@pytest.mark.parametrize("mask_stride", [3, 8, 0])
def test_bad_mask_stride_raises_value_error(mask_stride):
    with pytest.raises(ValueError, match="mask_stride"):
        SOLOv2MaskFeatBranch(8, 8, 8, mask_stride=mask_stride, norm_cfg=GN4)


def test_bad_levels_raise_value_error():
    with pytest.raises(ValueError, match="start_level"):
        SOLOv2MaskFeatBranch(8, 8, 8, start_level=2, end_level=1, norm_cfg=GN4)
    branch = SOLOv2MaskFeatBranch(8, 8, 8, norm_cfg=GN4)
    with pytest.raises(ValueError, match="at least 4 feature levels"):
        branch(pyramid(levels=3))
