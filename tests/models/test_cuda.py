"""CUDA against CPU: target assignment, one training step and predict give the same results.

Every test here is marked ``cuda`` (skipped without a GPU, see tests/conftest.py). Models are
built once on the CPU with fixed seeds and copied to the GPU, so both devices run the same
weights on the same inputs. TF32 is switched off while comparing.

Tolerances: targets must be identical; losses within rtol 1e-4; each gradient within
1e-3 of its largest magnitude; head outputs within 1e-4 (abs) after the sigmoid;
predictions: the same number; the top 50 each matched by label, score (2e-3) and mask IoU
(0.98).
"""

import copy
from typing import Dict, List, Tuple

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import solov2_plugin  # noqa: F401  (registers our modules)
from solov2_plugin import config_path
from solov2_plugin.models.task_modules import assign_solo_targets
from solov2_plugin.structures import masks_to_boxes
from solov2_plugin.testing import random_instance_masks

pytestmark = pytest.mark.cuda

NUM_CLASSES = 5  # the demo config's classes
SIZE = (128, 160)  # (H, W), multiples of 32
TOP_MATCHED = 50  # predictions compared instance by instance


@pytest.fixture(autouse=True)
def exact_float32():
    """No TF32 in convolutions and matrix products while CPU and GPU are compared."""
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    with DefaultScope.overwrite_default_scope("mmdet"):
        yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def scene(seed: int, num: int, size: Tuple[int, int] = SIZE) -> Tuple[torch.Tensor, torch.Tensor]:
    """``num`` random masks (N, H, W) bool and labels (N,) of a fixed seed."""
    rng = np.random.default_rng(seed)
    masks = random_instance_masks(rng, num, size, side_range=(3.0, 120.0))
    return torch.from_numpy(masks), torch.from_numpy(rng.integers(0, NUM_CLASSES, num))


def assignment_on(device: str, mode: str, options: dict) -> List[Tuple[torch.Tensor, ...]]:
    """Targets of a 40-instance 256 x 320 scene computed on ``device``, brought to the CPU."""
    masks, labels = scene(0, 40, (256, 320))
    levels = assign_solo_targets(
        masks.to(device),
        labels.to(device),
        num_classes=NUM_CLASSES,
        grid_sizes=[(40, 50), (36, 45), (24, 30), (16, 20), (12, 15)]
        if mode == "seed"
        else [40, 36, 24, 16, 12],
        scale_ranges=((1, 48), (24, 96), (48, 192), (96, 384), (192, 768)),
        mask_size=(64, 80),
        mask_stride=4,
        mode=mode,
        gt_bboxes=masks_to_boxes(masks).to(device) if mode == "mmdet" else None,
        strides=(8, 8, 16, 32, 32),
        **options,
    )
    return [tuple(part.cpu() for part in level) for level in levels]


def demo_model() -> torch.nn.Module:
    """``configs/solov2_demo.py`` shrunk (ResNet-18 at 1/4 width, 16-channel neck and head).

    It keeps the demo's head settings: the seed's assigner with thin routing, aspect grids,
    strides 4..64; built on the CPU with seed 0.
    """
    cfg = Config.fromfile(config_path("solov2_demo.py")).model
    cfg.backbone.base_channels = 8
    cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg.mask_head.update(in_channels=16, feat_channels=16)
    cfg.mask_head.mask_feature_head.update(in_channels=16, mid_channels=8, out_channels=16)
    gn4 = dict(type="GN", num_groups=4, requires_grad=True)
    for part in (cfg.backbone, cfg.neck, cfg.mask_head, cfg.mask_head.mask_feature_head):
        part.norm_cfg = gn4
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(device: str) -> Tuple[torch.Tensor, List[DetDataSample]]:
    """Two normalised images of SIZE with 12 and 0 instances, on ``device``."""
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(2, 3, *SIZE, generator=gen)
    samples = []
    for img_id, num in enumerate((12, 0)):
        masks, labels = scene(10 + img_id, num)
        sample = DetDataSample(
            metainfo=dict(
                img_shape=SIZE,
                ori_shape=SIZE,
                pad_shape=SIZE,
                batch_input_shape=SIZE,
                scale_factor=(1.0, 1.0),
            )
        )
        sample.gt_instances = InstanceData(
            masks=BitmapMasks(masks.numpy().astype(np.uint8), *SIZE),
            labels=labels.to(device),
            bboxes=masks_to_boxes(masks).to(device),
        )
        samples.append(sample)
    return inputs.to(device), samples


