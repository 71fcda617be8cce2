"""Tests of ChannelLayerNorm, the channel-wise LayerNorm for NCHW maps."""

import pytest
import torch
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.registry import DefaultScope
from torch import nn

from solov2_plugin.models.layers import ChannelLayerNorm


@pytest.fixture
def mmdet_scope():
    """Configs run with default_scope='mmdet'; so do these tests."""
    with DefaultScope.overwrite_default_scope("mmdet"):
        yield


def reference_channel_norm(x, weight, bias, eps):
    """Normalise every pixel over the channel axis, written out by hand."""
    mean = x.mean(dim=1, keepdim=True)
    var = x.var(dim=1, unbiased=False, keepdim=True)
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return (x - mean) / torch.sqrt(var + eps) * weight.view(shape) + bias.view(shape)


def test_normalises_over_channels_at_every_pixel():
    torch.manual_seed(0)
    norm = ChannelLayerNorm(6)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2.0)
        norm.bias.uniform_(-1.0, 1.0)
    x = torch.randn(2, 6, 5, 7) * 3 + 1
    expected = reference_channel_norm(x, norm.weight, norm.bias, norm.eps)
    torch.testing.assert_close(norm(x), expected, atol=1e-5, rtol=1e-5)


def test_plain_output_has_zero_mean_unit_variance_per_pixel():
    norm = ChannelLayerNorm(16, elementwise_affine=False)
    out = norm(torch.randn(3, 16, 4, 9) * 5 - 2)
    torch.testing.assert_close(out.mean(dim=1), torch.zeros(3, 4, 9), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        out.var(dim=1, unbiased=False), torch.ones(3, 4, 9), atol=1e-3, rtol=0
    )


def test_differs_from_mmcv_ln_which_normalises_the_last_axis():
    x = torch.randn(1, 4, 3, 4)
    ours = ChannelLayerNorm(4, elementwise_affine=False)(x)
    last_axis = nn.LayerNorm(4, elementwise_affine=False)(x)
    assert not torch.allclose(ours, last_axis, atol=1e-3)


def test_gradients_reach_input_and_affine_parameters():
    norm = ChannelLayerNorm(5)
    x = torch.randn(2, 5, 3, 3, requires_grad=True)
    (norm(x) * torch.randn(2, 5, 3, 3)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert norm.weight.grad.abs().sum() > 0 and norm.bias.grad.abs().sum() > 0


@pytest.mark.usefixtures("mmdet_scope")
def test_built_from_norm_cfg_by_name_in_mmdet_scope():
    name, layer = build_norm_layer(dict(type="ChannelLayerNorm", requires_grad=False), 8)
    assert name == "ln"
    assert isinstance(layer, ChannelLayerNorm)
    assert layer.eps == 1e-5  # build_norm_layer's default
    assert not any(param.requires_grad for param in layer.parameters())


def test_scoped_name_works_from_mmengine_root_scope():
    with DefaultScope.overwrite_default_scope("mmengine"):
        with pytest.raises(KeyError):
            build_norm_layer(dict(type="ChannelLayerNorm"), 4)
        _, layer = build_norm_layer(dict(type="mmdet.ChannelLayerNorm"), 4)
    assert isinstance(layer, ChannelLayerNorm)


@pytest.mark.usefixtures("mmdet_scope")
def test_usable_in_conv_module():
    conv = ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type="ChannelLayerNorm"))
    assert isinstance(conv.norm, ChannelLayerNorm)
    assert conv.conv.bias is None  # a norm follows, so no conv bias
    out = conv(torch.randn(2, 3, 10, 6))
    assert out.shape == (2, 8, 10, 6)


def test_wrong_channel_count_raises_value_error():
    with pytest.raises(ValueError, match="num_features"):
        ChannelLayerNorm(4)(torch.randn(1, 3, 2, 2))
