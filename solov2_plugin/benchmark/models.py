"""mmdet's SOLOv2 and ours with the same weights, and a synthetic crowded batch.

mmdet's model is built from its own ``solov2/solov2_r50_fpn_1x_coco.py`` (in
mmdet's installed ``.mim/configs``), ours from ``configs/solov2_r50_fpn_1x_coco.py``.
Both start from mmdet's random initialisation (seeded), with the category
bias at -2.3 so that a crowded image gives about 100 detections; mmdet's
state dict reaches ours through :func:`convert_mmdet_state_dict`.
"""

import contextlib
import logging
from pathlib import Path
from typing import Iterator, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..apis import config_path
from ..models.utils import convert_mmdet_state_dict
from ..structures import masks_to_boxes
from ..testing import random_instance_masks

MMDET_CONFIG = "solov2/solov2_r50_fpn_1x_coco.py"
OUR_CONFIG = "solov2_r50_fpn_1x_coco.py"
CATEGORY_BIAS = -2.3
NUM_CLASSES = 80


def mmdet_config_file() -> Path:
    """Path of mmdet's installed ``solov2_r50_fpn_1x_coco.py``.

    Raises:
        ValueError: If mmdet was installed without its ``.mim/configs``.
    """
    import mmdet

    path = Path(mmdet.__file__).parent / ".mim" / "configs" / MMDET_CONFIG
    if not path.is_file():
        raise ValueError(
            f"{path}: mmdet's SOLOv2 config is missing; install mmdet from its wheel (which "
            "ships .mim/configs) to benchmark against it."
        )
    return path


def model_config(path: Path, shrink: bool = False) -> Config:
    """The model config of ``path`` without pretrained weights.

    Args:
        path (Path): mmdet's or our SOLOv2 config.
        shrink (bool): ResNet-18 with a 64-wide head and mask branch (the
            shrunk model of the parity tests), for quick runs.

    Returns:
        Config: The ``model`` entry.
    """
    cfg = Config.fromfile(str(path)).model
    cfg.backbone.init_cfg = None
    if shrink:
        cfg.backbone.depth = 18
        cfg.neck.in_channels = [64, 128, 256, 512]
        cfg.neck.out_channels = 64
        cfg.mask_head.in_channels = 64
        cfg.mask_head.feat_channels = 64
        branch = cfg.mask_head.mask_feature_head
        branch.pop("in_channels", None)
        branch["mid_channels" if "mid_channels" in branch else "feat_channels"] = 32
        branch.out_channels = 64
    return cfg


@contextlib.contextmanager
def quiet_mmengine() -> Iterator[None]:
    """Silence mmengine's INFO messages (one per initialised layer) for a while."""
    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_model_pair(
    device: torch.device, shrink: bool = False, seed: int = 0, category_bias: float = CATEGORY_BIAS
) -> tuple:
    """mmdet's SOLOv2 and our SOLOv2Segmentor with identical weights, in eval mode.

    Args:
        device (torch.device): Where both models live.
        shrink (bool): See :func:`model_config`.
        seed (int): Seed of mmdet's random initialisation.
        category_bias (float): Bias of every category logit. Defaults to
            -2.3 (about 100 detections on a crowded image).

    Returns:
        tuple[nn.Module, nn.Module]: ``(mmdet_model, our_model)``.
    """
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    import solov2_plugin  # noqa: F401  (registers our modules)

    with DefaultScope.overwrite_default_scope("mmdet"), quiet_mmengine():
        torch.manual_seed(seed)
        reference = MODELS.build(model_config(mmdet_config_file(), shrink))
        reference.init_weights()
        with torch.no_grad():
            reference.mask_head.conv_cls.bias.fill_(category_bias)
        ours = MODELS.build(model_config(Path(config_path(OUR_CONFIG)), shrink))
    ours.load_state_dict(convert_mmdet_state_dict(reference.state_dict()), strict=True)
    return reference.to(device).eval(), ours.to(device).eval()


