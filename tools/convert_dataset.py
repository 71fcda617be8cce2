"""Convert between the seed's folder format and COCO instance JSON.

Usage::

    # seed split -> COCO JSON (masks as compressed RLE, areas of the masks)
    python tools/convert_dataset.py seed2coco DATA_ROOT OUT.json --cls-ind classes.json

    # COCO JSON (polygons or RLE) + its image folder -> seed split
    python tools/convert_dataset.py coco2seed IN.json IMAGE_DIR OUT_ROOT

A command line over ``solov2_plugin.datasets.coco_files``. seed2coco keeps each
instance's label ID under ``seed_label_id`` and uses the ``cls_ind`` indices as
category IDs (1..K with ``--classes``), so coco2seed gives back the same label
maps and class index. coco2seed copies the images unchanged, writes one label
map per image (8/16-bit PNG, or 32-bit TIFF for IDs above 65535) and
``OUT_ROOT/classes.json``. Overlapping COCO masks cannot share pixels in a
label map: crowd regions are painted first, then instances from the largest to
the smallest; annotations left with no pixel are reported.
"""

import argparse
import sys
from typing import Optional, Sequence

from solov2_plugin.datasets import LABEL_FORMATS, write_coco_as_seed, write_seed_as_coco


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    to_coco = commands.add_parser("seed2coco", help="seed split -> COCO instance JSON")
    to_coco.add_argument("data_root", help="split folder holding images/, labels/, annotations/")
    to_coco.add_argument("out_json", help="COCO JSON to write")
    group = to_coco.add_mutually_exclusive_group(required=True)
    group.add_argument("--cls-ind", help="seed-style class index JSON ({'background': 0, ...})")
    group.add_argument("--classes", nargs="+", help="class names, in label order")
    to_coco.add_argument("--img-dir", default="images", help="image sub-folder")
    to_coco.add_argument("--label-dir", default="labels", help="label-map sub-folder")
    to_coco.add_argument("--ann-dir", default="annotations", help="annotation sub-folder")

    to_seed = commands.add_parser("coco2seed", help="COCO instance JSON -> seed split")
    to_seed.add_argument("coco_json", help="COCO instance JSON (polygons or RLE)")
    to_seed.add_argument("image_dir", help="folder the JSON's file_name entries are relative to")
    to_seed.add_argument("out_root", help="split folder to create")
    to_seed.add_argument(
        "--label-ext",
        choices=tuple(LABEL_FORMATS),
        help="label-map format (default: PNG, or TIFF when an ID exceeds 65535)",
    )
    to_seed.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def seed2coco(args: argparse.Namespace) -> None:
    """Write the COCO JSON of a seed split and print its counts."""
    coco = write_seed_as_coco(
        args.data_root,
        args.out_json,
        cls_ind=args.cls_ind,
        classes=args.classes,
        data_prefix=dict(img=args.img_dir, seg=args.label_dir, ann=args.ann_dir),
    )
    print(
        f"{args.out_json}: {len(coco['images'])} images, {len(coco['annotations'])} annotations, "
        f"{len(coco['categories'])} categories"
    )


def coco2seed(args: argparse.Namespace) -> None:
    """Write a seed split from a COCO JSON and print what was dropped."""
    summary = write_coco_as_seed(
        args.coco_json,
        args.image_dir,
        args.out_root,
        label_ext=args.label_ext,
        progress=not args.no_progress,
    )
    for name, lost in summary.dropped:
        print(f"{name}: annotations {lost} have no pixel left and were dropped")
    dropped = sum(len(lost) for _, lost in summary.dropped)
    print(
        f"{args.out_root}: {summary.images} images, {len(summary.cls_ind) - 1} classes "
        f"(classes.json); {summary.overlap_pixels} overlapping pixels, {dropped} annotations "
        "dropped"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        (seed2coco if args.command == "seed2coco" else coco2seed)(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
