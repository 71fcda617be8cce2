"""Convert between the seed's folder format and COCO instance JSON.

Usage::

    # seed split -> COCO JSON (masks as compressed RLE, areas of the masks)
    python tools/convert_dataset.py seed2coco DATA_ROOT OUT.json --cls-ind classes.json

    # COCO JSON (polygons or RLE) + its image folder -> seed split
    python tools/convert_dataset.py coco2seed IN.json IMAGE_DIR OUT_ROOT

seed2coco keeps each instance's label ID under ``seed_label_id`` and uses the
``cls_ind`` indices as category IDs (1..K with ``--classes``), so coco2seed
gives back the same label maps and class index. coco2seed copies the images
unchanged, writes one label map per image (8/16-bit PNG, or 32-bit TIFF for
IDs above 65535) and ``OUT_ROOT/classes.json``. Overlapping COCO masks cannot
share pixels in a label map: crowd regions are painted first, then instances
from the largest to the smallest; annotations left with no pixel are reported.
"""

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence

from tqdm import tqdm

from solov2_plugin.datasets.class_index import BACKGROUND
from solov2_plugin.datasets.coco_convert import coco_to_seed, seed_to_coco
from solov2_plugin.datasets.seed_dataset import SeedInstanceDataset
from solov2_plugin.datasets.seed_io import (
    IMAGE_EXTENSIONS,
    SeedFormatError,
    annotation_from_label_map,
    default_label_extension,
    read_image_size,
    write_annotation,
    write_label_map,
)


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
        choices=(".png", ".bmp", ".tif"),
        help="label-map format (default: PNG, or TIFF when an ID exceeds 65535)",
    )
    return parser.parse_args(argv)


def convert_seed_to_coco(args: argparse.Namespace) -> int:
    """Write the COCO JSON of a seed split; return the exit status."""
    dataset = SeedInstanceDataset(
        data_root=args.data_root,
        cls_ind=args.cls_ind,
        metainfo=dict(classes=tuple(args.classes)) if args.classes else None,
        data_prefix=dict(img=args.img_dir, seg=args.label_dir, ann=args.ann_dir),
    )
    data_list = [dataset.get_data_info(i) for i in range(len(dataset))]
    coco = seed_to_coco(data_list, dataset.metainfo["classes"], dataset.category_ids)
    out = Path(args.out_json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(coco), encoding="utf-8")
    print(
        f"{out}: {len(coco['images'])} images, {len(coco['annotations'])} annotations, "
        f"{len(coco['categories'])} categories"
    )
    return 0


def convert_coco_to_seed(args: argparse.Namespace) -> int:
    """Write a seed split from a COCO JSON and its images; return the exit status."""
    coco_path = Path(args.coco_json)
    try:
        coco = json.loads(coco_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise SeedFormatError(
            coco_path, f"The COCO file cannot be read ({error}).", "Give a COCO instance JSON."
        ) from error
    if BACKGROUND in {c["name"] for c in coco.get("categories", [])}:
        raise SeedFormatError(
            coco_path,
            f"A category is named '{BACKGROUND}', which the seed reserves for label 0.",
            "Rename that category before converting.",
        )
    if any(int(c["id"]) <= 0 for c in coco.get("categories", [])):
        raise SeedFormatError(
            coco_path,
            "A category has an ID <= 0; the seed's class index keeps 0 for background.",
            "Renumber the categories from 1.",
        )
    image_dir, out_root = Path(args.image_dir), Path(args.out_root)
    stems = {}
    for image in coco["images"]:
        name = Path(image["file_name"])
        if name.stem in stems:
            raise SeedFormatError(
                coco_path,
                f"Images {stems[name.stem]} and {name} share the base name '{name.stem}'.",
                "Rename one of them; files of a seed sample are paired by base name.",
            )
        if name.suffix.lower() not in IMAGE_EXTENSIONS:
            raise SeedFormatError(
                image_dir / name,
                f"The image format {name.suffix} is not supported.",
                f"Convert it to one of {IMAGE_EXTENSIONS}.",
            )
        stems[name.stem] = name
    lost, overlap = 0, 0
    converted = coco_to_seed(coco)
    for item in tqdm(converted, total=len(coco["images"]), desc="converting", unit="img"):
        source = image_dir / item.image["file_name"]
        size = read_image_size(source)
        if size != item.label_map.shape:
            raise SeedFormatError(
                source,
                f"The image is {size[0]}x{size[1]} but the COCO entry says "
                f"{item.label_map.shape[0]}x{item.label_map.shape[1]}.",
                "Fix the entry's height and width, or give the right image folder.",
            )
        stem = source.stem
        (out_root / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out_root / "images" / source.name)
        highest = int(item.label_map.max())
        label_ext = args.label_ext or default_label_extension(highest)
        write_label_map(out_root / "labels" / f"{stem}{label_ext}", item.label_map)
        write_annotation(
            out_root / "annotations" / f"{stem}.json",
            annotation_from_label_map(item.label_map, item.classes_by_id, item.crowd_ids),
        )
        lost += len(item.lost)
        overlap += item.overlap_pixels
        if item.lost:
            print(f"{source.name}: annotations {item.lost} have no pixel left and were dropped")
    cls_ind = {BACKGROUND: 0}
    cls_ind.update({c["name"]: int(c["id"]) for c in sorted(coco["categories"], key=_cat_id)})
    (out_root / "classes.json").write_text(json.dumps(cls_ind, indent=1) + "\n", "utf-8")
    print(
        f"{out_root}: {len(coco['images'])} images, {len(cls_ind) - 1} classes "
        f"(classes.json); {overlap} overlapping pixels, {lost} annotations dropped"
    )
    return 0


def _cat_id(category: dict) -> int:
    return int(category["id"])


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    convert = convert_seed_to_coco if args.command == "seed2coco" else convert_coco_to_seed
    try:
        return convert(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
