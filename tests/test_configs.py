"""Every config in configs/ loads, fetches nothing, and its model runs in all three modes.

Backbones are shrunk (ResNet-18 at 1/8 width, ResNeXt-50 at a 16-channel base), so each
config's own head, neck settings, test settings and pipelines are what is exercised.
"""

from pathlib import Path

import pytest
import torch
from mmdet.registry import DATASETS, METRICS, MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config, ConfigDict
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

import solov2_plugin  # noqa: F401  (registers our modules)
from solov2_plugin.structures import masks_to_boxes

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted(path for path in (REPO / "configs").glob("*.py") if path.name != "__init__.py")
REMOTE_PREFIXES = ("torchvision://", "open-mmlab://", "http://", "https://", "mmcls://")


@pytest.fixture(autouse=True)
def mmdet_scope():
    with DefaultScope.overwrite_default_scope("mmdet"):
        yield


def walk(node):
    """Every value in a nested config."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from walk(value)


def set_gn_groups(node, groups):
    """Give every GroupNorm config ``groups`` groups (shrunk layers have few channels)."""
    for value in walk(node):
        if isinstance(value, dict) and value.get("type") == "GN":
            value["num_groups"] = groups


def shrink(model):
    """Narrow the backbone, neck and head of a model config in place."""
    backbone = model.backbone
    if backbone.type == "ResNeXt":
        backbone.update(base_channels=16, groups=4, base_width=16)
        channels = [64, 128, 256, 512]
    else:
        model.backbone = ConfigDict(
            type="ResNet",
            depth=18,
            base_channels=8,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            norm_cfg=backbone.get("norm_cfg", dict(type="BN")),
            style="pytorch",
        )
        channels = [8, 16, 32, 64]
    model.backbone.init_cfg = None
    model.neck.update(in_channels=channels, out_channels=16)
    head = model.mask_head
    head.update(in_channels=16, feat_channels=16)
    head.mask_feature_head.pop("in_channels", None)
    head.mask_feature_head.update(mid_channels=8, out_channels=16)
    set_gn_groups(model, 4)
    return model


def inputs(model, training):
    data = demo_mm_inputs(
        2,
        [(3, 96, 160), (3, 64, 128)],
        num_items=[4, 0],
        # mmdet draws labels from 1..num_classes-1 (numpy's randint excludes the top): one
        # more, shifted down, gives ours, 0..K-1 (a one-class config gets label 0).
        num_classes=model.mask_head.num_classes + 1,
        with_mask=True,
    )
    for sample in data["data_samples"]:
        sample.gt_instances.labels -= 1
    return model.data_preprocessor(data, training)


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_loads_our_plugin_and_fetches_nothing(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == "mmdet"
    assert "solov2_plugin" in cfg.custom_imports.imports
    assert cfg.model.type == "SOLOv2Segmentor"
    assert MODELS.get(cfg.model.mask_head.type).__module__.startswith("solov2_plugin.")
    assert cfg.get("load_from") is None
    remote = [
        value
        for value in walk(cfg.to_dict())
        if isinstance(value, str) and value.startswith(REMOTE_PREFIXES)
    ]
    assert remote == []


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_config_data_parts_are_registered(path):
    cfg = Config.fromfile(str(path))
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        dataset = cfg[loader].dataset
        assert DATASETS.get(dataset.type) is not None, dataset.type
        Compose(dataset.pipeline)  # builds every transform with its arguments
    for evaluator in ("val_evaluator", "test_evaluator"):
        assert METRICS.get(cfg[evaluator].type) is not None


@pytest.mark.parametrize("path", CONFIGS, ids=[path.stem for path in CONFIGS])
def test_shrunk_model_runs_loss_predict_and_tensor(path):
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(shrink(cfg.model))
    model.init_weights()

    losses = model(**inputs(model, training=True), mode="loss")
    assert set(losses) == {"loss_mask", "loss_cls"}
    assert all(torch.isfinite(value) for value in losses.values())
    sum(losses.values()).backward()

    model.eval()
    with torch.no_grad():
        model.mask_head.cls_pred.bias.fill_(1.0)  # confident enough to predict something
        model.mask_head.kernel_pred.weight.normal_(0, 0.5)
        samples = model(**inputs(model, training=False), mode="predict")
        (outs,) = model(inputs(model, training=False)["inputs"], mode="tensor")
    assert sum(len(sample.pred_instances) for sample in samples) > 0
    for sample in samples:
        pred = sample.pred_instances
        assert pred.masks.dtype == torch.bool
        stride = cfg.model.test_cfg.get("mask_out_stride", 1)
        assert pred.masks.shape[1:] == tuple(-(-size // stride) for size in sample.ori_shape)
        if stride == 1:
            torch.testing.assert_close(pred.bboxes, masks_to_boxes(pred.masks))
    kernels, cls_logits, mask_feats = outs
    assert len(kernels) == len(cls_logits) == len(cfg.model.mask_head.strides)
    assert mask_feats.shape[0] == 2
