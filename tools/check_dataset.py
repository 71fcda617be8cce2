"""Check a split in the seed's folder format and report every problem in one pass.

Usage::

    python tools/check_dataset.py DATA_ROOT [--cls-ind classes.json | --classes a b c]

A command line over ``solov2_plugin.datasets.check_split``: every sample is read
and cross-checked (pairing of files, lossless label maps, sizes, IDs of the map
against the JSON, class names, JSON syntax, complete images). The report lists
each problem with the file at fault and how to fix it, warnings (box
disagreements, likely semantic maps, 16-bit or greyscale images), then a
summary. The exit status is 1 when a problem was found, else 0. When no classes
are given, ``classes.json`` next to or above DATA_ROOT is used if present;
otherwise class names are only counted.
"""

import argparse
import sys
from typing import Optional, Sequence

from solov2_plugin.datasets import check_split


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the check, print the report and return the exit status."""
    args = parse_args(argv)
    try:
        report = check_split(
            args.data_root,
            classes=args.classes,
            cls_ind=args.cls_ind,
            data_prefix=dict(img=args.img_dir, seg=args.label_dir, ann=args.ann_dir),
            box_tolerance=args.box_tolerance,
            verify_images=not args.headers_only,
            progress=not args.no_progress,
        )
    except ValueError as error:
        print(f"problem: {error}")
        return 1
    for line in report.lines():
        print(line)
    return report.exit_status


if __name__ == "__main__":
    sys.exit(main())
