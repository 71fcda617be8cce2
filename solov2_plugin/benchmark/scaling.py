"""Scaling of time and peak memory with instances per image and image size.

Both models are built once; each point of the sweep times the requested
measures (see :mod:`.model_bench`) for both on a fresh synthetic batch. A
point that fails (e.g. out of memory) is recorded with its error and the
sweep goes on. :func:`plot_scaling` draws the JSON into one PNG.
"""

import contextlib
import dataclasses
from typing import Callable, Dict, List, Optional, Sequence

import torch

from .model_bench import ModelBenchConfig, _measure_models, environment, prepare_models
from .models import synthetic_batch

DEFAULT_INSTANCES = (5, 10, 20, 50, 100, 200)
DEFAULT_SIZES = (512, 768, 1024, 1536, 2048)


def run_scaling(
    cfg: ModelBenchConfig,
    instances: Sequence[int] = DEFAULT_INSTANCES,
    sizes: Sequence[int] = DEFAULT_SIZES,
    log: Optional[Callable[[str], None]] = None,
) -> Dict[str, object]:
    """Sweep instances (at ``cfg.size``) and square image sizes (at ``cfg.instances``).

    Args:
        cfg (ModelBenchConfig): Device, batch, repeats, measures, shrink...
        instances (Sequence[int]): Instances per image of the first sweep.
        sizes (Sequence[int]): Square image sides of the second sweep.
        log (Callable[[str], None], optional): Progress lines.

    Returns:
        dict: ``config``, ``environment`` and ``points``: a list of
        ``dict(sweep='instances'|'size', instances, size, model, measures)``
        where ``measures`` maps a measure to a Measurement dict, or
        ``dict(sweep, instances, size, model, error)`` for a failed point.
    """
    log = log or (lambda line: None)
    device, reference, ours, mmdet_context = prepare_models(cfg)
    plan = [("instances", k, tuple(cfg.size)) for k in instances]
    plan += [("size", cfg.instances, (side, side)) for side in sizes]
    points: List[Dict[str, object]] = []
    # A sweep is timed, not profiled nor counted.
    unprofiled = dataclasses.replace(cfg, profile_dir=None, flops=False)
    for sweep, num, size in plan:
        log(f"  {sweep} sweep: {num} instances, {size[0]}x{size[1]}")
        inputs, samples = synthetic_batch(cfg.batch, size, num, device, cfg.seed)
        for name, model in (("mmdet", reference), ("ours", ours)):
            point: Dict[str, object] = dict(sweep=sweep, instances=num, size=list(size), model=name)
            context = mmdet_context if name == "mmdet" else contextlib.nullcontext
            try:
                measured = _measure_models(
                    {name: model}, inputs, samples, unprofiled, device, context, lambda _: None
                )[0][name]
                point["measures"] = {key: value.as_dict() for key, value in measured.items()}
                summary = ", ".join(f"{k} {v.median_ms:.1f} ms" for k, v in measured.items())
                log(f"    {name}: {summary}")
            except Exception as err:  # e.g. out of memory: record it, go on with the sweep
                point["error"] = f"{type(err).__name__}: {err}"[:500]
                log(f"    {name}: failed: {point['error'][:200]}")
                model.zero_grad(set_to_none=True)
                model.eval()
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            points.append(point)
        del inputs, samples
    return dict(config=dict(vars(cfg)), environment=environment(device), points=points)


def plot_scaling(report: Dict[str, object], path: str) -> None:
    """Draw time and peak memory against instances and image size into a PNG.

    Four panels (time vs instances, time vs size, memory vs instances,
    memory vs size); one line per model and measure, log scales. Memory is
    the CUDA peak (weights included) on CUDA and the RSS added by the call
    on CPU. Failed points are left out.

    Args:
        report (dict): Output of :func:`run_scaling` (or its JSON).
        path (str): PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env = report.get("environment", {})
    on_cuda = env.get("device") == "cuda"
    # CUDA: allocated peak (weights included). CPU: RSS added by the call, since the process RSS
    # keeps what earlier calls left in the allocator.
    memory_key = "peak_bytes" if on_cuda else "peak_delta_bytes"
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    styles = {"mmdet": "--", "ours": "-"}
    measures = sorted(
        {key for point in report["points"] for key in point.get("measures", {})},
        key=lambda key: ("inference", "forward", "train_step", "targets_losses").index(key),
    )
    colours = dict(zip(measures, ("C0", "C1", "C2", "C3")))
    for col, sweep in enumerate(("instances", "size")):
        for model, style in styles.items():
            points = [
                p
                for p in report["points"]
                if p["sweep"] == sweep and p["model"] == model and "measures" in p
            ]
            xs = [p["instances"] if sweep == "instances" else p["size"][0] for p in points]
            for key in measures:
                pairs = [
                    (x, p["measures"][key]) for x, p in zip(xs, points) if key in p["measures"]
                ]
                if not pairs:
                    continue
                label = f"{model} {key}"
                axes[0, col].plot(
                    [x for x, _ in pairs],
                    [m["median_ms"] for _, m in pairs],
                    style,
                    color=colours[key],
                    marker="o",
                    label=label,
                )
                axes[1, col].plot(
                    [x for x, _ in pairs],
                    [max(m[memory_key], 2**20) / 2**20 for _, m in pairs],
                    style,
                    color=colours[key],
                    marker="o",
                    label=label,
                )
        xlabel = "instances per image" if sweep == "instances" else "image side (px, square)"
        memory_label = "peak CUDA memory (MiB)" if on_cuda else "RSS added by the call (MiB, >= 1)"
        for row, ylabel in enumerate(("median time (ms)", memory_label)):
            axes[row, col].set_xlabel(xlabel)
            axes[row, col].set_ylabel(ylabel)
            axes[row, col].set_xscale("log")
            axes[row, col].set_yscale("log")
            axes[row, col].grid(True, which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    cfg = report.get("config", {})
    fig.suptitle(
        f"SOLOv2 {'shrunk R18' if cfg.get('shrink') else 'R50'}: mmdet (dashed) vs ours (solid), "
        f"{env.get('device_name', '')} {env.get('device', '')}, {env.get('threads', '')} threads, "
        f"category bias {cfg.get('category_bias', -2.3)}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
