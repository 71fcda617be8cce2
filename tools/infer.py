"""Segment images with a trained model: overlays, 16-bit label PNGs, COCO JSON, CSV, crops.

Examples::

    python tools/infer.py configs/solov2_demo.py best.pth data/demo/val/images --out-dir out
    python tools/infer.py CONFIG CKPT "shots/*.png" --out-dir out --score-thr 0.5 --crops
    python tools/infer.py CONFIG CKPT belt/ --series --overlap 0 --pixel-size 0.1 --out-dir out
    python tools/infer.py CONFIG CKPT big.tif --tile 1024 --overlap 128 --out-dir out
    python tools/infer.py CONFIG solov2.onnx images/ --backend onnxruntime --out-dir out

Exit status: 0 every input segmented; 1 some inputs failed (listed at the end, the others are
done); 2 bad command line, missing config or checkpoint, or no input found.
See docs/inference.md for the outputs and the CSV columns.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from solov2_plugin.apis import SOLOv2Predictor
from solov2_plugin.apis.infer_run import (
    EXIT_USAGE,
    InferOptions,
    list_inputs,
    run_images,
    run_series,
)
from solov2_plugin.apis.label_image import EDGES
from solov2_plugin.apis.predictor import BACKENDS

# Options that replace the config's model.test_cfg keys.
TEST_CFG_OPTIONS = {
    "score_thr": "score_thr",
    "mask_thr": "mask_thr",
    "nms_kernel": "kernel",
    "nms_sigma": "sigma",
    "filter_thr": "filter_thr",
    "max_instances": "max_per_img",
}


def parse_args() -> argparse.Namespace:
    """The command line (argparse exits with status 2 on a bad one)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Exit status: 0 all inputs segmented, 1 some inputs failed, 2 usage error.",
    )
    parser.add_argument("config", help="the model's config, e.g. configs/solov2_demo.py")
    parser.add_argument(
        "checkpoint", help="trained weights (.pth), or an .onnx with --backend onnxruntime"
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="images, folders or globs")
    parser.add_argument("--out-dir", required=True, type=Path, help="where outputs go")
    parser.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    parser.add_argument("--device", help="cuda, cuda:1, cpu (default: cuda when available)")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="pytorch",
        help="pytorch (a .pth) or onnxruntime (an .onnx of tools/export_onnx.py, on the CPU)",
    )
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    post = parser.add_argument_group("prediction (replace the config's model.test_cfg)")
    post.add_argument("--score-thr", type=float, help="least category score kept")
    post.add_argument("--mask-thr", type=float, help="mask probability threshold")
    post.add_argument("--nms-kernel", choices=("gaussian", "linear"), help="Matrix NMS decay")
    post.add_argument("--nms-sigma", type=float, help="Matrix NMS gaussian sigma")
    post.add_argument("--filter-thr", type=float, help="least score after Matrix NMS")
    post.add_argument("--max-instances", type=int, help="most instances per image")
    clean = parser.add_argument_group("cleaning and measuring")
    clean.add_argument("--min-box-side", type=int, default=0, help="drop boxes with a side < PX")
    clean.add_argument("--min-part-area", type=int, default=0, help="erase parts < PX pixels")
    clean.add_argument("--edge-margin", type=int, default=0, help="PX from an edge = touching")
    clean.add_argument(
        "--edges", nargs="+", choices=EDGES, default=list(EDGES), help="edges that count"
    )
    clean.add_argument("--drop-edge", action="store_true", help="drop objects touching edges")
    clean.add_argument("--pixel-size", type=float, help="mm per pixel: adds *_mm CSV columns")
    out = parser.add_argument_group("outputs")
    out.add_argument("--overlay-scale", type=float, default=1.0, help="overlay size, (0, 1]")
    out.add_argument("--crops", action="store_true", help="one JPEG per object")
    out.add_argument("--polygons", action="store_true", help="also coco_polygons.json")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    mode = parser.add_argument_group("large images and belts")
    mode.add_argument("--tile", type=int, help="predict in windows of SIZE px")
    mode.add_argument("--series", action="store_true", help="inputs are a belt's frames")
    mode.add_argument("--overlap", type=int, help="PX shared by tiles (128) or frames (0)")
    args = parser.parse_args()
    if args.series and args.tile:
        parser.error("--series and --tile cannot be combined")
    if not 0 < args.overlay_scale <= 1:
        parser.error(f"--overlay-scale {args.overlay_scale}: give a factor in (0, 1]")
    if args.pixel_size is not None and args.pixel_size <= 0:
        parser.error(f"--pixel-size {args.pixel_size}: give a positive size in mm per pixel")
    return args


def main() -> int:
    """Run; return the exit status."""
    args = parse_args()
    paths, problems = list_inputs(args.inputs, args.recursive)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not paths:
        print("error: no input image found; check the paths and patterns.", file=sys.stderr)
        return EXIT_USAGE
    overrides = {
        key: getattr(args, option)
        for option, key in TEST_CFG_OPTIONS.items()
        if getattr(args, option) is not None
    }
    try:
        predictor = SOLOv2Predictor(
            args.config,
            args.checkpoint,
            device=args.device,
            backend=args.backend,
            threads=args.threads,
            **overrides,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    options = InferOptions(
        out_dir=args.out_dir,
        overlay_scale=args.overlay_scale,
        min_box_side=args.min_box_side,
        min_part_area=args.min_part_area,
        edge_margin=args.edge_margin,
        edges=tuple(args.edges),
        drop_edge=args.drop_edge,
        pixel_size=args.pixel_size,
        crops=args.crops,
        polygons=args.polygons,
        tile=args.tile,
        overlap=args.overlap,
    )
    run = run_series if args.series else run_images
    summary = run(predictor, paths, options, progress=not args.no_progress)
    print(summary.text())
    return summary.exit_status


if __name__ == "__main__":
    sys.exit(main())
