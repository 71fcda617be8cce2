"""Benchmarks of solov2_plugin, one sub-command each.

Usage::

    python tools/benchmark.py loading [--height 768 --width 1536 --instances 100]

Sub-commands:

- ``loading``: samples/s of the seed-format data path on synthetic samples
  (16-bit PNG label maps with non-consecutive IDs, JPEG images), beside the
  cost of mmdet's ``LoadAnnotations`` decoding the same masks from COCO RLE.

Each sub-command registers itself in ``COMMANDS`` with a function that adds
its arguments and one that runs it and returns the exit status.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch


class Command(NamedTuple):
    """A benchmark sub-command."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: Dict[str, Command] = {}


def _rate(seconds: List[float], count: int) -> str:
    best = count / min(seconds)
    median = count / statistics.median(seconds)
    return f"{median:7.1f} samples/s (best {best:.1f})"


def synthetic_scene(
    rng: np.random.Generator, height: int, width: int, instances: int, highest_id: int
) -> np.ndarray:
    """A label map with exactly ``instances`` overlapping ellipses of random IDs.

    Ellipses sit in a jittered grid of cells and overlap their neighbours; a
    small core at each centre is painted last so that every ID keeps pixels.

    Args:
        rng (np.random.Generator): Random source.
        height (int): Map height H.
        width (int): Map width W.
        instances (int): Number of instances N.
        highest_id (int): Largest ID to draw from (IDs are distinct, >= 1).

    Returns:
        np.ndarray: ``(H, W)`` int64 label map.
    """
    rows = max(1, round(np.sqrt(instances * height / width)))
    cols = -(-instances // rows)
    cell_h, cell_w = height / rows, width / cols
    ids = rng.choice(np.arange(1, highest_id + 1), size=instances, replace=False)
    label_map = np.zeros((height, width), np.int64)
    yy, xx = np.mgrid[0:height, 0:width]
    centres = []
    for k in rng.permutation(instances):
        cy = (k // cols + rng.uniform(0.3, 0.7)) * cell_h
        cx = (k % cols + rng.uniform(0.3, 0.7)) * cell_w
        ry = rng.uniform(0.15, 0.8) * cell_h
        rx = rng.uniform(0.15, 0.8) * cell_w
        y0, y1 = int(max(0, cy - ry)), int(min(height, cy + ry + 1))
        x0, x1 = int(max(0, cx - rx)), int(min(width, cx + rx + 1))
        inside = ((yy[y0:y1, x0:x1] - cy) / ry) ** 2 + ((xx[y0:y1, x0:x1] - cx) / rx) ** 2 <= 1
        label_map[y0:y1, x0:x1][inside] = ids[k]
        centres.append((int(cy), int(cx), ids[k]))
    for cy, cx, label_id in centres:
        label_map[max(0, cy - 1) : cy + 2, max(0, cx - 1) : cx + 2] = label_id
    return label_map


def _add_loading_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--height", type=int, default=768, help="label-map height")
    parser.add_argument("--width", type=int, default=1536, help="label-map width")
    parser.add_argument("--instances", type=int, default=100, help="instances per sample")
    parser.add_argument("--samples", type=int, default=8, help="distinct samples")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the samples")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--work-dir", help="where to write the samples (default: a temp dir)")


def _run_loading(args: argparse.Namespace) -> int:
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations

    from solov2_plugin.datasets import LoadSeedInstanceMasks, SeedInstanceDataset
    from solov2_plugin.datasets.seed_io import read_label_map, write_seed_sample

    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.work_dir or tmp)
        for k in range(args.samples):
            label_map = synthetic_scene(rng, args.height, args.width, args.instances, 65535)
            image = rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
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
            for _ in range(args.repeats):
                start = time.perf_counter()
                for info in infos:
                    step(dict(info))
                times.append(time.perf_counter() - start)
            return times

        def full(results: dict) -> object:
            return load_masks(load_image(results))

        rows = [
            ("label map decode (PIL)", timed(lambda r: read_label_map(r["label_map_path"]))),
            ("LoadSeedInstanceMasks", timed(load_masks)),
            ("LoadImageFromFile + LoadSeedInstanceMasks", timed(full)),
            ("mmdet LoadAnnotations from RLE (COCO path)", timed(load_rle)),
        ]
    n = len(infos)
    print(
        f"loading: {args.height}x{args.width} 16-bit PNG label maps, {args.instances} instances, "
        f"{n} samples x {args.repeats}, torch threads {torch.get_num_threads()}, "
        f"{os.cpu_count()} CPUs"
    )
    for name, seconds in rows:
        print(f"  {name:<44} {_rate(seconds, n)}")
    print(f"  {'dataset build (index + RLE), per sample':<44} {build * 1000:7.1f} ms")
    return 0


COMMANDS["loading"] = Command(
    "samples/s loading seed-format label maps", _add_loading_arguments, _run_loading
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(commands.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    return COMMANDS[args.command].run(args)


if __name__ == "__main__":
    sys.exit(main())
