"""Our SOLOv2 maths against mmdet 3.3's own, on the same random inputs.

mmdet is the reference here only; the package never imports its SOLOv2.
"""

import mmcv
import numpy as np
import pytest
import torch
from mmdet.models.dense_heads import SOLOV2Head
from mmdet.models.layers import mask_matrix_nms
from mmdet.models.losses import DiceLoss, FocalLoss
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

from solov2_plugin.models.layers.matrix_nms import matrix_nms
from solov2_plugin.models.losses import SOLOv2DiceLoss, SOLOv2FocalLoss
from solov2_plugin.models.task_modules import assign_solo_targets
from solov2_plugin.models.task_modules.solo_targets import _rescale_masks
from solov2_plugin.structures import masks_to_boxes
from solov2_plugin.testing import random_instance_masks

NUM_CLASSES = 4
# mmdet's configs/solov2 values, and a version scaled to 256-pixel inputs so that
# every level receives instances.
MMDET_RANGES = ((1, 96), (48, 192), (96, 384), (192, 768), (384, 2048))
SMALL_RANGES = ((1, 24), (12, 48), (24, 96), (48, 192), (96, 512))
MMDET_GRIDS = [40, 36, 24, 16, 12]


def _crowded_scene(seed, num, size, side_range=(1.0, 150.0)):
    """Overlapping ellipses and rectangles of many sizes, tiny ones and one empty mask."""
    rng = np.random.default_rng(seed)
    masks = random_instance_masks(rng, num, size, side_range=side_range, allow_empty=True)
    masks[num // 2] = False  # an empty mask, whatever was drawn
    labels = rng.integers(0, NUM_CLASSES, num)
    return masks, labels


def _mmdet_head(scale_ranges):
    return SOLOV2Head(
        num_classes=NUM_CLASSES,
        in_channels=8,
        feat_channels=8,
        stacked_convs=1,
        strides=[8, 8, 16, 32, 32],
        scale_ranges=scale_ranges,
        pos_scale=0.2,
        num_grids=MMDET_GRIDS,
        norm_cfg=dict(type="GN", num_groups=4, requires_grad=True),
        mask_feature_head=dict(
            feat_channels=8, start_level=0, end_level=3, out_channels=8, mask_stride=4
        ),
    )


@pytest.mark.parametrize("scale_ranges", [MMDET_RANGES, SMALL_RANGES], ids=["mmdet", "small"])
@pytest.mark.parametrize("seed,size", [(0, (256, 256)), (1, (192, 320)), (2, (128, 96))])
@pytest.mark.parametrize("box_source", ["masks", "jittered"])
def test_targets_match_mmdet_head(scale_ranges, seed, size, box_source):
    masks, labels = _crowded_scene(seed, 40, size)
    masks_t = torch.from_numpy(masks)
    boxes = masks_to_boxes(masks_t)
    if box_source == "jittered":  # annotation boxes that disagree with the masks
        gen = torch.Generator().manual_seed(seed)
        boxes = (boxes + torch.randn(boxes.shape, generator=gen) * 3).clamp(min=0)
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2])
    gt = InstanceData(
        bboxes=boxes, labels=torch.from_numpy(labels), masks=BitmapMasks(masks, *size)
    )
    featmap_size = (size[0] // 4, size[1] // 4)
    mask_targets, mm_labels, _, pos_indexes = _mmdet_head(scale_ranges)._get_targets_single(
        gt, featmap_sizes=featmap_size
    )

    ours = assign_solo_targets(
        masks_t,
        torch.from_numpy(labels),
        num_classes=NUM_CLASSES,
        grid_sizes=[(s, s) for s in MMDET_GRIDS],
        scale_ranges=scale_ranges,
        mask_size=featmap_size,
        mask_stride=4,
        mode="mmdet",
        pos_scale=0.2,
        gt_bboxes=boxes,
    )
    total_claims = 0
    for level, ref_targets, ref_labels, ref_inds in zip(ours, mask_targets, mm_labels, pos_indexes):
        assert torch.equal(level.labels, ref_labels.flatten())
        assert level.pos_inds.tolist() == list(ref_inds)
        assert torch.equal(level.mask_targets, ref_targets.float())
        total_claims += len(ref_inds)
    assert total_claims > 40  # the scene does exercise the assignment


def test_empty_ground_truth_matches_mmdet_head():
    size = (64, 64)
    gt = InstanceData(
        bboxes=torch.zeros(0, 4),
        labels=torch.zeros(0, dtype=torch.long),
        masks=BitmapMasks(np.zeros((0, *size), dtype=np.uint8), *size),
    )
    mask_targets, mm_labels, _, _ = _mmdet_head(MMDET_RANGES)._get_targets_single(
        gt, featmap_sizes=(16, 16)
    )
    ours = assign_solo_targets(
        torch.zeros(0, *size, dtype=torch.bool),
        torch.zeros(0, dtype=torch.long),
        num_classes=NUM_CLASSES,
        grid_sizes=MMDET_GRIDS,
        scale_ranges=MMDET_RANGES,
        mask_size=(16, 16),
    )
    for level, ref_targets, ref_labels in zip(ours, mask_targets, mm_labels):
        assert torch.equal(level.labels, ref_labels.flatten())
        assert level.mask_targets.shape == ref_targets.shape


@pytest.mark.parametrize("stride", [4, 2])
def test_mask_rescale_matches_mmcv_imrescale(stride):
    rng = np.random.default_rng(stride)
    # Sizes that divide by the stride: exact. Others: cv2's fixed-point weights differ
    # from float bilinear on some boundary pixels.
    for size, exact in [((64, 128), True), ((96, 40), True), ((66, 70), False), ((63, 131), False)]:
        masks, _ = _crowded_scene(int(rng.integers(1 << 30)), 12, size, side_range=(1.0, 60.0))
        reference = np.stack(
            [mmcv.imrescale(m.astype(np.uint8), scale=1.0 / stride) for m in masks]
        )
        out_size = reference.shape[1:]
        ours = _rescale_masks(torch.from_numpy(masks), stride, out_size).numpy()
        mismatch = (ours != reference).mean()
        if exact:
            assert mismatch == 0
        else:
            assert mismatch < 0.01


@pytest.mark.parametrize("kernel", ["gaussian", "linear"])
@pytest.mark.parametrize(
    "nms_pre,max_num,filter_thr", [(-1, -1, -1), (20, 10, 0.05), (500, 100, 0.2)]
)
def test_matrix_nms_matches_mmdet(kernel, nms_pre, max_num, filter_thr):
    masks, _ = _crowded_scene(7, 40, (48, 48), side_range=(2.0, 30.0))
    masks = torch.from_numpy(masks[masks.any(axis=(1, 2))])  # mmdet's head drops empty masks
    gen = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 3, (len(masks),), generator=gen)
    scores = torch.rand(len(masks), generator=gen)
    areas = masks.sum((1, 2)).float()
    ref = mask_matrix_nms(
        masks,
        labels,
        scores,
        filter_thr=filter_thr,
        nms_pre=nms_pre,
        max_num=max_num,
        kernel=kernel,
        sigma=2.0,
        mask_area=areas,
    )
    ours = matrix_nms(
        masks,
        labels,
        scores,
        mask_areas=areas,
        nms_pre=nms_pre,
        max_num=max_num,
        kernel=kernel,
        sigma=2.0,
        filter_thr=filter_thr,
    )
    assert len(ours[3]) > 5
    torch.testing.assert_close(ours[0], ref[0], rtol=0, atol=1e-6)
    for a, b in zip(ours[1:], ref[1:]):
        assert torch.equal(a, b)


