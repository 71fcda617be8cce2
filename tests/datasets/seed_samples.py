"""Helpers writing tiny seed-format samples for the dataset tests."""

import json
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from solov2_plugin.datasets import SeedInstanceDataset
from solov2_plugin.datasets.seed_writers import write_seed_sample

CLASSES = ("disc", "block", "triangle")


def blocks_label_map(height: int, width: int, ids: Sequence[int]) -> np.ndarray:
    """A label map with one rectangle per ID, touching neighbours, in reading order.

    Args:
        height (int): Map height H.
        width (int): Map width W.
        ids (Sequence[int]): IDs to draw (each gets a distinct rectangle).

    Returns:
        np.ndarray: ``(H, W)`` int64 label map.
    """
    label_map = np.zeros((height, width), np.int64)
    cols = 4
    cell_h, cell_w = height // 3, width // cols
    for k, label_id in enumerate(ids):
        row, col = divmod(k, cols)
        y0, x0 = row * cell_h + 2, col * cell_w + (k % 3)
        label_map[y0 : y0 + cell_h - 3 - (k % 2), x0 : x0 + cell_w - 1] = label_id
    return label_map


def write_sample(
    root: Path,
    stem: str,
    ids: Sequence[int],
    size: tuple = (64, 96),
    classes: Optional[Dict[int, str]] = None,
    **kwargs,
) -> Dict[str, Path]:
    """Write one sample whose ID k-th gets class ``CLASSES[k % 3]`` unless given."""
    label_map = blocks_label_map(size[0], size[1], ids)
    rng = np.random.default_rng(len(ids))
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    names = classes or {i: CLASSES[k % len(CLASSES)] for k, i in enumerate(ids)}
    return write_seed_sample(root, stem, image, label_map, names, **kwargs)


def mark_crowd(root: Path, stem: str, label_id: int) -> None:
    """Set ``"iscrowd": 1`` on one entry of a written annotation."""
    path = root / "annotations" / f"{stem}.json"
    content = json.loads(path.read_text())
    content[str(label_id)]["iscrowd"] = 1
    path.write_text(json.dumps(content))


def seed_dataset(root: Path, **kwargs) -> SeedInstanceDataset:
    """The split at ``root`` as a dataset of :data:`CLASSES` unless ``metainfo`` is given."""
    kwargs.setdefault("metainfo", dict(classes=CLASSES))
    return SeedInstanceDataset(data_root=str(root), **kwargs)


def build_training(config_file: Path) -> Tuple[Any, Any, Any]:
    """Model (seed 0, weights initialised), train loader and optimiser wrapper of a config.

    Args:
        config_file (Path): An mmdet config with ``model``, ``train_dataloader`` and
            ``optim_wrapper``.

    Returns:
        tuple: ``(model, loader, optim_wrapper)``.
    """
    cfg = Config.fromfile(str(config_file))
    init_default_scope("mmdet")
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    loader = Runner.build_dataloader(cfg.train_dataloader)
    return model, loader, build_optim_wrapper(model, cfg.optim_wrapper)
