"""Loading benchmark: samples/s of the seed-format data path on synthetic samples.

16-bit PNG label maps with non-consecutive IDs and JPEG images are written to
a folder, then read by ``SeedInstanceDataset`` + ``LoadImageFromFile`` +
``LoadSeedInstanceMasks``, beside mmdet's ``LoadAnnotations`` decoding the
same masks from COCO RLE.
"""

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch

from ..testing import random_label_map


@dataclass
class LoadingBenchConfig:
    """Settings of the loading benchmark (see ``tools/benchmark.py loading --help``)."""

    height: int = 768
    width: int = 1536
    instances: int = 100
    samples: int = 8
    repeats: int = 3
    seed: int = 0
    work_dir: Optional[str] = None


def rate(seconds: List[float], count: int) -> str:
    """Median and best samples/s of ``count`` samples loaded in each of ``seconds``."""
    best = count / min(seconds)
    median = count / statistics.median(seconds)
    return f"{median:7.1f} samples/s (best {best:.1f})"


def _write_samples(root: Path, cfg: LoadingBenchConfig) -> None:
    from ..datasets import write_seed_sample

    rng = np.random.default_rng(cfg.seed)
    for k in range(cfg.samples):
        label_map = random_label_map(rng, cfg.height, cfg.width, cfg.instances, 65535)
        image = rng.integers(0, 256, (cfg.height, cfg.width, 3), dtype=np.uint8)
        ids = np.unique(label_map)[1:].tolist()
        write_seed_sample(
            root,
            f"sample_{k:03d}",
            image,
            label_map,
            {i: ("a", "b")[i % 2] for i in ids},
            image_ext=".jpg",
            label_bits=16,
        )


def run_loading(cfg: LoadingBenchConfig) -> Tuple[List[Tuple[str, List[float]]], float, int]:
    """Write the samples and time each loading step over them.

    Args:
        cfg (LoadingBenchConfig): Settings.

    Returns:
        tuple: ``rows`` (name, seconds per pass over all samples), the
        dataset build time per sample in seconds, and the number of samples.
    """
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations

    from ..datasets import LoadSeedInstanceMasks, SeedInstanceDataset, read_label_map

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(cfg.work_dir or tmp)
        _write_samples(root, cfg)
        start = time.perf_counter()
        dataset = SeedInstanceDataset(data_root=str(root), metainfo=dict(classes=("a", "b")))
        build = (time.perf_counter() - start) / len(dataset)
        infos = []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            shape = (info["height"], info["width"])
            infos.append(dict(info, ori_shape=shape, img_shape=shape))
        load_image = LoadImageFromFile()
        load_masks = LoadSeedInstanceMasks()
        load_rle = LoadAnnotations(with_bbox=True, with_label=True, with_mask=True)

        def timed(step: Callable[[dict], object]) -> List[float]:
            times = []
            for _ in range(cfg.repeats):
                start = time.perf_counter()
                for info in infos:
                    step(dict(info))
                times.append(time.perf_counter() - start)
            return times

        rows = [
            ("label map decode (PIL)", timed(lambda r: read_label_map(r["label_map_path"]))),
            ("LoadSeedInstanceMasks", timed(load_masks)),
            (
                "LoadImageFromFile + LoadSeedInstanceMasks",
                timed(lambda r: load_masks(load_image(r))),
            ),
            ("mmdet LoadAnnotations from RLE (COCO path)", timed(load_rle)),
        ]
    return rows, build, len(infos)


def format_loading(
    cfg: LoadingBenchConfig, rows: List[Tuple[str, List[float]]], build: float, count: int
) -> str:
    """The loading results as text lines (header, one line per step)."""
    lines = [
        f"loading: {cfg.height}x{cfg.width} 16-bit PNG label maps, {cfg.instances} instances, "
        f"{count} samples x {cfg.repeats}, torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} CPUs"
    ]
    lines += [f"  {name:<44} {rate(seconds, count)}" for name, seconds in rows]
    lines.append(f"  {'dataset build (index + RLE), per sample':<44} {build * 1000:7.1f} ms")
    return "\n".join(lines)
