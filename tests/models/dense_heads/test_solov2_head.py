"""Tests of SOLOv2DynamicHead: shapes, losses, post-processing and the dynamic conv."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

from solov2_plugin.models.dense_heads import SOLOv2DynamicHead, dynamic_conv, points_nms
from solov2_plugin.models.layers import ChannelLayerNorm
from solov2_plugin.structures import masks_to_boxes

GN4 = dict(type="GN", num_groups=4, requires_grad=True)
NUM_CLASSES = 3


def build_head(**overrides):
    """A tiny head over 5 levels of 8 channels, with 3 classes."""
    cfg = dict(
        type="SOLOv2DynamicHead",
        num_classes=NUM_CLASSES,
        in_channels=8,
        feat_channels=8,
        stacked_convs=2,
        strides=(8, 8, 16, 32, 32),
        scale_ranges=((1, 24), (12, 48), (24, 96), (48, 192), (96, 384)),
        num_grids=(10, 8, 6, 4, 3),
        norm_cfg=GN4,
        mask_feature_head=dict(mid_channels=8, out_channels=8, norm_cfg=GN4),
    )
    cfg.update(overrides)
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def fpn_feats(height=64, width=128, batch=2, strides=(4, 8, 16, 32, 64)):
    """Random P2..P6 features of a (height, width) padded input."""
    torch.manual_seed(1)
    return [torch.randn(batch, 8, -(-height // stride), -(-width // stride)) for stride in strides]


def meta(height=64, width=128, ori=None):
    ori = ori or (height, width)
    return dict(
        img_shape=(height, width),
        ori_shape=ori,
        pad_shape=(height, width),
        batch_input_shape=(height, width),
    )


def gt_instances(boxes, labels, height=64, width=128):
    """Rectangle masks for [x1, y1, x2, y2] boxes (max exclusive)."""
    masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes):
        mask[y1:y2, x1:x2] = 1
    return InstanceData(
        masks=BitmapMasks(masks, height, width),
        labels=torch.tensor(labels, dtype=torch.long),
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
    )


def empty_gt(height=64, width=128):
    return gt_instances([], [], height, width)


def crowd_gt():
    boxes = [[4, 4, 20, 16], [10, 8, 60, 50], [70, 2, 126, 62], [30, 30, 46, 40], [0, 0, 128, 64]]
    return gt_instances(boxes, [0, 1, 2, 1, 0])


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_forward_shapes_for_kernel_size_1_and_3(kernel_size):
    head = build_head(dynamic_conv_size=kernel_size)
    kernels, cls_logits, mask_feats = head(fpn_feats())
    assert [tuple(k.shape) for k in kernels] == [
        (2, 8 * kernel_size**2, grid, grid) for grid in (10, 8, 6, 4, 3)
    ]
    assert [tuple(c.shape) for c in cls_logits] == [
        (2, NUM_CLASSES, grid, grid) for grid in (10, 8, 6, 4, 3)
    ]
    assert mask_feats.shape == (2, 8, 16, 32)


def test_aspect_grids_give_the_long_side_s_cells():
    head = build_head(keep_aspect_grids=True, level_resize="none", strides=(4, 8, 16, 32, 64))
    kernels, cls_logits, _ = head(fpn_feats(height=64, width=128))
    expected = [(5, 10), (4, 8), (3, 6), (2, 4), (2, 3)]
    assert [tuple(c.shape[-2:]) for c in cls_logits] == expected
    assert [tuple(k.shape[-2:]) for k in kernels] == expected
    assert head.grid_sizes((96, 32)) == [(10, 3), (8, 3), (6, 2), (4, 1), (3, 1)]


def test_loss_with_empty_ground_truth():
    head = build_head()
    outs = head(fpn_feats())
    losses = head.loss_by_feat(
        *outs, batch_gt_instances=[empty_gt(), empty_gt()], batch_img_metas=[meta(), meta()]
    )
    assert losses["loss_cls"] > 0
    assert losses["loss_mask"] == 0
    (losses["loss_cls"] + losses["loss_mask"]).backward()
    out_conv = head.mask_feature_head.out_conv.conv.weight
    assert out_conv.grad is not None and torch.all(out_conv.grad == 0)
    assert head.cls_pred.weight.grad.abs().sum() > 0


def test_loss_with_one_instance_and_with_many():
    head = build_head()
    one = head.loss_by_feat(
        *head(fpn_feats()),
        batch_gt_instances=[gt_instances([[40, 10, 90, 50]], [2]), empty_gt()],
        batch_img_metas=[meta(), meta()],
    )
    assert one["loss_cls"] > 0 and one["loss_mask"] > 0
    many = head.loss_by_feat(
        *head(fpn_feats()),
        batch_gt_instances=[crowd_gt(), crowd_gt()],
        batch_img_metas=[meta(), meta()],
    )
    assert many["loss_cls"] > 0 and many["loss_mask"] > 0
    (many["loss_cls"] + many["loss_mask"]).backward()
    assert head.kernel_pred.weight.grad.abs().sum() > 0
    assert head.mask_feature_head.out_conv.conv.weight.grad.abs().sum() > 0


def test_loss_takes_bool_tensor_masks_like_bitmap_masks():
    head = build_head()
    outs = head(fpn_feats())
    gt = crowd_gt()
    as_tensor = gt.clone()
    as_tensor.masks = gt.masks.to_tensor(torch.bool, "cpu")
    metas = [meta(), meta()]
    from_bitmap = head.loss_by_feat(*outs, batch_gt_instances=[gt, gt], batch_img_metas=metas)
    from_tensor = head.loss_by_feat(
        *outs, batch_gt_instances=[as_tensor, as_tensor], batch_img_metas=metas
    )
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(from_bitmap[key], from_tensor[key])


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_seed_mode_losses_with_aspect_grids_and_thin_routing(kernel_size):
    head = build_head(
        dynamic_conv_size=kernel_size,
        keep_aspect_grids=True,
        level_resize="none",
        strides=(4, 8, 16, 32, 64),
        assign_mode="seed",
        offset_factor=0.25,
        route_thin=True,
        loss_mask=dict(type="SOLOv2DiceLoss", loss_weight=1.0, pooled=True),
    )
    thin_and_crowd = gt_instances([[2, 30, 126, 34], [10, 8, 60, 50], [70, 2, 100, 40]], [0, 1, 2])
    losses = head.loss_by_feat(
        *head(fpn_feats()),
        batch_gt_instances=[thin_and_crowd, empty_gt()],
        batch_img_metas=[meta(), meta()],
    )
    assert torch.isfinite(losses["loss_cls"]) and losses["loss_cls"] > 0
    assert torch.isfinite(losses["loss_mask"]) and losses["loss_mask"] > 0
    (losses["loss_cls"] + losses["loss_mask"]).backward()
    assert head.kernel_pred.weight.grad.abs().sum() > 0


def test_mmdet_losses_plug_in():
    head = build_head(
        loss_cls=dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_mask=dict(type="DiceLoss", use_sigmoid=True, loss_weight=3.0),
    )
    ours = build_head()
    feats = fpn_feats()
    args = dict(batch_gt_instances=[crowd_gt(), empty_gt()], batch_img_metas=[meta(), meta()])
    theirs = head.loss_by_feat(*head(feats), **args)
    mine = ours.loss_by_feat(*ours(feats), **args)
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(theirs[key], mine[key], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("norm_cfg", "act_cfg"),
    [
        (dict(type="BN"), dict(type="SiLU")),
        (dict(type="ChannelLayerNorm"), dict(type="GELU")),
        (None, dict(type="ReLU")),
    ],
)
def test_norm_and_activation_options(norm_cfg, act_cfg):
    with DefaultScope.overwrite_default_scope("mmdet"):
        head = build_head(norm_cfg=norm_cfg, act_cfg=act_cfg)
    conv = head.cls_tower[0]
    assert conv.with_norm == (norm_cfg is not None)
    if norm_cfg and norm_cfg["type"] == "ChannelLayerNorm":
        assert isinstance(conv.norm, ChannelLayerNorm)
    kernels, cls_logits, _ = head(fpn_feats())
    assert all(torch.isfinite(k).all() for k in kernels + cls_logits)


def test_predict_with_no_candidate_gives_valid_empty_results():
    head = build_head()
    head.eval()
    with torch.no_grad():
        results = head.predict_by_feat(
            *head(fpn_feats()), batch_img_metas=[meta(ori=(50, 100)), meta()]
        )
    assert len(results) == 2
    first = results[0]
    assert first.masks.shape == (0, 50, 100) and first.masks.dtype == torch.bool
    assert first.labels.shape == (0,) and first.labels.dtype == torch.long
    assert first.scores.shape == (0,) and first.bboxes.shape == (0, 4)


def confident_head(**overrides):
    head = build_head(**overrides)
    with torch.no_grad():
        head.cls_pred.bias.fill_(1.0)
        head.kernel_pred.weight.normal_(0, 0.5)
    return head.eval()


def test_predict_returns_sorted_masks_with_tight_boxes_at_original_size():
    head = confident_head()
    head.test_cfg = dict(max_per_img=7)
    metas = [meta(ori=(48, 100)), meta()]
    with torch.no_grad():
        results = head.predict_by_feat(*head(fpn_feats()), batch_img_metas=metas)
    for result, img_meta in zip(results, metas):
        assert 0 < len(result) <= 7
        assert result.masks.dtype == torch.bool
        assert result.masks.shape[1:] == img_meta["ori_shape"]
        assert torch.all(result.scores[:-1] >= result.scores[1:])
        assert result.labels.min() >= 0 and result.labels.max() < NUM_CLASSES
        torch.testing.assert_close(result.bboxes, masks_to_boxes(result.masks))
        assert result.masks.flatten(1).any(1).all()


def test_predict_mask_out_stride_and_no_rescale():
    head = confident_head(test_cfg=dict(max_per_img=5, mask_out_stride=2))
    img_meta = dict(meta(), img_shape=(60, 120), ori_shape=(31, 61))
    with torch.no_grad():
        outs = head(fpn_feats())
        half = head.predict_by_feat(*outs, batch_img_metas=[img_meta, img_meta])[0]
        head.test_cfg = dict(max_per_img=5)
        resized = head.predict_by_feat(*outs, batch_img_metas=[img_meta, img_meta], rescale=False)
    assert half.masks.shape[1:] == (16, 31)
    assert len(half) > 0
    assert torch.all(half.bboxes[:, 2] <= 61) and torch.all(half.bboxes[:, 3] <= 31)
    assert resized[0].masks.shape[1:] == (60, 120)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_predict_runs_with_kernel_size_1_and_3(kernel_size):
    head = confident_head(dynamic_conv_size=kernel_size)
    with torch.no_grad():
        results = head.predict_by_feat(*head(fpn_feats()), batch_img_metas=[meta(), meta()])
    assert all(len(result) > 0 for result in results)


@pytest.mark.parametrize("kernel_size", [1, 3, 5])
def test_dynamic_conv_matches_one_convolution_per_kernel(kernel_size):
    torch.manual_seed(0)
    feats = torch.randn(4, 9, 11)
    kernels = torch.randn(5, 4 * kernel_size**2)
    out = dynamic_conv(feats, kernels, kernel_size)
    expected = [
        F.conv2d(feats[None], kernel.view(1, 4, kernel_size, kernel_size), padding=kernel_size // 2)
        for kernel in kernels
    ]
    torch.testing.assert_close(out, torch.cat(expected, dim=1)[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_dynamic_conv_without_kernels_stays_in_the_graph(kernel_size):
    feats = torch.randn(4, 5, 6, requires_grad=True)
    kernels = torch.randn(0, 4 * kernel_size**2, requires_grad=True)
    out = dynamic_conv(feats, kernels, kernel_size)
    assert out.shape == (0, 5, 6)
    out.sum().backward()
    assert feats.grad is not None and torch.all(feats.grad == 0)


def test_points_nms_keeps_only_2x2_local_maxima():
    torch.manual_seed(0)
    scores = torch.rand(2, 3, 5, 6)
    kept = points_nms(scores)
    padded = F.pad(scores, (1, 0, 1, 0), value=-1.0)
    for index in np.ndindex(*scores.shape):
        n, c, y, x = index
        window = padded[n, c, y : y + 2, x : x + 2]
        expected = scores[index] if scores[index] >= window.max() else 0.0
        assert kept[index] == expected


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (dict(strides=(8, 8, 16)), "one entry per level"),
        (dict(dynamic_conv_size=2), "odd"),
        (dict(stacked_convs=0), "stacked_convs"),
        (dict(level_resize="bilinear"), "level_resize"),
        (dict(assign_mode="fcos"), "assign_mode"),
        (dict(route_thin=True), "route_thin"),
        (dict(mask_feature_head=dict(in_channels=16, mid_channels=8, norm_cfg=GN4)), "in_channels"),
    ],
)
def test_bad_configuration_raises_value_error(overrides, match):
    with pytest.raises(ValueError, match=match):
        build_head(**overrides)


def test_wrong_number_of_levels_raises_value_error():
    head = build_head()
    with pytest.raises(ValueError, match="5 feature levels"):
        head(fpn_feats()[:4])


def test_registered_and_default_mask_branch_type():
    head = build_head()
    assert MODELS.get("SOLOv2DynamicHead") is SOLOv2DynamicHead
    assert type(head.mask_feature_head).__name__ == "SOLOv2MaskFeatBranch"
    assert head.mask_stride == 4


def test_mask_stride_2_branch_trains_and_predicts_at_original_size():
    head = build_head(
        mask_feature_head=dict(mid_channels=8, out_channels=8, mask_stride=2, norm_cfg=GN4)
    )
    outs = head(fpn_feats())
    assert outs[2].shape == (2, 8, 32, 64)  # H/2 x W/2 of the 64 x 128 input
    losses = head.loss_by_feat(
        *outs, batch_gt_instances=[crowd_gt(), empty_gt()], batch_img_metas=[meta(), meta()]
    )
    assert losses["loss_mask"] > 0 and losses["loss_cls"] > 0
    with torch.no_grad():
        head.cls_pred.bias.fill_(1.0)
        head.kernel_pred.weight.normal_(0, 0.5)
        results = head.eval().predict_by_feat(*head(fpn_feats()), batch_img_metas=[meta(), meta()])
    assert len(results[0]) > 0 and results[0].masks.shape[1:] == (64, 128)


def test_forward_exports_as_one_graph():
    head = build_head(keep_aspect_grids=True).eval()
    feats = fpn_feats()
    exported = torch.export.export(head, (feats,))
    with torch.no_grad():
        expected = head(feats)
        got = exported.module()(feats)
    for ours, theirs in zip(got[0] + got[1] + [got[2]], expected[0] + expected[1] + [expected[2]]):
        torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("all_convs", [True, False])
def test_deformable_convs_in_the_towers(all_convs):
    head = build_head(dcn_cfg=dict(type="DCNv2", deform_groups=1), dcn_apply_to_all_conv=all_convs)
    deformable = [
        type(module.conv).__name__ == "ModulatedDeformConv2dPack"
        for module in head.kernel_tower + head.cls_tower
    ]
    assert deformable == ([True, True] if all_convs else [False, True]) * 2
    losses = head.loss_by_feat(
        *head(fpn_feats()),
        batch_gt_instances=[crowd_gt(), empty_gt()],
        batch_img_metas=[meta(), meta()],
    )
    assert all(torch.isfinite(value) for value in losses.values())
