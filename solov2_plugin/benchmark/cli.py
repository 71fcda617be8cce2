"""Command line of ``tools/benchmark.py``: one sub-command per benchmark.

Sub-commands:

- ``loading``: samples/s of the seed-format data path (see :mod:`.loading`).
- ``model``: mmdet's SOLOv2 against ours (see :mod:`.model_bench`); with
  ``--scaling``, the sweep over instances and image sizes (see :mod:`.scaling`).
- ``plot``: draw a ``--scaling`` JSON into a PNG.
- ``memory``: RSS over 1,000 inference images and training iterations, flat or growing
  (see :mod:`.memory`).
- ``export``: onnxruntime (CPU) against PyTorch eager per image (see :mod:`.export_bench`).

Each sub-command registers itself in ``COMMANDS`` with a function that adds
its arguments and one that runs it and returns the exit status.
"""

import argparse
import importlib
import json
import math
import sys
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from .loading import LoadingBenchConfig, format_loading, run_loading
from .model_bench import MEASURES, VARIANTS, ModelBenchConfig


class Command(NamedTuple):
    """A benchmark sub-command."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: Dict[str, Command] = {}


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _names(text: str, allowed: Sequence[str], option: str) -> List[str]:
    """Comma-separated names (``all`` for every one, ``none`` or empty for none)."""
    if text in ("", "none"):
        return []
    if text == "all":
        return list(allowed)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(f"{option}: unknown {unknown}; choose from {list(allowed)} or 'all'.")
    return names


def _ints(text: str, option: str) -> List[int]:
    try:
        return [int(value) for value in text.split(",") if value.strip()]
    except ValueError as err:
        raise ValueError(f"{option}: expected comma-separated integers, got {text!r}.") from err


def _json_safe(value: object) -> object:
    """NaN and infinities as None, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def write_json(report: dict, path: str) -> None:
    """Write ``report`` as indented standard JSON, creating the folder."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(_json_safe(report), indent=2) + "\n")


def _add_loading_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--height", type=int, default=768, help="label-map height")
    parser.add_argument("--width", type=int, default=1536, help="label-map width")
    parser.add_argument("--instances", type=int, default=100, help="instances per sample")
    parser.add_argument("--samples", type=int, default=8, help="distinct samples")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the samples")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--work-dir", help="where to write the samples (default: a temp dir)")


def _run_loading(args: argparse.Namespace) -> int:
    cfg = LoadingBenchConfig(
        height=args.height,
        width=args.width,
        instances=args.instances,
        samples=args.samples,
        repeats=args.repeats,
        seed=args.seed,
        work_dir=args.work_dir,
    )
    print(format_loading(cfg, *run_loading(cfg)))
    return 0


def _add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--size", type=int, nargs=2, metavar=("H", "W"), default=(512, 512), help="image size"
    )
    parser.add_argument("--instances", type=int, default=40, help="instances per image")
    parser.add_argument("--batch", type=int, default=1, help="images per batch")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per measure")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per measure")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch CPU threads (CPU only; 0: torch's default)"
    )
    parser.add_argument(
        "--shrink", action="store_true", help="ResNet-18 and a 64-wide head (quick runs)"
    )
    parser.add_argument(
        "--variants",
        default="none",
        help=f"optional rows of ours, comma-separated or 'all': {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--measures",
        default="all",
        help=f"what to time, comma-separated or 'all': {', '.join(MEASURES)}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and scene")
    parser.add_argument(
        "--category-bias",
        type=float,
        default=-2.3,
        help="bias of the category logits (-2.3: about 100 detections on a crowded image)",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="sweep instances (at --size) and square sizes (at --instances) instead",
    )
    parser.add_argument(
        "--scaling-instances", default="5,10,20,50,100,200", help="instances of the sweep"
    )
    parser.add_argument("--scaling-sizes", default="512,768,1024,1536,2048", help="square sides")
    parser.add_argument("--plot", metavar="PNG", help="with --scaling: also draw the sweep")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also write a torch.profiler table of every measure of each model to DIR",
    )
    parser.add_argument(
        "--flops",
        action="store_true",
        help="also count each measure's convolution and matrix-product GFLOP, the rate "
        "achieved, and a reference convolution's rate on this device",
    )


def _run_model(args: argparse.Namespace) -> int:
    from .model_bench import format_report, run_model_benchmark
    from .scaling import plot_scaling, run_scaling

    try:
        cfg = ModelBenchConfig(
            device=args.device,
            size=(args.size[0], args.size[1]),
            instances=args.instances,
            batch=args.batch,
            warmup=args.warmup,
            repeats=args.repeats,
            threads=args.threads,
            shrink=args.shrink,
            variants=_names(args.variants, VARIANTS, "--variants"),
            measures=_names(args.measures, MEASURES, "--measures"),
            seed=args.seed,
            category_bias=args.category_bias,
            profile_dir=args.profile,
            flops=args.flops,
        )
        if args.scaling:
            report = run_scaling(
                cfg,
                _ints(args.scaling_instances, "--scaling-instances"),
                _ints(args.scaling_sizes, "--scaling-sizes"),
                log=_progress,
            )
            failed = [p for p in report["points"] if "error" in p]
            print(f"scaling: {len(report['points'])} points, {len(failed)} failed")
            if args.plot:
                plot_scaling(report, args.plot)
                print(f"plot written to {args.plot}")
        else:
            report = run_model_benchmark(cfg, log=_progress)
            print(format_report(report))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        write_json(report, args.json)
        print(f"JSON written to {args.json}")
    return 0


def _add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("json", help="JSON written by 'model --scaling --json'")
    parser.add_argument("png", help="PNG to write")


def _run_plot(args: argparse.Namespace) -> int:
    from .scaling import plot_scaling

    path = Path(args.json)
    if not path.is_file():
        print(
            f"error: {path}: no such file; write it with 'model --scaling --json'.", file=sys.stderr
        )
        return 1
    report = json.loads(path.read_text())
    if "points" not in report:
        print(f"error: {path}: has no 'points'; it is not a --scaling report.", file=sys.stderr)
        return 1
    plot_scaling(report, args.png)
    print(f"plot written to {args.png}")
    return 0


COMMANDS["loading"] = Command(
    "samples/s loading seed-format label maps", _add_loading_arguments, _run_loading
)
COMMANDS["model"] = Command(
    "mmdet's SOLOv2 vs ours: inference, forward, training step, targets + losses",
    _add_model_arguments,
    _run_model,
)
COMMANDS["plot"] = Command("draw a --scaling JSON into a PNG", _add_plot_arguments, _run_plot)


def _lazy(module: str, function: str) -> Callable:
    """``function`` of the sub-module ``module``, imported on the first call.

    Importing this module (e.g. for :data:`COMMANDS`) then loads neither the memory nor the
    export benchmark; :func:`main` imports them when it builds their sub-parsers.
    """

    def call(*args, **kwargs):
        return getattr(importlib.import_module(f".{module}", __package__), function)(
            *args, **kwargs
        )

    return call


COMMANDS["memory"] = Command(
    "RSS over 1,000 inference images and training iterations: flat or growing",
    _lazy("memory", "add_memory_arguments"),
    _lazy("memory", "run_memory_command"),
)
COMMANDS["export"] = Command(
    "onnxruntime (CPU) vs PyTorch eager latency per image, with their agreement",
    _lazy("export_bench", "add_export_arguments"),
    _lazy("export_bench", "run_export_command"),
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Benchmarks of solov2_plugin.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, command in COMMANDS.items():
        command.add_arguments(commands.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    return COMMANDS[args.command].run(args)
