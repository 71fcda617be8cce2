"""Tests of SOLOv2DynamicHead: shapes, losses, post-processing and the dynamic conv."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.mask import BitmapMasks
from mmengine.config import ConfigDict
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from torch.utils.flop_counter import FlopCounterMode

from solov2_plugin.models.dense_heads import SOLOv2DynamicHead, dynamic_conv, points_nms
from solov2_plugin.models.layers import ChannelLayerNorm
from solov2_plugin.models.task_modules import (
    SOLOv2CenterRegionAssigner,
    SOLOv2MaskExtentAssigner,
    assign_solo_targets,
)
from solov2_plugin.structures import masks_to_boxes

GN4 = dict(type="GN", num_groups=4, requires_grad=True)
NUM_CLASSES = 3
SEED_ASSIGNER = dict(type="SOLOv2MaskExtentAssigner", offset_factor=0.25, route_thin=True)
EPS = 1e-3  # SOLOv2DiceLoss's eps


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


def reference_losses(head, outs, gts, mode="mmdet", **options):
    """The head's losses recomputed from the pure functions, step by step.

    Targets from ``assign_solo_targets``; one ``F.conv2d`` per kernel; dice and
    focal terms written out; mask terms summed / positive cells (pooled: per
    image, then the mean over images holding positives); focal / (cells + 1).
    """
    kernel_preds, cls_preds, mask_feats = outs
    grids = [tuple(pred.shape[-2:]) for pred in cls_preds]
    size, stride = head.dynamic_conv_size, head.mask_stride
    channels = mask_feats.shape[1]
    labels = [[None] * len(gts) for _ in grids]  # level-major, as the logits below
    mask_terms, image_terms, num_pos = [], [], 0
    for img_id, gt in enumerate(gts):
        masks = gt.masks.to_tensor(torch.bool, "cpu")
        levels = assign_solo_targets(
            masks,
            gt.labels,
            num_classes=NUM_CLASSES,
            grid_sizes=grids,
            scale_ranges=head.scale_ranges,
            mask_size=tuple(mask_feats.shape[-2:]),
            mask_stride=stride,
            mode=mode,
            gt_bboxes=gt.bboxes,
            strides=head.strides,
            **options,
        )
        sums = torch.zeros(3)
        for level, target in enumerate(levels):
            labels[level][img_id] = target.labels
            num_pos += len(set(target.pos_inds.tolist()))
            flat = kernel_preds[level][img_id].flatten(1)
            for cell, mask_target in zip(target.pos_inds.tolist(), target.mask_targets):
                weight = flat[:, cell].view(1, channels, size, size)
                probs = F.conv2d(mask_feats[img_id : img_id + 1], weight, padding=size // 2)
                probs = probs[0, 0].sigmoid()
                inter, pp, tt = (probs * mask_target).sum(), (probs**2).sum(), mask_target.sum()
                mask_terms.append(1 - 2 * inter / ((pp + EPS) + (tt + EPS)))
                sums = sums + torch.stack([inter, pp, tt])
        if sums[2] > 0:
            image_terms.append(1 - 2 * sums[0] / ((sums[1] + EPS) + (sums[2] + EPS)))
    weight = head.loss_mask.loss_weight
    if not mask_terms:
        loss_mask = torch.tensor(0.0)
    elif head.loss_mask.pooled:
        loss_mask = weight * torch.stack(image_terms).mean()
    else:
        loss_mask = weight * torch.stack(mask_terms).sum() / num_pos
    logits = torch.cat([pred.permute(0, 2, 3, 1).reshape(-1, NUM_CLASSES) for pred in cls_preds])
    labels = torch.cat([label for per_level in labels for label in per_level])
    targets = F.one_hot(labels, NUM_CLASSES + 1)[:, :NUM_CLASSES].float()
    probs = logits.sigmoid()
    focal = -(
        0.25 * targets * (1 - probs) ** 2 * F.logsigmoid(logits)
        + 0.75 * (1 - targets) * probs**2 * F.logsigmoid(-logits)
    )
    return dict(loss_mask=loss_mask, loss_cls=focal.sum() / (num_pos + 1))


# Hand-made scene for hand-computed losses (64 x 128 input, mask features 16 x 32, 512 px).
# Image 0: box [40, 8, 88, 48], label 2: scale sqrt(48 * 40) = 43.8 -> levels 1 and 2.
#   Centre of mass (27.5, 63.5); half sizes 0.5 * 0.2 * (40, 48) = (4, 4.8).
#   Level 1 (8 x 8, cells 8 x 16 px): rows trunc(23.5/8)=2 .. trunc(31.5/8)=3, cols
#   trunc(58.7/16)=3 .. trunc(68.3/16)=4 -> cells 19, 20, 27, 28.
#   Level 2 (6 x 6): rows trunc(23.5*6/64)=2 .. trunc(31.5*6/64)=2, cols
#   trunc(58.7*6/128)=2 .. trunc(68.3*6/128)=3 -> cells 14, 15.  6 claims.
#   Mask target at stride 4: 10 x 12 = 120 pixels.
# Image 1: box [8, 8, 24, 24], label 1: scale 16 -> levels 0 and 1; centre (15.5, 15.5),
#   half sizes 1.6. Level 0 (10 x 10, cells 6.4 x 12.8 px): row 2, col 1 -> cell 21.
#   Level 1: rows trunc(13.9/8)=1 .. trunc(17.1/8)=2, cols 0 .. trunc(17.1/16)=1
#   -> cells 8, 9, 16, 17.  5 claims. Mask target 4 x 4 = 16 pixels.
HAND_BOXES = ([[40, 8, 88, 48]], [[8, 8, 24, 24]])
HAND_LABELS = ([2], [1])
HAND_CELLS = ({1: [19, 20, 27, 28], 2: [14, 15]}, {0: [21], 1: [8, 9, 16, 17]})
HAND_TARGET_PIXELS = (120, 16)
KERNEL_LOGITS = (1.0, -0.5)  # every dynamic kernel of image 0 gives logit 1.0, image 1 -0.5
CLS_LOGIT = -2.0


def hand_made_outputs(head):
    """Head outputs whose mask logits are KERNEL_LOGITS[image] at every pixel."""
    grids = head.num_grids
    mask_feats = torch.zeros(2, 8, 16, 32)
    mask_feats[:, 0] = 1.0
    kernels = []
    for grid in grids:
        level = torch.zeros(2, 8, grid, grid)
        for img_id, logit in enumerate(KERNEL_LOGITS):
            level[img_id, 0] = logit
        kernels.append(level)
    cls_preds = [torch.full((2, NUM_CLASSES, grid, grid), CLS_LOGIT) for grid in grids]
    return kernels, cls_preds, mask_feats


def hand_gts():
    return [gt_instances(boxes, labels) for boxes, labels in zip(HAND_BOXES, HAND_LABELS)]


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def hand_focal(num_pos):
    """Focal loss of CLS_LOGIT everywhere: 2 x 225 cells x 3 classes, num_pos positives."""
    p = sigmoid(CLS_LOGIT)
    pos = -0.25 * (1 - p) ** 2 * math.log(p)
    neg = -0.75 * p**2 * math.log(1 - p)
    cells = 2 * sum(grid * grid for grid in (10, 8, 6, 4, 3))
    total = num_pos * (pos + (NUM_CLASSES - 1) * neg) + (cells - num_pos) * NUM_CLASSES * neg
    return total / (num_pos + 1)


def test_hand_made_scene_claims_the_hand_computed_cells():
    head = build_head()
    _, cls_preds, mask_feats = hand_made_outputs(head)
    for gt, cells, pixels in zip(hand_gts(), HAND_CELLS, HAND_TARGET_PIXELS):
        levels = head.assigner.assign(
            gt.masks.to_tensor(torch.bool, "cpu"),
            gt.labels,
            num_classes=NUM_CLASSES,
            grid_sizes=[tuple(pred.shape[-2:]) for pred in cls_preds],
            scale_ranges=head.scale_ranges,
            mask_size=(16, 32),
            gt_bboxes=gt.bboxes,
        )
        assert {lvl: t.pos_inds.tolist() for lvl, t in enumerate(levels) if len(t.pos_inds)} == (
            cells
        )
        assert all(t.mask_targets.sum((1, 2)).eq(pixels).all() for t in levels)


def test_per_instance_dice_through_the_head_matches_hand_computation():
    head = build_head()  # SOLOv2DiceLoss, loss_weight 3, per instance
    losses = head.loss_by_feat(
        *hand_made_outputs(head), batch_gt_instances=hand_gts(), batch_img_metas=[meta(), meta()]
    )
    terms = []
    for logit, pixels, cells in zip(KERNEL_LOGITS, HAND_TARGET_PIXELS, HAND_CELLS):
        p = sigmoid(logit)
        dice = 1 - 2 * p * pixels / ((512 * p * p + EPS) + (pixels + EPS))
        terms += [dice] * sum(len(c) for c in cells.values())
    assert len(terms) == 11
    assert losses["loss_mask"].item() == pytest.approx(3.0 * sum(terms) / 11, rel=1e-5)
    assert losses["loss_cls"].item() == pytest.approx(hand_focal(11), rel=1e-5)


def test_levels_without_claims_stay_out_of_the_mask_loss_graph():
    """Their kernels get no gradient at all (not zeros): backward skips their tower."""
    head = build_head()
    kernels, cls_preds, mask_feats = hand_made_outputs(head)
    kernels = [level.requires_grad_() for level in kernels]
    losses = head.loss_by_feat(
        kernels,
        cls_preds,
        mask_feats,
        batch_gt_instances=hand_gts(),
        batch_img_metas=[meta(), meta()],
    )
    losses["loss_mask"].backward()
    claimed = {level for cells in HAND_CELLS for level in cells}
    assert claimed == {0, 1, 2}
    assert [level.grad is not None for level in kernels] == [True, True, True, False, False]


def test_pooled_dice_through_the_head_is_the_mean_over_images():
    """The seed's loss: one dice term per image (all its claims pooled), mean over images.

    Before the fix the head divided the per-image sum by the 11 positive cells.
    """
    head = build_head(loss_mask=dict(type="SOLOv2DiceLoss", loss_weight=1.0, pooled=True))
    losses = head.loss_by_feat(
        *hand_made_outputs(head), batch_gt_instances=hand_gts(), batch_img_metas=[meta(), meta()]
    )
    per_image = []
    for logit, pixels, cells in zip(KERNEL_LOGITS, HAND_TARGET_PIXELS, HAND_CELLS):
        p, claims = sigmoid(logit), sum(len(c) for c in cells.values())
        inter, pp, tt = claims * p * pixels, claims * 512 * p * p, claims * pixels
        per_image.append(1 - 2 * inter / ((pp + EPS) + (tt + EPS)))
    assert losses["loss_mask"].item() == pytest.approx(sum(per_image) / 2, rel=1e-5)
    assert losses["loss_cls"].item() == pytest.approx(hand_focal(11), rel=1e-5)


def test_pooled_dice_ignores_images_without_positives():
    head = build_head(loss_mask=dict(type="SOLOv2DiceLoss", loss_weight=1.0, pooled=True))
    only_first = [hand_gts()[0], empty_gt()]
    losses = head.loss_by_feat(
        *hand_made_outputs(head), batch_gt_instances=only_first, batch_img_metas=[meta(), meta()]
    )
    p = sigmoid(KERNEL_LOGITS[0])
    expected = 1 - 2 * 6 * p * 120 / ((6 * 512 * p * p + EPS) + (6 * 120 + EPS))
    assert losses["loss_mask"].item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("bad_label", [NUM_CLASSES, NUM_CLASSES + 4, -1])
def test_out_of_range_label_raises_naming_the_range_and_the_key(bad_label):
    head = build_head()
    gts = [gt_instances([[40, 8, 88, 48], [8, 8, 24, 24]], [0, bad_label]), empty_gt()]
    metas = [dict(meta(), img_path="data/x/images/a.png"), meta()]
    with pytest.raises(ValueError) as error:
        head.loss_by_feat(*head(fpn_feats()), batch_gt_instances=gts, batch_img_metas=metas)
    message = str(error.value)
    for part in (f"[{bad_label}]", "0..2", "a.png", "cls_ind", "model.mask_head.num_classes"):
        assert part in message


def test_out_of_range_label_names_the_classes_when_the_meta_has_them():
    head = build_head()
    metas = [dict(meta(), classes=("cat", "dog", "cow")), meta()]
    gts = [gt_instances([[8, 8, 24, 24]], [3]), empty_gt()]
    with pytest.raises(ValueError, match=r"\['cat', 'dog', 'cow'\]"):
        head.loss_by_feat(*head(fpn_feats()), batch_gt_instances=gts, batch_img_metas=metas)


@pytest.mark.parametrize(
    ("cfg_key", "cfg", "match"),
    [
        ("test_cfg", dict(score_threshold=0.9), r"\['score_threshold'\].*score_thr"),
        ("test_cfg", ConfigDict(nms_pre=10, max_per_image=5), r"max_per_image.*max_per_img"),
        ("train_cfg", dict(assigner=None, pos_scale=0.3), r"\['pos_scale'\].*assigner"),
        ("train_cfg", ConfigDict(assigners=dict()), "assigners"),
    ],
)
def test_unknown_cfg_keys_raise(cfg_key, cfg, match):
    with pytest.raises(ValueError, match=match):
        build_head(**{cfg_key: cfg})


def test_known_cfg_keys_are_accepted_as_config_dicts():
    head = build_head(
        test_cfg=ConfigDict(score_thr=0.3, mask_out_stride=2, chunk_elements=4096),
        train_cfg=ConfigDict(assigner=ConfigDict(type="SOLOv2CenterRegionAssigner", pos_scale=0.5)),
    )
    assert head.assigner.pos_scale == 0.5
    assert isinstance(build_head().assigner, SOLOv2CenterRegionAssigner)
    assert build_head().assigner.pos_scale == 0.2


def test_losses_match_mmdet_solov2_head_on_the_same_outputs():
    """mmdet's own SOLOV2Head.loss_by_feat, fed our head's outputs, is the reference."""
    from mmdet.models.dense_heads import SOLOV2Head

    head = build_head()
    reference = SOLOV2Head(
        num_classes=NUM_CLASSES,
        in_channels=8,
        feat_channels=8,
        stacked_convs=1,
        strides=head.strides,
        scale_ranges=head.scale_ranges,
        pos_scale=0.2,
        num_grids=head.num_grids,
        norm_cfg=GN4,
        mask_feature_head=dict(
            feat_channels=8, start_level=0, end_level=3, out_channels=8, mask_stride=4
        ),
    )
    outs = head(fpn_feats())
    args = dict(batch_gt_instances=[crowd_gt(), crowd_gt()], batch_img_metas=[meta(), meta()])
    ours = head.loss_by_feat(*outs, **args)
    theirs = reference.loss_by_feat(*outs, **args)
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(ours[key], theirs[key], rtol=1e-6, atol=1e-6)
    assert ours["loss_mask"].item() == pytest.approx(
        reference_losses(head, outs, args["batch_gt_instances"])["loss_mask"].item(), rel=1e-5
    )


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
    gts = [empty_gt(), empty_gt()]
    losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=[meta(), meta()])
    # Every cell is background: the focal negatives summed, divided by 0 + 1.
    expected = reference_losses(head, outs, gts)["loss_cls"]
    torch.testing.assert_close(losses["loss_cls"], expected, rtol=1e-5, atol=0)
    assert losses["loss_mask"] == 0
    (losses["loss_cls"] + losses["loss_mask"]).backward()
    out_conv = head.mask_feature_head.out_conv.conv.weight
    assert out_conv.grad is not None and torch.all(out_conv.grad == 0)
    assert head.cls_pred.weight.grad.abs().sum() > 0


def test_loss_with_one_instance_and_with_many():
    head = build_head()
    outs = head(fpn_feats())
    for gts in ([gt_instances([[40, 10, 90, 50]], [2]), empty_gt()], [crowd_gt(), crowd_gt()]):
        losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=[meta(), meta()])
        expected = reference_losses(head, outs, gts)
        for key in ("loss_cls", "loss_mask"):
            torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)
    (losses["loss_cls"] + losses["loss_mask"]).backward()
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
def test_seed_assigner_losses_with_aspect_grids_and_thin_routing(kernel_size):
    head = build_head(
        dynamic_conv_size=kernel_size,
        keep_aspect_grids=True,
        level_resize="none",
        strides=(4, 8, 16, 32, 64),
        train_cfg=dict(assigner=SEED_ASSIGNER),
        loss_mask=dict(type="SOLOv2DiceLoss", loss_weight=1.0, pooled=True),
    )
    assert isinstance(head.assigner, SOLOv2MaskExtentAssigner)
    assert head.assigner.options() == dict(offset_factor=0.25, route_thin=True)
    thin_and_crowd = gt_instances([[2, 30, 126, 34], [10, 8, 60, 50], [70, 2, 100, 40]], [0, 1, 2])
    gts, metas = [thin_and_crowd, empty_gt()], [meta(), meta()]
    outs = head(fpn_feats())
    losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=metas)
    expected = reference_losses(head, outs, gts, mode="seed", offset_factor=0.25, route_thin=True)
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)
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


@pytest.mark.parametrize(
    "device, kernel_size, operation",
    [("cpu", 1, "mm"), ("cpu", 3, "convolution"), ("meta", 1, "convolution")],
)
def test_dynamic_conv_is_a_product_on_the_cpu_and_mmdets_convolution_elsewhere(
    device, kernel_size, operation
):
    """Off the CPU (here the meta device, as a GPU would) it is mmdet's convolution."""
    feats = torch.randn(4, 9, 11, device=device)
    kernels = torch.randn(5, 4 * kernel_size**2, device=device)
    with FlopCounterMode(display=False) as counter:
        out = dynamic_conv(feats, kernels, kernel_size)
    assert out.shape == (5, 9, 11) and out.device.type == device
    assert [str(op) for op in counter.get_flop_counts()["Global"]] == [f"aten.{operation}"]


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
        (dict(train_cfg=dict(assigner=dict(type="MaxIoUAssigner"))), "SOLOv2 grid assigner"),
        (
            dict(train_cfg=dict(assigner=dict(type="SOLOv2CenterRegionAssigner", route_thin=True))),
            "route_thin",
        ),
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
    gts = [crowd_gt(), empty_gt()]
    losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=[meta(), meta()])
    expected = reference_losses(head, outs, gts)
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)
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
    outs = head(fpn_feats())
    gts = [crowd_gt(), empty_gt()]
    losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=[meta(), meta()])
    expected = reference_losses(head, outs, gts)
    for key in ("loss_cls", "loss_mask"):
        torch.testing.assert_close(losses[key], expected[key], rtol=1e-5, atol=1e-6)