def test_dice_loss_matches_mmdet():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(9, 24, 32, generator=gen) * 3
    targets = (torch.rand(9, 24, 32, generator=gen) < 0.3).float()
    targets[0] = 0  # a vanished mask target
    ref = DiceLoss(use_sigmoid=True, activate=True, loss_weight=3.0)
    ours = SOLOv2DiceLoss(use_sigmoid=True, loss_weight=3.0)
    for kwargs in (dict(reduction_override="none"), {}, dict(avg_factor=5)):
        torch.testing.assert_close(
            ours(logits, targets, **kwargs), ref(logits, targets, **kwargs), rtol=0, atol=1e-6
        )


def test_focal_loss_matches_mmdet():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(300, NUM_CLASSES, generator=gen) * 4
    labels = torch.randint(0, NUM_CLASSES + 1, (300,), generator=gen)
    ref = FocalLoss(use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)
    ours = SOLOv2FocalLoss(gamma=2.0, alpha=0.25, loss_weight=1.0)
    num_pos = int((labels != NUM_CLASSES).sum())
    for kwargs in (dict(avg_factor=num_pos + 1), {}, dict(reduction_override="sum")):
        torch.testing.assert_close(
            ours(logits, labels, **kwargs), ref(logits, labels, **kwargs), rtol=1e-6, atol=1e-6
        )
