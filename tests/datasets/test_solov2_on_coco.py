"""Our SOLOv2 trains on a COCO-format dataset (mmdet's CocoDataset and LoadAnnotations)."""

import json
import math

import torch
from seed_samples import CLASSES, build_training, write_sample

from solov2_plugin import config_path
from solov2_plugin.datasets import SeedInstanceDataset
from solov2_plugin.datasets.coco_convert import seed_to_coco

# Our COCO config, shrunk for a 2-core test: narrow ResNet-18, small head, tiny images.
OVERRIDES = """
_base_ = "{base}"
model = dict(
    backbone=dict(
        _delete_=True, type="ResNet", depth=18, base_channels=8, out_indices=(0, 1, 2, 3),
        norm_cfg=dict(type="BN"), style="pytorch", init_cfg=None,
    ),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    mask_head=dict(
        num_classes={num_classes}, in_channels=16, feat_channels=16,
        norm_cfg=dict(type="GN", num_groups=4, requires_grad=True),
        mask_feature_head=dict(
            mid_channels=8, out_channels=16,
            norm_cfg=dict(type="GN", num_groups=4, requires_grad=True),
        ),
    ),
)
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False),
    dataset=dict(
        data_root="{root}/",
        ann_file="coco.json",
        data_prefix=dict(img="images/"),
        metainfo=dict(classes={classes}),
        filter_cfg=dict(filter_empty_gt=False),
        pipeline=[
            dict(type="LoadImageFromFile"),
            dict(type="LoadAnnotations", with_bbox=True, with_mask=True),
            dict(type="Resize", scale=(96, 64), keep_ratio=True),
            dict(type="PackDetInputs"),
        ],
    ),
)
"""


def test_solov2_trains_on_a_coco_json(tmp_path):
    root = tmp_path / "split"
    write_sample(root, "a", (3, 7, 12, 20))
    write_sample(root, "b", (300, 65000), label_bits=16)
    seed = SeedInstanceDataset(data_root=str(root), metainfo=dict(classes=CLASSES))
    coco = seed_to_coco([seed.get_data_info(i) for i in range(len(seed))], CLASSES)
    (root / "coco.json").write_text(json.dumps(coco))
    config_file = tmp_path / "solov2_coco_tiny.py"
    config_file.write_text(
        OVERRIDES.format(
            base=config_path("solov2_r50_fpn_1x_coco.py"),
            root=root,
            classes=CLASSES,
            num_classes=len(CLASSES),
        )
    )
    model, loader, optim_wrapper = build_training(config_file)
    kernel_conv = model.mask_head.kernel_pred.weight
    before = kernel_conv.detach().clone()
    (data,) = list(loader)
    assert [len(s.gt_instances) for s in data["data_samples"]] == [4, 2]
    losses = model.train_step(data, optim_wrapper)
    assert {"loss_cls", "loss_mask"} <= set(losses)
    assert all(math.isfinite(float(v)) and float(v) > 0 for v in losses.values()), losses
    assert not torch.equal(before, kernel_conv)