def bf16_outputs(head, **feats_kwargs):
    """The head's outputs for random features, rounded to bfloat16 (as under autocast)."""
    with torch.no_grad():
        return [
            [level.bfloat16() for level in out] if isinstance(out, list) else out.bfloat16()
            for out in head(fpn_feats(**feats_kwargs))
        ]


def as_float32(outs):
    return [
        [level.float() for level in out] if isinstance(out, list) else out.float() for out in outs
    ]


def test_losses_are_computed_in_float32_under_bf16_autocast():
    head = build_head()
    outs = bf16_outputs(head)
    gts, metas = [crowd_gt(), crowd_gt()], [meta(), meta()]
    expected = head.loss_by_feat(*as_float32(outs), batch_gt_instances=gts, batch_img_metas=metas)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = head.loss_by_feat(*outs, batch_gt_instances=gts, batch_img_metas=metas)
        # Without the float32 guard, the dynamic convolution and the sums run in bfloat16.
        unguarded = SOLOv2DynamicHead.loss_by_feat.__wrapped__(
            head, *outs, batch_gt_instances=gts, batch_img_metas=metas
        )
    for key in ("loss_cls", "loss_mask"):
        assert losses[key].dtype == torch.float32
        assert torch.equal(losses[key], expected[key]), key
    assert not torch.equal(unguarded["loss_mask"].float(), expected["loss_mask"])


def test_predictions_are_computed_in_float32_under_bf16_autocast():
    head = confident_head()
    outs = bf16_outputs(head)
    metas = [meta(), meta()]
    with torch.no_grad():
        expected = head.predict_by_feat(*as_float32(outs), batch_img_metas=metas)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            results = head.predict_by_feat(*outs, batch_img_metas=metas)
    for result, reference in zip(results, expected):
        assert len(reference) > 0
        assert result.scores.dtype == torch.float32
        for key in ("scores", "labels", "masks", "bboxes"):
            assert torch.equal(result[key], reference[key]), key