def training_step_on(model: torch.nn.Module, device: str) -> Tuple[Dict, Dict]:
    """Losses and gradients of one step of a copy of ``model`` on ``device`` (CPU tensors)."""
    model = copy.deepcopy(model).to(device).train()
    inputs, samples = batch(device)
    losses = model.loss(inputs, samples)
    sum(losses.values()).backward()
    grads = {
        name: param.grad.cpu() for name, param in model.named_parameters() if param.grad is not None
    }
    return {key: value.detach().cpu() for key, value in losses.items()}, grads


def predict_on(model: torch.nn.Module, device: str):
    """Head outputs (CPU) and predictions (CPU) of a copy of ``model`` on ``device``."""
    model = copy.deepcopy(model).to(device).eval()
    inputs, samples = batch(device)
    with torch.no_grad():
        (outs,) = model(inputs, mode="tensor")
        results = model.predict(inputs, samples)
    kernels, cls_logits, mask_feats = outs
    flat = [t.cpu() for t in kernels] + [t.sigmoid().cpu() for t in cls_logits]
    flat.append(mask_feats.cpu())
    preds = [sample.pred_instances.to("cpu") for sample in results]
    return flat, preds


def confident(model: torch.nn.Module) -> torch.nn.Module:
    """Make a fresh model predict many instances with spread scores (seeded)."""
    gen = torch.Generator().manual_seed(2)
    head = model.mask_head
    with torch.no_grad():
        head.cls_pred.bias.fill_(-1.0)
        head.cls_pred.weight.copy_(torch.randn(head.cls_pred.weight.shape, generator=gen) * 0.3)
        head.kernel_pred.weight.copy_(torch.randn(head.kernel_pred.weight.shape, generator=gen) / 2)
    return model


def assert_same_targets(got, expected) -> None:
    assert len(got) == len(expected)
    for level_got, level_expected in zip(got, expected):
        for a, b in zip(level_got, level_expected):
            assert a.dtype == b.dtype and torch.equal(a, b)


def assert_same_training_step(got, expected) -> None:
    (losses, grads), (ref_losses, ref_grads) = got, expected
    assert set(losses) == set(ref_losses) == {"loss_mask", "loss_cls"}
    for key in ref_losses:
        torch.testing.assert_close(losses[key], ref_losses[key], rtol=1e-4, atol=1e-6)
    assert set(grads) == set(ref_grads)
    for name, ref in ref_grads.items():
        scale = ref.abs().max().item()
        diff = (grads[name] - ref).abs().max().item()
        assert diff <= 1e-3 * scale + 1e-7, f"{name}: {diff} vs largest {scale}"


def assert_same_predictions(got, expected) -> None:
    """Head outputs close; every predicted instance found again, in any order.

    Order is not compared: scores that differ by device noise may swap places. Each of the
    reference's top TOP_MATCHED instances (the tail may trade places across the
    ``max_per_img`` cut) must have a counterpart of the same label, a score within 2e-3 (a
    mask pixel at the 0.5 threshold may flip, which moves the maskness) and a mask IoU of at
    least 0.98.
    """
    (outs, preds), (ref_outs, ref_preds) = got, expected
    for out, ref in zip(outs, ref_outs):
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    assert sum(len(ref) for ref in ref_preds) > 5
    for pred, ref in zip(preds, ref_preds):
        assert len(pred) == len(ref)
        unused = set(range(len(pred)))
        for i in range(min(len(ref), TOP_MATCHED)):
            inter = (pred.masks & ref.masks[i]).flatten(1).sum(1).float()
            union = (pred.masks | ref.masks[i]).flatten(1).sum(1).float().clamp(min=1)
            match = [
                j
                for j in unused
                if pred.labels[j] == ref.labels[i]
                and abs(pred.scores[j] - ref.scores[i]) <= 2e-3
                and inter[j] / union[j] >= 0.98
            ]
            assert match, f"reference instance {i} (label {int(ref.labels[i])}) not found"
            unused.remove(match[0])


@pytest.mark.parametrize(
    ("mode", "options"),
    [("mmdet", dict(pos_scale=0.2)), ("seed", dict(offset_factor=0.25, route_thin=True))],
)
def test_target_assignment_on_cuda_is_identical_to_cpu(mode, options):
    expected = assignment_on("cpu", mode, options)
    assert sum(len(level[1]) for level in expected) > 40
    assert_same_targets(assignment_on("cuda", mode, options), expected)


def test_training_step_on_cuda_matches_cpu():
    model = demo_model()
    assert_same_training_step(training_step_on(model, "cuda"), training_step_on(model, "cpu"))


def test_predict_on_cuda_matches_cpu():
    model = confident(demo_model())
    assert_same_predictions(predict_on(model, "cuda"), predict_on(model, "cpu"))
