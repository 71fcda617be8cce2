"""Tests of SOLOv2Segmentor: the three modes, training steps, composition with mmdet parts."""

import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmengine.registry import DefaultScope

from solov2_plugin.models.detectors import SOLOv2Segmentor
from solov2_plugin.structures import masks_to_boxes

GN4 = dict(type="GN", num_groups=4, requires_grad=True)
NUM_CLASSES = 3


@pytest.fixture(autouse=True)
def mmdet_scope():
    """mmdet models build their data preprocessor in the default scope, 'mmdet' in configs."""
    with DefaultScope.overwrite_default_scope("mmdet"):
        yield


def tiny_head():
    return dict(
        type="SOLOv2DynamicHead",
        num_classes=NUM_CLASSES,
        in_channels=16,
        feat_channels=16,
        stacked_convs=2,
        strides=(8, 8, 16, 32, 32),
        scale_ranges=((1, 48), (24, 96), (48, 192), (96, 384), (192, 768)),
        num_grids=(12, 10, 8, 6, 4),
        norm_cfg=GN4,
        mask_feature_head=dict(mid_channels=8, out_channels=16, norm_cfg=GN4),
    )


def tiny_model_cfg(detector="SOLOv2Segmentor", neck="FPN"):
    """ResNet-18 at 1/8 width, a 5-level neck and a small SOLOv2 head."""
    return dict(
        type=detector,
        data_preprocessor=dict(
            type="DetDataPreprocessor",
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            bgr_to_rgb=True,
            pad_mask=True,
            pad_size_divisor=32,
        ),
        backbone=dict(
            type="ResNet",
            depth=18,
            base_channels=8,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            norm_cfg=dict(type="BN"),
            init_cfg=None,
        ),
        neck=dict(type=neck, in_channels=[8, 16, 32, 64], out_channels=16, num_outs=5),
        mask_head=tiny_head(),
        test_cfg=dict(nms_pre=100, score_thr=0.1, mask_thr=0.5, filter_thr=0.05, max_per_img=10),
    )


def build(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(num_items=(4, 0), training=True, model=None):
    data = demo_mm_inputs(
        2,
        [(3, 96, 128), (3, 128, 96)],
        num_items=list(num_items),
        num_classes=NUM_CLASSES,
        with_mask=True,
    )
    for sample in data["data_samples"]:
        sample.gt_instances.labels -= 1  # demo labels are 1..C-1; ours are 0-based
    return model.data_preprocessor(data, training)


def test_loss_mode_returns_finite_losses():
    model = build(tiny_model_cfg())
    assert isinstance(model, SOLOv2Segmentor)
    losses = model(**batch(model=model), mode="loss")
    assert set(losses) == {"loss_mask", "loss_cls"}
    assert all(torch.isfinite(value) and value > 0 for value in losses.values())


def test_predict_mode_fills_pred_instances_at_original_size():
    model = build(tiny_model_cfg())
    with torch.no_grad():
        model.mask_head.cls_pred.bias.fill_(1.0)
        model.mask_head.kernel_pred.weight.normal_(0, 0.5)
    model.eval()
    with torch.no_grad():
        samples = model(**batch(training=False, model=model), mode="predict")
    assert len(samples) == 2
    for sample in samples:
        assert isinstance(sample, DetDataSample)
        pred = sample.pred_instances
        assert 0 < len(pred) <= 10
        assert pred.masks.dtype == torch.bool
        assert pred.masks.shape[1:] == sample.ori_shape
        torch.testing.assert_close(pred.bboxes, masks_to_boxes(pred.masks))
        assert pred.labels.dtype == torch.long and pred.scores.shape == (len(pred),)


def test_tensor_mode_returns_head_outputs():
    model = build(tiny_model_cfg())
    data = batch(model=model)
    with torch.no_grad():
        (outs,) = model(data["inputs"], mode="tensor")
    kernels, cls_logits, mask_feats = outs
    assert [tuple(c.shape) for c in cls_logits] == [
        (2, NUM_CLASSES, grid, grid) for grid in (12, 10, 8, 6, 4)
    ]
    assert kernels[0].shape == (2, 16, 12, 12)
    assert mask_feats.shape == (2, 16, 32, 32)  # 128 x 128 padded input at stride 4


def test_missing_mask_head_raises_value_error():
    cfg = tiny_model_cfg()
    cfg["mask_head"] = None
    with pytest.raises(ValueError, match="mask_head"):
        MODELS.build(cfg)


def test_a_few_training_steps_lower_the_loss():
    model = build(tiny_model_cfg())
    model.train()
    data = batch(num_items=(5, 3), model=model)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(8):
        losses = model(**copy.deepcopy(data), mode="loss")
        total = losses["loss_mask"] + losses["loss_cls"]
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    assert history[-1] < 0.8 * history[0], history


@pytest.mark.parametrize(("detector", "neck"), [("SOLOv2", "FPN"), ("SOLOv2Segmentor", "PAFPN")])
def test_head_composes_with_mmdet_detector_backbone_and_necks(detector, neck):
    model = build(tiny_model_cfg(detector=detector, neck=neck))
    assert type(model).__name__ == detector
    losses = model(**batch(model=model), mode="loss")
    assert all(torch.isfinite(value) for value in losses.values())
    model.eval()
    with torch.no_grad():
        samples = model(**batch(training=False, model=model), mode="predict")
    assert all(sample.pred_instances.masks.dtype == torch.bool for sample in samples)
