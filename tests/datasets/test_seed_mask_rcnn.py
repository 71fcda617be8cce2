"""mmdet's Mask R-CNN trains on the seed format with only the dataset and loading step swapped."""

import math

import torch
from seed_samples import CLASSES, build_training, write_sample

CONFIG = """
_base_ = "mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py"
custom_imports = dict(imports=["solov2_plugin"], allow_failed_imports=False)

# Shrunk for a 2-core test: ResNet-18, 32-channel FPN, no pretrained weights, tiny images.
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=3),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(in_channels=32, conv_out_channels=32, num_classes=3),
    ),
)
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadSeedInstanceMasks"),  # instead of LoadAnnotations(with_bbox, with_mask)
    dict(type="Resize", scale=(96, 64), keep_ratio=True),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PackDetInputs"),
]
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False),
    dataset=dict(
        _delete_=True,
        type="SeedInstanceDataset",
        data_root="{root}",
        metainfo=dict(classes={classes}),
        pipeline=train_pipeline,
    ),
)
"""


def test_mask_rcnn_training_steps_on_seed_format_including_an_empty_image(tmp_path):
    root = tmp_path / "split"
    write_sample(root, "a", (3, 7, 12))
    write_sample(root, "b", (300, 65000), label_bits=16)
    write_sample(root, "c", ())
    write_sample(root, "d", (70000,))
    config_file = tmp_path / "mask_rcnn_seed.py"
    config_file.write_text(CONFIG.format(root=root, classes=CLASSES))
    model, loader, optim_wrapper = build_training(config_file)
    before = model.roi_head.mask_head.conv_logits.weight.detach().clone()
    sizes = []
    for data in loader:
        sizes.append([len(s.gt_instances) for s in data["data_samples"]])
        losses = model.train_step(data, optim_wrapper)
        assert {"loss_rpn_cls", "loss_cls", "loss_bbox", "loss_mask"} <= set(losses)
        assert all(math.isfinite(float(value.detach())) for value in losses.values()), losses
    assert sizes == [[3, 2], [0, 1]]  # samples a, b, c (empty), d in base-name order, batches of 2
    assert not torch.equal(before, model.roi_head.mask_head.conv_logits.weight)
