"""onnxruntime (CPU) against PyTorch eager on the same images: ``tools/benchmark.py export``.

Both backends are timed through :class:`~solov2_plugin.apis.SOLOv2Predictor` (image in,
instances on the host out: the test pipeline, the model and its post-processing, the masks at
the original size), one image per call, on the same threads. Per image, the median of
``repeats`` timed calls after ``warmup`` untimed ones; the report gives the median over images
and the agreement of the two backends' detections.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

from ..apis.predictor import SOLOv2Predictor
from ..deploy.agreement import compare_results


@dataclass
class ExportBenchConfig:
    """What ``tools/benchmark.py export`` measures.

    Attributes:
        config (str): The model's config.
        checkpoint (str): Its weights (.pth).
        images (list[Path]): Images to time on.
        onnx (str, optional): An exported model; None: exported (dynamic) to a temp folder.
        threads (int): torch and onnxruntime intra-op threads.
        warmup (int): Untimed calls per image and backend.
        repeats (int): Timed calls per image and backend.
        test_cfg (dict): Post-processing overrides (baked into the export when made here).
    """

    config: str
    checkpoint: str
    images: List[Path]
    onnx: Optional[str] = None
    threads: int = 2
    warmup: int = 1
    repeats: int = 5
    test_cfg: Dict[str, Any] = field(default_factory=dict)


def time_calls(fn: Callable[[Any], Any], arg: Any, warmup: int, repeats: int) -> float:
    """Median wall time of ``repeats`` calls ``fn(arg)`` after ``warmup`` calls, in ms."""
    for _ in range(warmup):
        fn(arg)
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run_export_benchmark(
    cfg: ExportBenchConfig, log: Callable[[str], None] = lambda line: None
) -> dict:
    """Time both backends on every image.

    Args:
        cfg (ExportBenchConfig): What to measure.
        log (Callable[[str], None]): Progress lines.

    Returns:
        dict: ``settings``, ``per_image`` (name, PyTorch ms, onnxruntime ms), ``pytorch_ms``
        and ``onnxruntime_ms`` (medians over images), ``speedup`` (PyTorch / onnxruntime)
        and ``agreement`` (see :class:`~solov2_plugin.deploy.agreement.Agreement`).

    Raises:
        ValueError: Without images.
    """
    if not cfg.images:
        raise ValueError("export benchmark: no image; pass --images (files, folders, globs).")
    previous_threads = torch.get_num_threads()
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = cfg.onnx
            if onnx_path is None:
                from ..deploy.onnx_export import export_onnx

                log("exporting (dynamic) ...")
                onnx_path = str(Path(tmp) / "solov2.onnx")
                export_onnx(
                    cfg.config,
                    cfg.checkpoint,
                    onnx_path,
                    cfg.images[0],
                    dynamic=True,
                    **cfg.test_cfg,
                )
            eager = SOLOv2Predictor(cfg.config, cfg.checkpoint, device="cpu", **cfg.test_cfg)
            exported = SOLOv2Predictor(
                cfg.config,
                onnx_path,
                backend="onnxruntime",
                threads=cfg.threads,
                **cfg.test_cfg,
            )
            rows, eager_results, onnx_results = [], [], []
            for path in map(Path, cfg.images):
                image = _read(path)
                eager_ms = time_calls(eager, image, cfg.warmup, cfg.repeats)
                onnx_ms = time_calls(exported, image, cfg.warmup, cfg.repeats)
                eager_results.append(eager(image))
                onnx_results.append(exported(image))
                rows.append(dict(image=path.name, pytorch_ms=eager_ms, onnxruntime_ms=onnx_ms))
                log(f"{path.name}: PyTorch {eager_ms:.1f} ms, onnxruntime {onnx_ms:.1f} ms")
    finally:
        torch.set_num_threads(previous_threads)
    pytorch_ms = statistics.median(row["pytorch_ms"] for row in rows)
    onnx_ms = statistics.median(row["onnxruntime_ms"] for row in rows)
    return dict(
        settings=dict(
            config=cfg.config,
            checkpoint=cfg.checkpoint,
            onnx=cfg.onnx or "(exported to a temp folder, dynamic)",
            images=len(cfg.images),
            threads=cfg.threads,
            warmup=cfg.warmup,
            repeats=cfg.repeats,
            test_cfg=cfg.test_cfg,
            torch=torch.__version__,
            onnxruntime=_ort_version(),
        ),
        per_image=rows,
        pytorch_ms=pytorch_ms,
        onnxruntime_ms=onnx_ms,
        speedup=pytorch_ms / onnx_ms if onnx_ms > 0 else float("nan"),
        agreement=compare_results(eager_results, onnx_results).to_dict(),
    )


def _read(path: Path) -> Any:
    """The image as the predictor reads a file (read once, outside the timing)."""
    from ..apis.predictor import read_image

    return read_image(path)


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__


def format_export_report(report: dict) -> str:
    """The report as a Markdown table with a short header."""
    settings = report["settings"]
    agreement = report["agreement"]
    lines = [
        f"{settings['images']} image(s), {settings['threads']} thread(s), median of "
        f"{settings['repeats']} calls per image after {settings['warmup']} warm-up "
        f"(torch {settings['torch']}, onnxruntime {settings['onnxruntime']})",
        "",
        "| backend | median ms / image | speed-up |",
        "|---|---:|---:|",
        f"| PyTorch eager (CPU) | {report['pytorch_ms']:.1f} | 1.00x |",
        f"| onnxruntime (CPU) | {report['onnxruntime_ms']:.1f} | {report['speedup']:.2f}x |",
        "",
        f"agreement: {agreement['matched']}/{agreement['reference']} PyTorch detections matched "
        f"({agreement['extra']} extra), mask IoU min {agreement['min_iou']:.6f} mean "
        f"{agreement['mean_iou']:.6f}, max score difference {agreement['max_score_diff']:.3g}",
    ]
    return "\n".join(lines)


def images_from(inputs: Optional[Sequence[str]], config: str, limit: Optional[int]) -> List[Path]:
    """``--images`` expanded (files, folders, globs), else the config's val split; first N."""
    from ..apis.infer_run import list_inputs
    from ..deploy.check import default_images

    paths = list_inputs(inputs)[0] if inputs else default_images(config)
    return paths[:limit] if limit else paths


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``tools/benchmark.py export``."""
    parser.add_argument("--config", required=True, help="the model's config")
    parser.add_argument("--checkpoint", required=True, help="its weights (.pth)")
    parser.add_argument("--onnx", help="an exported model (default: export one, dynamic)")
    parser.add_argument("--images", nargs="+", help="images, folders, globs (default: val split)")
    parser.add_argument("--max-images", type=int, help="the first N images only")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per image")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per image")
    parser.add_argument(
        "--test-cfg", nargs="+", default=[], metavar="KEY=VALUE", help="post-processing overrides"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")


def run_export_command(args: argparse.Namespace) -> int:
    """Run ``tools/benchmark.py export``; return the exit status."""
    from ..deploy.export_cli import parse_test_cfg
    from .cli import write_json

    try:
        cfg = ExportBenchConfig(
            config=args.config,
            checkpoint=args.checkpoint,
            images=images_from(args.images, args.config, args.max_images),
            onnx=args.onnx,
            threads=args.threads,
            warmup=args.warmup,
            repeats=args.repeats,
            test_cfg=parse_test_cfg(args.test_cfg),
        )
        report = run_export_benchmark(cfg, log=lambda line: print(line, file=sys.stderr))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_export_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"JSON written to {args.json}")
    return 0
