"""Equivalence with mmdet 3.3's SOLOv2: same weights give the same losses and predictions.

mmdet's model is built from its own ``solov2/solov2_r50_fpn_1x_coco.py`` and ours from
``configs/solov2_r50_fpn_1x_coco.py``; mmdet's state dict loads straight into ours
(``SOLOv2Segmentor`` renames mmdet's head parameters while loading). The default run shrinks
both configs the same way (ResNet-18, narrower head); the full R50 run is marked slow.
"""

import copy
from pathlib import Path

import mmdet
import mmdet.models.dense_heads.solov2_head as mmdet_solov2_head
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import solov2_plugin  # noqa: F401  (registers our modules)
from solov2_plugin.benchmark.models import model_config
from solov2_plugin.structures import masks_to_boxes
from solov2_plugin.testing import random_instance_masks

REPO = Path(__file__).resolve().parents[2]
MMDET_CONFIG = Path(mmdet.__file__).parent / ".mim/configs/solov2/solov2_r50_fpn_1x_coco.py"
OUR_CONFIG = REPO / "configs/solov2_r50_fpn_1x_coco.py"
SIZE = 256
TOL = 1e-4
# Mask probabilities at mask-feature size (before upsampling); a score whose mask gained or lost
# a pixel on the threshold.
LOW_RES_TOL = 1e-5
FLIP_TOL = 1e-3


def crowded_scene(rng, num=30):
    """``num`` overlapping ellipses and rectangles from 6 to 150 px, random classes of 80."""
    masks = random_instance_masks(rng, num, (SIZE, SIZE))
    return InstanceData(
        masks=BitmapMasks(masks.astype(np.uint8), SIZE, SIZE),
        labels=torch.from_numpy(rng.integers(0, 80, num)),
        bboxes=masks_to_boxes(torch.from_numpy(masks)),
    )


class CapturingFunctional:
    """Stands in for ``torch.nn.functional`` in mmdet's head module, recording interpolations."""

    def __init__(self):
        self.inputs = []
        self.interpolated = []

    def __getattr__(self, name):
        return getattr(F, name)

    def interpolate(self, input, *args, **kwargs):
        out = F.interpolate(input, *args, **kwargs)
        self.inputs.append(input)
        self.interpolated.append(out)
        return out


@pytest.fixture(scope="module", params=[True, pytest.param(False, marks=pytest.mark.slow)])
def models(request):
    """(mmdet SOLOv2, our SOLOv2Segmentor) with identical weights, in eval mode."""
    with DefaultScope.overwrite_default_scope("mmdet"):
        torch.manual_seed(0)
        reference = MODELS.build(model_config(MMDET_CONFIG, shrink=request.param))
        reference.init_weights()
        with torch.no_grad():
            # Confident categories (the 0.01 prior predicts nothing) and varied kernels, so
            # that many instances survive post-processing.
            reference.mask_head.conv_cls.bias[:3] = -1.0
            reference.mask_head.conv_kernel.weight.normal_(0, 0.05)
        ours = MODELS.build(model_config(OUR_CONFIG, shrink=request.param))
    # mmdet's names, loaded as they are: strict, so no key is missing or left over.
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference.eval(), ours.eval()


@pytest.fixture(scope="module")
def crowded_batch():
    rng = np.random.default_rng(0)
    img_meta = dict(
        img_shape=(SIZE, SIZE),
        ori_shape=(SIZE, SIZE),
        pad_shape=(SIZE, SIZE),
        batch_input_shape=(SIZE, SIZE),
        scale_factor=(1.0, 1.0),
    )
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, SIZE, SIZE)
    return inputs, [crowded_scene(rng), crowded_scene(rng)], [dict(img_meta), dict(img_meta)]


@pytest.fixture(scope="module")
def head_outputs(models, crowded_batch):
    """Both models' head outputs on the crowded batch (with autograd graphs)."""
    reference, ours = models
    inputs = crowded_batch[0]
    return (
        reference.mask_head(reference.extract_feat(inputs)),
        ours.mask_head(ours.extract_feat(inputs)),
    )