def render_image(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """A normalised image of the instances: one random colour each, over noise.

    Args:
        rng (np.random.Generator): Random source.
        masks (np.ndarray): ``(G, H, W)`` bool, painted in order.

    Returns:
        np.ndarray: ``(3, H, W)`` float32, about zero mean and unit spread.
    """
    height, width = masks.shape[1:]
    image = rng.normal(0.0, 0.3, (3, height, width)).astype(np.float32)
    for mask in masks:
        image[:, mask] = rng.uniform(-1.5, 1.5, (3, 1)).astype(np.float32)
    return image


def synthetic_batch(
    batch: int, size: Tuple[int, int], instances: int, device: torch.device, seed: int = 0
) -> Tuple[Tensor, List[DetDataSample]]:
    """A batch of crowded images with their ground truth.

    Masks come from :func:`solov2_plugin.testing.random_instance_masks`
    (ellipses and rectangles of 6..150 px), labels uniformly from 80 classes.

    Args:
        batch (int): Images N.
        size (tuple[int, int]): Image size (H, W) (multiples of 32 avoid padding).
        instances (int): Instances per image G.
        device (torch.device): Where the inputs and ground truth go.
        seed (int): Seed of the scene.

    Returns:
        tuple[Tensor, list[DetDataSample]]: Inputs ``(N, 3, H, W)`` float32
        and data samples with metainfo and ``gt_instances`` (``masks``
        BitmapMasks, ``labels`` (G,), ``bboxes`` (G, 4)).
    """
    rng = np.random.default_rng(seed)
    height, width = size
    images, samples = [], []
    for _ in range(batch):
        masks = random_instance_masks(rng, instances, size)
        images.append(render_image(rng, masks))
        sample = DetDataSample(
            metainfo=dict(
                img_shape=size,
                ori_shape=size,
                pad_shape=size,
                batch_input_shape=size,
                scale_factor=(1.0, 1.0),
            )
        )
        sample.gt_instances = InstanceData(
            masks=BitmapMasks(masks.astype(np.uint8), height, width),
            labels=torch.from_numpy(rng.integers(0, NUM_CLASSES, instances)).to(device),
            bboxes=masks_to_boxes(torch.from_numpy(masks)).to(device),
        )
        samples.append(sample)
    inputs = torch.from_numpy(np.stack(images)).to(device)
    return inputs, samples


def mmcv_focal_loss_works(device: torch.device) -> bool:
    """Whether mmcv's compiled ``sigmoid_focal_loss`` runs on ``device``."""
    if device.type != "cuda":
        return True
    try:
        from mmcv.ops import sigmoid_focal_loss

        logits = torch.zeros(2, 3, device=device)
        sigmoid_focal_loss(logits, torch.zeros(2, dtype=torch.long, device=device), 2.0, 0.25)
    except Exception:  # any failure of the op (missing build, stand-in) means "not usable"
        return False
    return True


@contextlib.contextmanager
def pytorch_focal_loss_for_mmdet() -> Iterator[None]:
    """Make mmdet's ``FocalLoss`` use its own PyTorch version on CUDA tensors.

    mmdet calls mmcv's compiled op for CUDA logits with class-index targets;
    inside this context that call is replaced by one-hot targets and
    ``mmdet.models.losses.focal_loss.py_sigmoid_focal_loss`` (mmdet's path on
    CPU), so the loss is the same without mmcv's ops.
    """
    from mmdet.models.losses import focal_loss

    original = focal_loss.sigmoid_focal_loss

    def py_focal(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction="mean", **kw):
        one_hot = F.one_hot(target, num_classes=pred.size(1) + 1)[:, : pred.size(1)]
        return focal_loss.py_sigmoid_focal_loss(
            pred, one_hot, weight, gamma=gamma, alpha=alpha, reduction=reduction, **kw
        )

    focal_loss.sigmoid_focal_loss = py_focal
    try:
        yield
    finally:
        focal_loss.sigmoid_focal_loss = original


def parameters_of(model: nn.Module) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
