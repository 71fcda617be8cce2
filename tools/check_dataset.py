"""Check a split in the seed's folder format and report every problem in one pass.

Usage::

    python tools/check_dataset.py DATA_ROOT [--cls-ind classes.json | --classes a b c]

Every sample is read and cross-checked (pairing of files, lossless label maps,
sizes, IDs of the map against the JSON, class names, JSON syntax, complete
images). The report lists each problem with the file at fault and how to fix
it, then a summary: images, instances per class, image and instance sizes,
label-map formats. The exit status is 1 when a problem was found, else 0.
When no classes are given, ``classes.json`` next to or above DATA_ROOT is used
if present; otherwise class names are only counted.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from solov2_plugin.datasets.class_index import read_cls_ind
from solov2_plugin.datasets.instance_maps import instance_areas
from solov2_plugin.datasets.seed_io import SeedSample, inspect_seed_sample, scan_seed_split

# COCO's size splits, on the instance's pixel area.
SMALL_AREA, MEDIUM_AREA = 32**2, 96**2


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_root", help="split folder holding images/, labels/, annotations/")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--cls-ind", help="seed-style class index JSON ({'background': 0, ...})")
    group.add_argument("--classes", nargs="+", help="class names, in label order")
    parser.add_argument("--img-dir", default="images", help="image sub-folder")
    parser.add_argument("--label-dir", default="labels", help="label-map sub-folder")
    parser.add_argument("--ann-dir", default="annotations", help="annotation sub-folder")
    parser.add_argument(
        "--box-tolerance", type=float, default=2.0, help="px a JSON box may differ from its mask"
    )
    parser.add_argument(
        "--headers-only",
        action="store_true",
        help="read image headers only (faster; misses truncated images)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def find_classes(args: argparse.Namespace) -> Optional[List[str]]:
    """Classes from the arguments, or from a classes.json beside/above the split."""
    if args.classes:
        return list(args.classes)
    path = args.cls_ind
    if path is None:
        root = Path(args.data_root)
        found = [p for p in (root / "classes.json", root.parent / "classes.json") if p.is_file()]
        if not found:
            return None
        path = found[0]
        print(f"classes: {path}")
    return read_cls_ind(path)[0]


def summarize(samples: List[SeedSample], classes: Optional[List[str]]) -> List[str]:
    """Lines of the summary of the readable samples."""
    per_class: Counter = Counter()
    crowd: Counter = Counter()
    sizes: Counter = Counter()
    formats: Counter = Counter()
    areas: List[np.ndarray] = []
    per_image = []
    for sample in samples:
        per_class.update(sample.class_names)
        crowd.update(n for n, c in zip(sample.class_names, sample.crowd.tolist()) if c)
        sizes[f"{sample.height}x{sample.width}"] += 1
        formats[f"{Path(sample.paths.label_map_path).suffix.lower()} {sample.label_bits}-bit"] += 1
        areas.append(instance_areas(sample.index_map, len(sample.ids)))
        per_image.append(len(sample.ids))
    lines = [
        f"images: {len(samples)} ({per_image.count(0)} without instances)",
        f"instances: {sum(per_image)} (per image: min {min(per_image, default=0)}, "
        f"max {max(per_image, default=0)})",
        "instances per class:",
    ]
    names = list(classes) if classes is not None else sorted(per_class)
    width = max((len(n) for n in names), default=0)
    for name in names:
        extra = f" ({crowd[name]} crowd)" if crowd[name] else ""
        lines.append(f"  {name:<{width}}  {per_class[name]}{extra}")
    lines.append("image sizes (HxW): " + ", ".join(f"{s} x{n}" for s, n in sizes.most_common()))
    lines.append("label maps: " + ", ".join(f"{e} x{n}" for e, n in formats.most_common()))
    area = np.concatenate(areas) if areas else np.zeros(0)
    if area.size:
        side = np.sqrt(area)
        lines.append(
            f"instance size sqrt(area) px: min {side.min():.0f}, median {np.median(side):.0f}, "
            f"max {side.max():.0f}; COCO small/medium/large: {(area < SMALL_AREA).sum()}/"
            f"{((area >= SMALL_AREA) & (area < MEDIUM_AREA)).sum()}/{(area >= MEDIUM_AREA).sum()}"
        )
    return lines


def check(args: argparse.Namespace) -> int:
    """Run the check and print the report; return the exit status."""
    root = Path(args.data_root)
    try:
        classes = find_classes(args)
    except ValueError as error:
        print(f"problem: {error}")
        return 1
    entries, problems = scan_seed_split(
        root / args.img_dir, root / args.label_dir, root / args.ann_dir
    )
    samples: List[SeedSample] = []
    mismatches: List[str] = []
    for paths in tqdm(entries, desc="checking", unit="img", disable=args.no_progress):
        sample, found = inspect_seed_sample(
            paths, classes, verify_image=not args.headers_only, box_tolerance=args.box_tolerance
        )
        problems.extend(found)
        if sample is not None:
            samples.append(sample)
            if sample.box_mismatch:
                mismatches.append(
                    f"{paths.ann_path}: boxes of IDs {sample.box_mismatch} differ from their "
                    f"masks by more than {args.box_tolerance} px (the masks' boxes are used)."
                )
    for line in summarize(samples, classes):
        print(line)
    for line in mismatches:
        print(f"warning: {line}")
    for problem in problems:
        print(f"problem: {problem}")
    checked = len(entries)
    print(
        f"{len(problems)} problem(s), {len(mismatches)} warning(s); "
        f"{len(samples)} of {checked} paired sample(s) are valid."
    )
    return 1 if problems else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    return check(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