def test_same_head_outputs_and_losses(models, crowded_batch, head_outputs):
    reference, ours = models
    _, gts, metas = crowded_batch
    ref_outs, our_outs = head_outputs
    # Same weights, same operations: the head outputs are bit-identical.
    for ref_level, our_level in zip(ref_outs[0] + ref_outs[1], our_outs[0] + our_outs[1]):
        assert torch.equal(our_level, ref_level)
    assert torch.equal(our_outs[2], ref_outs[2])

    ref_losses = reference.mask_head.loss_by_feat(
        *ref_outs, batch_gt_instances=copy.deepcopy(gts), batch_img_metas=metas
    )
    our_losses = ours.mask_head.loss_by_feat(
        *our_outs, batch_gt_instances=copy.deepcopy(gts), batch_img_metas=metas
    )
    for key in ("loss_cls", "loss_mask"):
        assert ref_losses[key] > 0
        torch.testing.assert_close(our_losses[key], ref_losses[key], atol=1e-5, rtol=1e-5)

    # Same losses, same gradients: the training signal is identical.
    sum(ref_losses.values()).backward(retain_graph=True)
    sum(our_losses.values()).backward(retain_graph=True)
    pairs = [
        (reference.mask_head.conv_kernel.weight, ours.mask_head.kernel_pred.weight),
        (reference.mask_head.conv_cls.weight, ours.mask_head.cls_pred.weight),
        (
            reference.mask_head.mask_feature_head.conv_pred.conv.weight,
            ours.mask_head.mask_feature_head.out_conv.conv.weight,
        ),
        (reference.neck.lateral_convs[0].conv.weight, ours.neck.lateral_convs[0].conv.weight),
        # Residual branches start at zero (zero_init_residual), the shortcut conv does not.
        (
            reference.backbone.layer4[0].downsample[0].weight,
            ours.backbone.layer4[0].downsample[0].weight,
        ),
    ]
    for ref_param, our_param in pairs:
        scale = ref_param.grad.abs().max()
        assert scale > 0
        torch.testing.assert_close(our_param.grad, ref_param.grad, atol=1e-4 * scale, rtol=1e-4)
    reference.zero_grad()
    ours.zero_grad()


def test_same_predictions(models, crowded_batch, head_outputs, monkeypatch):
    reference, ours = models
    metas = crowded_batch[2]
    ref_outs, our_outs = head_outputs
    with torch.no_grad():
        capture = CapturingFunctional()
        monkeypatch.setattr(mmdet_solov2_head, "F", capture)
        ref_results = reference.mask_head.predict_by_feat(
            ref_outs[0], list(ref_outs[1]), ref_outs[2], batch_img_metas=metas
        )
        monkeypatch.undo()
        our_low, our_probs = [], []
        resize = ours.mask_head.resize_mask_probs

        def record(probs, *args, **kwargs):
            our_low.append(probs)
            our_probs.append(resize(probs, *args, **kwargs))
            return our_probs[-1]

        monkeypatch.setattr(ours.mask_head, "resize_mask_probs", record)
        our_results = ours.mask_head.predict_by_feat(*our_outs, batch_img_metas=metas)

    # mmdet interpolates twice per image: the first input holds the kept instances' mask
    # probabilities at mask-feature size, the second output the final probabilities.
    ref_lows = [capture.inputs[0][0], capture.inputs[2][0]]
    ref_probs = [capture.interpolated[1][0], capture.interpolated[3][0]]
    compared = flipped = 0
    for ref, our, ref_low, our_low_img, ref_prob, our_prob in zip(
        ref_results, our_results, ref_lows, our_low, ref_probs, our_probs
    ):
        assert len(our) == len(ref)
        assert torch.equal(our.labels, ref.labels.long())
        # mmdet's dynamic conv is F.conv2d, ours a matrix product: probabilities agree to float
        # rounding, and a mask pixel can differ only where the probability sits on mask_thr.
        torch.testing.assert_close(our_low_img, ref_low, atol=LOW_RES_TOL, rtol=0)
        differs = (our_low_img > 0.5) != (ref_low > 0.5)
        assert torch.all(~differs | ((ref_low - 0.5).abs() <= LOW_RES_TOL))
        # Such a pixel moves the mask's area (and maskness, so the score) by one pixel's share.
        exact = ~differs.flatten(1).any(1)
        torch.testing.assert_close(our.scores[exact], ref.scores[exact], atol=TOL, rtol=0)
        torch.testing.assert_close(our.scores, ref.scores, atol=FLIP_TOL, rtol=0)
        flipped += int((~exact).sum())
        torch.testing.assert_close(our_prob, ref_prob, atol=TOL, rtol=0)
        undecided = (ref_prob - 0.5).abs() <= TOL
        assert torch.all((our.masks == ref.masks) | undecided)
        compared += len(our)
    assert flipped <= 0.02 * compared
    assert compared >= 20
