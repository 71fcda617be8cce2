"""SOLOv2DynamicHead.predict_by_feat against the straightforward (mmdet) post-processing.

The reference below is mmdet's algorithm written out: a mask for every (cell, class)
candidate above ``score_thr``, area and maskness filtering, Matrix NMS with ``nms_pre``,
resizing. The head selects candidates per cell, in chunks, with an early stop: the
detections must be the same.
"""

import pytest
import torch
from mmdet.registry import MODELS

from solov2_plugin.models.dense_heads import dynamic_conv, points_nms
from solov2_plugin.models.layers import matrix_nms

GN4 = dict(type="GN", num_groups=4, requires_grad=True)
NUM_CLASSES = 4
STRIDES = (8, 8, 16, 32, 32)


def build_head(dynamic_conv_size=1, bias=-1.0, **test_cfg):
    cfg = dict(
        type="SOLOv2DynamicHead",
        num_classes=NUM_CLASSES,
        in_channels=8,
        feat_channels=8,
        stacked_convs=1,
        strides=STRIDES,
        scale_ranges=((1, 24), (12, 48), (24, 96), (48, 192), (96, 384)),
        num_grids=(12, 10, 6, 4, 3),
        dynamic_conv_size=dynamic_conv_size,
        norm_cfg=GN4,
        mask_feature_head=dict(mid_channels=8, out_channels=8, norm_cfg=GN4),
        test_cfg=test_cfg or None,
    )
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    with torch.no_grad():
        head.cls_pred.bias.fill_(bias)
        head.cls_pred.weight.normal_(0, 0.3)
        head.kernel_pred.weight.normal_(0, 0.3)
    return head.eval()


def outputs(head, height=96, width=128, batch=2):
    torch.manual_seed(1)
    feats = [torch.randn(batch, 8, -(-height // s), -(-width // s)) for s in (4, 8, 16, 32, 64)]
    with torch.no_grad():
        return head(feats)


def meta(height=96, width=128, ori=None):
    return dict(
        img_shape=(height, width),
        ori_shape=ori or (height, width),
        pad_shape=(height, width),
        batch_input_shape=(height, width),
    )


def reference_predict(head, outs, metas, cfg, with_points_nms=True):
    """mmdet's post-processing: (labels, scores, mask probabilities) per image."""
    kernel_preds, cls_logits, mask_feats = outs
    num_imgs = mask_feats.shape[0]
    local_maxima = points_nms if with_points_nms else (lambda probs: probs)
    scores = torch.cat(
        [
            local_maxima(x.sigmoid()).permute(0, 2, 3, 1).reshape(num_imgs, -1, NUM_CLASSES)
            for x in cls_logits
        ],
        1,
    )
    kernels = torch.cat([k.flatten(2).transpose(1, 2) for k in kernel_preds], 1)
    strides = torch.cat(
        [torch.full((x.shape[-2] * x.shape[-1],), float(s)) for x, s in zip(cls_logits, STRIDES)]
    )
    out = []
    for i, img_meta in enumerate(metas):
        cells, labels = (scores[i] > cfg["score_thr"]).nonzero().unbind(1)
        probs = dynamic_conv(mask_feats[i], kernels[i, cells], head.dynamic_conv_size).sigmoid()
        masks = probs > cfg["mask_thr"]
        areas = masks.sum((1, 2)).float()
        keep = areas > strides[cells]
        probs, masks, areas = probs[keep], masks[keep], areas[keep]
        rescored = scores[i, cells, labels][keep] * ((probs * masks).sum((1, 2)) / areas)
        kept_scores, kept_labels, _, keep_inds = matrix_nms(
            masks,
            labels[keep],
            rescored,
            mask_areas=areas,
            nms_pre=cfg["nms_pre"],
            max_num=cfg["max_per_img"],
            kernel="gaussian",
            sigma=2.0,
            filter_thr=cfg["filter_thr"],
        )
        final = head.resize_mask_probs(probs[keep_inds], img_meta, True)
        out.append((kept_labels, kept_scores, final))
    return out


CFG = dict(nms_pre=500, score_thr=0.1, mask_thr=0.5, filter_thr=0.05, max_per_img=100)


@pytest.mark.parametrize("nms_pre", [500, 25, 3])
@pytest.mark.parametrize("dynamic_conv_size", [1, 3])
def test_same_detections_as_the_straightforward_post_processing(nms_pre, dynamic_conv_size):
    cfg = dict(CFG, nms_pre=nms_pre)
    head = build_head(dynamic_conv_size, **cfg)
    outs = outputs(head)
    metas = [meta(), meta()]
    with torch.no_grad():
        results = head.predict_by_feat(*outs, batch_img_metas=metas)
        expected = reference_predict(head, outs, metas, cfg)
    total = 0
    for result, (labels, scores, probs) in zip(results, expected):
        assert torch.equal(result.labels, labels)
        torch.testing.assert_close(result.scores, scores, atol=1e-6, rtol=0)
        undecided = (probs - 0.5).abs() <= 1e-5
        assert torch.all((result.masks == (probs > 0.5)) | undecided)
        total += len(result)
    assert total >= min(2 * nms_pre, 20)


def test_without_points_nms_every_cell_competes():
    cfg = dict(CFG, nms_pre=500, max_per_img=500)
    head = build_head(**cfg, points_nms=False)
    outs = outputs(head)
    metas = [meta(), meta()]
    with torch.no_grad():
        results = head.predict_by_feat(*outs, batch_img_metas=metas)
        expected = reference_predict(head, outs, metas, cfg, with_points_nms=False)
        head.test_cfg = cfg
        with_nms = head.predict_by_feat(*outs, batch_img_metas=metas)
    for result, (labels, scores, probs), suppressed in zip(results, expected, with_nms):
        assert torch.equal(result.labels, labels)
        torch.testing.assert_close(result.scores, scores, atol=1e-6, rtol=0)
        undecided = (probs - 0.5).abs() <= 1e-5
        assert torch.all((result.masks == (probs > 0.5)) | undecided)
        # Cells that are not 2x2 maxima now compete too.
        assert len(result) > len(suppressed) > 0


def test_small_chunks_give_the_same_detections():
    head = build_head(**CFG)
    outs = outputs(head)
    metas = [meta(), meta(ori=(48, 64))]
    with torch.no_grad():
        default = head.predict_by_feat(*outs, batch_img_metas=metas)
        head.test_cfg = dict(CFG, chunk_elements=1)  # one cell per chunk
        chunked = head.predict_by_feat(*outs, batch_img_metas=metas)
    for a, b in zip(default, chunked):
        assert len(a) > 0
        assert torch.equal(a.labels, b.labels)
        # The chunking may change the last bit of a sigmoid or a matmul, nothing more.
        torch.testing.assert_close(a.scores, b.scores, atol=0, rtol=1e-6)
        assert torch.equal(a.masks, b.masks)
        assert torch.equal(a.bboxes, b.bboxes)


def test_no_candidates_gives_empty_results_of_the_output_size():
    head = build_head(bias=-30.0, **CFG)
    with torch.no_grad():
        results = head.predict_by_feat(*outputs(head), batch_img_metas=[meta(), meta(ori=(48, 64))])
    assert [tuple(r.masks.shape) for r in results] == [(0, 96, 128), (0, 48, 64)]
    for result in results:
        assert result.labels.shape == result.scores.shape == (0,)
        assert result.bboxes.shape == (0, 4)
