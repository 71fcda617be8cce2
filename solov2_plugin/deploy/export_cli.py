"""Command line of ``tools/export_onnx.py``: export, then check against PyTorch.

Exit status: 0 exported and in agreement; 1 the agreement check failed (a detection missing
or extra, or a mask IoU below ``--min-iou``); 2 bad command line or inputs, or the export
failed.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from .agreement import MIN_IOU_BOUND
from .check import check_export, default_images

EXIT_OK, EXIT_DISAGREE, EXIT_USAGE = 0, 1, 2


def parse_test_cfg(items: Sequence[str]) -> Dict[str, Any]:
    """``KEY=VALUE`` items as a dict (values read as Python literals, else kept as text).

    Raises:
        ValueError: For an item without ``=``.
    """
    out: Dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--test-cfg {item!r}: write KEY=VALUE, e.g. score_thr=0.3")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Export SOLOv2 with its post-processing to ONNX and check it against "
        "PyTorch in onnxruntime (see docs/deploy.md).",
        epilog="Exit status: 0 exported and in agreement, 1 agreement check failed, 2 usage "
        "or export error.",
    )
    parser.add_argument("config", help="the model's config, e.g. configs/solov2_demo.py")
    parser.add_argument("checkpoint", help="trained weights (.pth)")
    parser.add_argument("out", type=Path, help="the .onnx file to write")
    parser.add_argument(
        "--dynamic", action="store_true", help="dynamic input height and width (sides >= 65)"
    )
    parser.add_argument("--opset", type=int, help="ONNX opset (default: the exporter's, >= 18)")
    parser.add_argument(
        "--images",
        nargs="+",
        metavar="INPUT",
        help="images, folders or globs to check on (default: the config's val split)",
    )
    parser.add_argument("--max-images", type=int, help="check on the first N images only")
    parser.add_argument(
        "--test-cfg",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="post-processing settings baked into the graph (score_thr=0.3 max_per_img=50)",
    )
    parser.add_argument(
        "--min-iou", type=float, default=MIN_IOU_BOUND, help="least mask IoU of a matched pair"
    )
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0: all)")
    parser.add_argument("--no-check", action="store_true", help="export only")
    parser.add_argument("--json", type=Path, help="also write the agreement as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _images(args: argparse.Namespace) -> List[Path]:
    from ..apis.infer_run import list_inputs

    if args.images:
        paths, problems = list_inputs(args.images)
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
    else:
        paths = default_images(args.config)
    return paths[: args.max_images] if args.max_images else paths


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run; return the exit status."""
    from .onnx_export import export_onnx

    args = build_parser().parse_args(argv)
    try:
        overrides = parse_test_cfg(args.test_cfg)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for path, what in ((args.config, "config"), (args.checkpoint, "checkpoint")):
        if not Path(path).is_file():
            print(f"error: {path}: no such {what} file; check the path.", file=sys.stderr)
            return EXIT_USAGE
    images = _images(args)
    if not images:
        print(
            "error: no image to trace and check the export with; pass --images (files, "
            "folders or globs) or a config whose val split has an images/ folder.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    start = time.perf_counter()
    try:
        export_onnx(
            args.config,
            args.checkpoint,
            args.out,
            images[0],
            dynamic=args.dynamic,
            opset=args.opset,
            **overrides,
        )
    except (ValueError, RuntimeError) as error:
        print(f"error: export failed: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"exported {args.out} in {time.perf_counter() - start:.1f} s")
    if args.no_check:
        return EXIT_OK
    if not args.dynamic:
        print("note: a static export is checked on images resizing to the traced size only")
    agreement, _, _ = check_export(
        args.config,
        args.checkpoint,
        args.out,
        images,
        threads=args.threads,
        progress=not args.no_progress,
        **overrides,
    )
    print(agreement.text())
    passed = agreement.passes(args.min_iou)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {**agreement.to_dict(), "min_iou_bound": args.min_iou, "passed": passed}
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if not passed:
        print(
            f"FAILED: every PyTorch detection needs an onnxruntime partner of the same class "
            f"(and none extra) with mask IoU >= {args.min_iou}.",
            file=sys.stderr,
        )
        return EXIT_DISAGREE
    print(f"agreement OK (min IoU >= {args.min_iou}, no detection missing)")
    return EXIT_OK
