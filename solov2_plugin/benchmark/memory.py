"""Long runs keep their memory flat: RSS over many inference calls and training iterations.

Two runs, each sampling the process's resident set size (RSS) after every ``every`` steps:

- ``inference``: ``steps`` calls of :class:`~solov2_plugin.apis.SOLOv2Predictor`, one image
  each, cycling through the demo images (read from their files) and copies of them at other
  sizes (in memory), so that anything cached per input size shows up;
- ``training``: ``steps`` iterations of an mmengine ``Runner`` built from a config, switched to
  an iteration-based loop (validation off or every ``val_interval`` iterations, a log line
  every 50, one checkpoint at the end), sampled by :class:`RSSSamplerHook`, a hook registered
  on that runner only.

A sample holds the RSS at the step, the peak RSS since the previous sample (the kernel's
high-water mark ``VmHWM``, reset after each read through ``/proc/self/clear_refs``; where the
kernel refuses, the lifetime peak) and the summed proportional set size (PSS) of the child
processes (dataloader workers: forked, they share most pages with this one, so their RSS would
count those pages again).
:func:`summarize` turns the samples into the numbers of the report: RSS at the start, peak over
the first and the last 10% of the steps, and the growth per 100 steps, the slope of a
least-squares line through the RSS of the second half (the first half holds the allocator's
and the caches' warm-up). A run is ``flat`` when that growth is below ``threshold_mib`` MiB per
100 steps. :func:`plot_memory` draws RSS against step into a PNG.

Linux only: the RSS is read from ``/proc``.
"""

from __future__ import annotations

import gc
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.hooks import Hook

#: Growth (MiB per 100 steps, second half) below which a run counts as flat.
DEFAULT_THRESHOLD_MIB = 1.0
#: Fraction of the steps at each end whose peak RSS is reported.
WINDOW_FRACTION = 0.1
#: Sizes (H, W) of the in-memory copies of the demo images, added to the cycle of inputs:
#: other aspect ratios give other padded input sizes after the test pipeline's resize.
EXTRA_SIZES: Tuple[Tuple[int, int], ...] = ((200, 300), (384, 256), (512, 512), (97, 131))

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MIB = 1024.0 * 1024.0

ImageInput = Union[str, Path, np.ndarray]


@dataclass
class MemorySample:
    """The memory of the process after one step.

    Attributes:
        step (int): 1-based step (image or iteration) after which it was taken.
        rss_mib (float): Resident set size of this process, MiB.
        peak_mib (float): Peak RSS since the previous sample, MiB (the lifetime peak where
            the high-water mark cannot be reset).
        children_mib (float): Summed proportional set size (PSS: private pages plus a share
            of the shared ones) of the child processes (dataloader workers), MiB; 0 without
            any.
    """

    step: int
    rss_mib: float
    peak_mib: float
    children_mib: float = 0.0


@dataclass
class MemoryReport:
    """What a long run did to the memory.

    Attributes:
        kind (str): ``'inference'`` or ``'training'``.
        steps (int): Steps run.
        samples (list[MemorySample]): One per sampled step, in order.
        start_rss_mib (float): RSS at the first sample, MiB.
        end_rss_mib (float): RSS at the last sample, MiB.
        first_peak_mib (float): Peak RSS over the first 10% of the samples, MiB.
        last_peak_mib (float): Peak RSS over the last 10% of the samples, MiB.
        growth_mib_per_100 (float | None): Slope of the least-squares line through
            (step, RSS) over the second half of the samples, in MiB per 100 steps; None with
            fewer than 2 samples there.
        children_growth_mib_per_100 (float | None): The same for the children's PSS.
        threshold_mib (float): Growth below which the run is ``flat``.
        verdict (str): ``'flat'``, ``'growing'`` or ``'unknown'`` (too few samples).
        growth_stderr_mib_per_100 (float | None): Standard error of that slope, from the
            scatter of the RSS around the line (None with fewer than 3 samples): how far the
            fitted growth may stray from the true one by chance.
        peak_kind (str): ``'since_previous'`` (high-water mark reset at every sample) or
            ``'lifetime'``.
        wall_s (float): Wall time of the steps, seconds.
        python_objects (tuple[int, int]): Objects tracked by Python's garbage collector
            before the first step and after the last.
        settings (dict): What was run (config, checkpoint, batch, workers, threads...).
    """

    kind: str
    steps: int
    samples: List[MemorySample]
    start_rss_mib: float
    end_rss_mib: float
    first_peak_mib: float
    last_peak_mib: float
    growth_mib_per_100: Optional[float]
    children_growth_mib_per_100: Optional[float]
    threshold_mib: float
    verdict: str
    growth_stderr_mib_per_100: Optional[float] = None
    peak_kind: str = "since_previous"
    wall_s: float = 0.0
    python_objects: Tuple[int, int] = (0, 0)
    settings: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Plain-dict form for JSON (samples as ``[step, rss, peak, children]`` rows)."""
        data = asdict(self)
        data["samples"] = [
            [s.step, round(s.rss_mib, 3), round(s.peak_mib, 3), round(s.children_mib, 3)]
            for s in self.samples
        ]
        data["sample_columns"] = ["step", "rss_mib", "peak_mib", "children_mib"]
        data["python_objects"] = list(self.python_objects)
        return data

    def summary_line(self) -> str:
        """One line: start, first and last peaks, growth, verdict, wall time."""
        growth = "n/a" if self.growth_mib_per_100 is None else f"{self.growth_mib_per_100:+.3f}"
        if self.growth_stderr_mib_per_100 is not None:
            growth += f" +- {self.growth_stderr_mib_per_100:.3f}"
        line = (
            f"{self.kind}: {self.steps} steps in {self.wall_s:.0f} s; RSS at start "
            f"{self.start_rss_mib:.1f} MiB, end {self.end_rss_mib:.1f} MiB; peak first 10% "
            f"{self.first_peak_mib:.1f} MiB, last 10% {self.last_peak_mib:.1f} MiB; growth "
            f"{growth} MiB/100 steps (second half) -> {self.verdict} "
            f"(threshold {self.threshold_mib} MiB/100 steps)"
        )
        if self.children_growth_mib_per_100 is not None and any(
            s.children_mib for s in self.samples
        ):
            line += f"; workers' growth {self.children_growth_mib_per_100:+.3f} MiB/100 steps"
        return line


# ---------------------------------------------------------------------------------------------
# Reading the RSS


def _status_fields(path: Path) -> Dict[str, float]:
    """``VmRSS`` and ``VmHWM`` of a ``/proc/<pid>/status`` file in MiB (empty if unreadable)."""
    fields: Dict[str, float] = {}
    try:
        text = path.read_text()
    except OSError:  # the process ended, or no /proc
        return fields
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024.0
    return fields


def _proportional_mib(pid: str) -> float:
    """Proportional set size (PSS) of process ``pid`` in MiB: its private pages plus its share
    of the pages it shares (a forked worker shares most of its parent's); its RSS where
    ``smaps_rollup`` is missing, 0 once the process has ended."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return _status_fields(Path(f"/proc/{pid}/status")).get("VmRSS", 0.0)
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _children_mib() -> float:
    """Summed PSS of this process's direct children (over all its threads), MiB."""
    pids = set()
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            pids.update((task / "children").read_text().split())
        except OSError:
            continue
    return sum(_proportional_mib(pid) for pid in pids)


class RSSSampler:
    """Samples of this process's RSS, each with the peak since the previous one.

    Args:
        every (int): Keep a sample every ``every`` steps (and always the last step given to
            :meth:`finish`). Defaults to 1.

    Raises:
        RuntimeError: Where ``/proc/self/status`` cannot be read (not Linux).
    """

    def __init__(self, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"RSSSampler: every must be >= 1, got {every}.")
        if "VmRSS" not in _status_fields(_STATUS):
            raise RuntimeError(
                f"{_STATUS} has no VmRSS: the memory benchmark reads the RSS from /proc and "
                "runs on Linux only."
            )
        self.every = every
        self.samples: List[MemorySample] = []
        self.peak_kind = "since_previous" if self._reset_peak() else "lifetime"

    @staticmethod
    def _reset_peak() -> bool:
        """Reset the RSS high-water mark to the current RSS; True when the kernel allowed it."""
        try:
            _CLEAR_REFS.write_text("5")
        except OSError:
            return False
        return True

    def sample(self, step: int, force: bool = False) -> Optional[MemorySample]:
        """Record the memory after ``step`` when it is due (or ``force``).

        Args:
            step (int): 1-based step just finished.
            force (bool): Record even if ``step`` is not a multiple of ``every``.

        Returns:
            MemorySample | None: The sample, or None when not due.
        """
        if not force and step % self.every:
            return None
        if self.samples and self.samples[-1].step == step:
            return self.samples[-1]
        fields = _status_fields(_STATUS)
        rss = fields["VmRSS"]
        peak = max(fields.get("VmHWM", rss), rss)
        if self.peak_kind == "since_previous":
            self._reset_peak()
        record = MemorySample(step, rss, peak, _children_mib())
        self.samples.append(record)
        return record


class RSSSamplerHook(Hook):
    """Sample the RSS after every training iteration (registered by the benchmark only).

    Args:
        sampler (RSSSampler): Where the samples go.
        log (Callable[[str], None], optional): Gets a progress line every ``log_every``
            iterations.
        log_every (int): Iterations between progress lines. Defaults to 100.
    """

    priority = "LOWEST"

    def __init__(
        self,
        sampler: RSSSampler,
        log: Optional[Callable[[str], None]] = None,
        log_every: int = 100,
    ) -> None:
        self.sampler = sampler
        self.log = log
        self.log_every = log_every

    def after_train_iter(
        self,
        runner: Any,
        batch_idx: int,
        data_batch: Optional[Any] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Sample after iteration ``runner.iter + 1`` (mmengine counts from 0 here).

        Args:
            runner: The runner.
            batch_idx: Index of the batch.
            data_batch: The batch.
            outputs: The losses.
        """
        step = runner.iter + 1
        record = self.sampler.sample(step, force=step == runner.max_iters)
        if self.log and record is not None and step % self.log_every == 0:
            self.log(f"  training {step}/{runner.max_iters}: RSS {record.rss_mib:.1f} MiB")


# ---------------------------------------------------------------------------------------------
# The arithmetic


def least_squares_slope(x: Sequence[float], y: Sequence[float]) -> Optional[float]:
    """Slope of the least-squares line through the points ``(x[i], y[i])``.

    Args:
        x (Sequence[float]): Abscissae (at least two distinct).
        y (Sequence[float]): Ordinates, as many.

    Returns:
        float | None: ``sum((x - mean x)(y - mean y)) / sum((x - mean x)^2)``; None with fewer
        than two points or all ``x`` equal.
    """
    if len(x) != len(y):
        raise ValueError(f"least_squares_slope: {len(x)} abscissae but {len(y)} ordinates.")
    if len(x) < 2:
        return None
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    dx = xs - xs.mean()
    denominator = float((dx * dx).sum())
    if denominator == 0.0:
        return None
    return float((dx * (ys - ys.mean())).sum() / denominator)


def slope_standard_error(x: Sequence[float], y: Sequence[float]) -> Optional[float]:
    """Standard error of the least-squares slope through ``(x[i], y[i])``.

    Args:
        x (Sequence[float]): Abscissae.
        y (Sequence[float]): Ordinates, as many.

    Returns:
        float | None: ``sqrt(sum(residual^2) / (n - 2) / sum((x - mean x)^2))``; None with
        fewer than three points or all ``x`` equal.
    """
    slope = least_squares_slope(x, y)
    if slope is None or len(x) < 3:
        return None
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    residuals = ys - ys.mean() - slope * (xs - xs.mean())
    spread = float(((xs - xs.mean()) ** 2).sum())
    return math.sqrt(float((residuals**2).sum()) / (len(xs) - 2) / spread)


def summarize(
    kind: str,
    samples: Sequence[MemorySample],
    threshold_mib: float = DEFAULT_THRESHOLD_MIB,
    peak_kind: str = "since_previous",
    wall_s: float = 0.0,
    python_objects: Tuple[int, int] = (0, 0),
    settings: Optional[Dict[str, Any]] = None,
) -> MemoryReport:
    """Turn samples into a report.

    With ``n`` samples: the first and last windows hold ``max(1, round(n / 10))`` samples
    each; the growth is fitted over the last ``ceil(n / 2)`` samples and scaled to 100 steps.

    Args:
        kind (str): ``'inference'`` or ``'training'``.
        samples (Sequence[MemorySample]): In step order, at least one.
        threshold_mib (float): Growth per 100 steps below which the run is ``flat``.
        peak_kind (str): See :class:`MemoryReport`.
        wall_s (float): Wall time, seconds.
        python_objects (tuple[int, int]): Objects tracked by the garbage collector before and
            after.
        settings (dict, optional): What was run.

    Returns:
        MemoryReport: The numbers and the verdict.

    Raises:
        ValueError: Without samples.
    """
    if not samples:
        raise ValueError(f"summarize({kind!r}): no samples; run at least one step.")
    samples = list(samples)
    n = len(samples)
    window = max(1, round(n * WINDOW_FRACTION))
    half = samples[n // 2 :]
    steps = [s.step for s in half]
    growth = least_squares_slope(steps, [s.rss_mib for s in half])
    stderr = slope_standard_error(steps, [s.rss_mib for s in half])
    children = least_squares_slope(steps, [s.children_mib for s in half])
    if growth is None:
        verdict = "unknown"
    else:
        verdict = "flat" if growth * 100.0 < threshold_mib else "growing"
    return MemoryReport(
        kind=kind,
        steps=samples[-1].step,
        samples=samples,
        start_rss_mib=samples[0].rss_mib,
        end_rss_mib=samples[-1].rss_mib,
        first_peak_mib=max(s.peak_mib for s in samples[:window]),
        last_peak_mib=max(s.peak_mib for s in samples[-window:]),
        growth_mib_per_100=None if growth is None else growth * 100.0,
        children_growth_mib_per_100=None if children is None else children * 100.0,
        threshold_mib=threshold_mib,
        verdict=verdict,
        growth_stderr_mib_per_100=None if stderr is None else stderr * 100.0,
        peak_kind=peak_kind,
        wall_s=wall_s,
        python_objects=python_objects,
        settings=dict(settings or {}),
    )


# ---------------------------------------------------------------------------------------------
# Inference


def demo_inputs(
    image_dirs: Sequence[Union[str, Path]],
    extra_sizes: Sequence[Tuple[int, int]] = EXTRA_SIZES,
) -> List[ImageInput]:
    """The inputs cycled through by the inference run.

    Args:
        image_dirs (Sequence[str | Path]): Folders of images (e.g. ``data/demo/val/images``):
            every image file in them, as a path, in name order.
        extra_sizes (Sequence[tuple[int, int]]): For each ``(H, W)``, the first image resized
            to it, as an ``(H, W, 3)`` uint8 RGB array.

    Returns:
        list[str | np.ndarray]: Paths, then the arrays.

    Raises:
        FileNotFoundError: If a folder is missing or holds no image.
    """
    import mmcv

    from ..apis.predictor import read_image

    suffixes = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
    paths: List[ImageInput] = []
    for folder in image_dirs:
        folder = Path(folder)
        found = sorted(p for p in folder.glob("*") if p.suffix.lower() in suffixes)
        if not found:
            raise FileNotFoundError(
                f"{folder}: no image files (.png, .jpg, .tif, .bmp); pass a folder of images "
                "(e.g. data/demo/val/images)."
            )
        paths.extend(str(p) for p in found)
    first = read_image(paths[0])
    arrays = [mmcv.imresize(first, (w, h)) for h, w in extra_sizes]
    return paths + arrays


def measure_inference(
    predict: Callable[[ImageInput], Any],
    inputs: Sequence[ImageInput],
    steps: int,
    every: int = 1,
    threshold_mib: float = DEFAULT_THRESHOLD_MIB,
    log: Optional[Callable[[str], None]] = None,
    settings: Optional[Dict[str, Any]] = None,
) -> MemoryReport:
    """Call ``predict`` on ``steps`` images, cycling through ``inputs``, sampling the RSS.

    Args:
        predict (Callable): One image (path or ``(H, W, 3)`` uint8 RGB array) to its result,
            e.g. a :class:`~solov2_plugin.apis.SOLOv2Predictor`. Results are dropped.
        inputs (Sequence[str | np.ndarray]): The images, cycled through.
        steps (int): Images to run (>= 1).
        every (int): Sample every ``every`` images (and after the last). Defaults to 1.
        threshold_mib (float): See :func:`summarize`.
        log (Callable[[str], None], optional): Progress lines.
        settings (dict, optional): Stored in the report, with ``detections_per_image`` (the
            mean length of the results' ``scores``) added.

    Returns:
        MemoryReport: ``kind='inference'``.
    """
    from tqdm import tqdm

    if steps < 1 or not inputs:
        raise ValueError(f"measure_inference: need steps >= 1 and inputs, got {steps} steps.")
    sampler = RSSSampler(every)
    objects_before = len(gc.get_objects())
    detections = 0
    start = time.perf_counter()
    for step in tqdm(range(1, steps + 1), desc="inference", disable=log is None, mininterval=5):
        result = predict(inputs[(step - 1) % len(inputs)])
        detections += len(getattr(result, "scores", ()))
        sampler.sample(step, force=step == steps)
    wall = time.perf_counter() - start
    settings = dict(settings or {}, detections_per_image=detections / steps)
    report = summarize(
        "inference",
        sampler.samples,
        threshold_mib,
        sampler.peak_kind,
        wall,
        (objects_before, len(gc.get_objects())),
        settings,
    )
    return report


def run_inference_memory(
    config: str,
    checkpoint: str,
    steps: int = 1000,
    image_dirs: Sequence[str] = ("data/demo/val/images", "data/demo/train/images"),
    every: int = 1,
    threshold_mib: float = DEFAULT_THRESHOLD_MIB,
    log: Optional[Callable[[str], None]] = None,
    **test_cfg_overrides: Any,
) -> MemoryReport:
    """Build a predictor on the CPU and run :func:`measure_inference` with :func:`demo_inputs`.

    Args:
        config (str): The model's config.
        checkpoint (str): Its trained weights.
        steps (int): Images to run.
        image_dirs (Sequence[str]): Folders of the images cycled through.
        every (int): Sample every ``every`` images.
        threshold_mib (float): See :func:`summarize`.
        log (Callable[[str], None], optional): Progress lines.
        **test_cfg_overrides: Passed to the predictor (e.g. ``score_thr``).

    Returns:
        MemoryReport: ``kind='inference'``.
    """
    from ..apis.predictor import SOLOv2Predictor

    predictor = SOLOv2Predictor(config, checkpoint, device="cpu", **test_cfg_overrides)
    inputs = demo_inputs(image_dirs)
    settings = dict(
        config=str(config),
        checkpoint=str(checkpoint),
        images=len(inputs),
        extra_sizes=[list(size) for size in EXTRA_SIZES],
        image_dirs=list(image_dirs),
        test_cfg=predictor.test_cfg,
        threads=torch.get_num_threads(),
    )
    return measure_inference(predictor, inputs, steps, every, threshold_mib, log, settings)


# ---------------------------------------------------------------------------------------------
# Training


def iteration_based(
    cfg: Any,
    steps: int,
    batch_size: int = 2,
    num_workers: int = 0,
    val_interval: int = 0,
    log_interval: int = 50,
) -> Any:
    """Switch a training config to ``steps`` iterations, in place.

    ``IterBasedTrainLoop`` of ``steps`` iterations (the dataloader restarts at every pass over
    the data, as between epochs); learning-rate warm-up over the first 50 iterations (at most
    ``steps``) then constant; validation every ``val_interval`` iterations (0: none); a log
    line every ``log_interval``; one checkpoint, at the end.

    Args:
        cfg (Config): A training config (e.g. ``configs/solov2_demo.py``).
        steps (int): Iterations.
        batch_size (int): Images per iteration.
        num_workers (int): Dataloader workers (persistent when > 0).
        val_interval (int): Iterations between validations; 0 turns validation off.
        log_interval (int): Iterations between log lines.

    Returns:
        Config: ``cfg``.
    """
    cfg.train_cfg = dict(
        type="IterBasedTrainLoop", max_iters=steps, val_interval=val_interval or steps
    )
    if not val_interval:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0
    if cfg.get("val_dataloader") is not None:
        cfg.val_dataloader.num_workers = num_workers
        cfg.val_dataloader.persistent_workers = num_workers > 0
    cfg.param_scheduler = [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=min(50, steps))
    ]
    cfg.log_processor = dict(type="LogProcessor", window_size=log_interval, by_epoch=False)
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=log_interval)
    cfg.default_hooks.checkpoint = dict(
        type="CheckpointHook", interval=steps, by_epoch=False, max_keep_ckpts=1, save_best=None
    )
    return cfg


def run_training_memory(
    config: str,
    work_dir: str,
    steps: int = 1000,
    batch_size: int = 2,
    num_workers: int = 0,
    val_interval: int = 0,
    every: int = 1,
    threshold_mib: float = DEFAULT_THRESHOLD_MIB,
    log: Optional[Callable[[str], None]] = None,
) -> MemoryReport:
    """Train ``steps`` iterations of ``config`` (see :func:`iteration_based`), sampling the RSS.

    Args:
        config (str): A training config.
        work_dir (str): Logs and the final checkpoint.
        steps (int): Iterations (>= 1).
        batch_size (int): Images per iteration.
        num_workers (int): Dataloader workers (persistent when > 0).
        val_interval (int): Iterations between validations; 0: none.
        every (int): Sample every ``every`` iterations (and after the last).
        threshold_mib (float): See :func:`summarize`.
        log (Callable[[str], None], optional): Progress lines (one every 100 iterations).

    Returns:
        MemoryReport: ``kind='training'``.
    """
    from mmengine.runner import Runner

    from ..apis.runner_config import load_config

    if steps < 1:
        raise ValueError(f"run_training_memory: steps must be >= 1, got {steps}.")
    cfg = iteration_based(
        load_config(config, work_dir=work_dir), steps, batch_size, num_workers, val_interval
    )
    runner = Runner.from_cfg(cfg)
    sampler = RSSSampler(every)
    runner.register_hook(RSSSamplerHook(sampler, log), priority="LOWEST")
    objects_before = len(gc.get_objects())
    start = time.perf_counter()
    runner.train()
    wall = time.perf_counter() - start
    settings = dict(
        config=str(config),
        work_dir=str(work_dir),
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        val_interval=val_interval,
        threads=torch.get_num_threads(),
    )
    report = summarize(
        "training",
        sampler.samples,
        threshold_mib,
        sampler.peak_kind,
        wall,
        (objects_before, len(gc.get_objects())),
        settings,
    )
    return report


# ---------------------------------------------------------------------------------------------
# Plot


def _running_median(values: np.ndarray, span: int) -> np.ndarray:
    """Median of each value and the ``span - 1`` before it (fewer at the start), shape kept."""
    return np.array([np.median(values[max(0, i - span + 1) : i + 1]) for i in range(len(values))])


def plot_memory(reports: Sequence[Union[MemoryReport, dict]], path: str) -> None:
    """Draw RSS (and the peak since the previous sample) against step, one panel a run.

    Args:
        reports (Sequence[MemoryReport | dict]): Reports, or their :meth:`MemoryReport.as_dict`.
        path (str): PNG to write (its folder is created).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r.as_dict() if isinstance(r, MemoryReport) else r for r in reports]
    if not rows:
        raise ValueError("plot_memory: no reports to draw.")
    figure, axes = plt.subplots(len(rows), 1, figsize=(8, 3.2 * len(rows)), squeeze=False)
    for axis, row in zip(axes[:, 0], rows):
        table = np.asarray(row["samples"], dtype=np.float64).reshape(-1, 4)
        steps, rss, peak, children = table.T
        axis.plot(steps, peak, color="tab:orange", lw=0.5, alpha=0.5, label="peak since previous")
        axis.plot(steps, rss, color="tab:blue", lw=0.5, alpha=0.6, label="RSS")
        span = max(1, len(rss) // 40)
        axis.plot(
            steps, _running_median(rss, span), color="navy", lw=1.5, label=f"RSS, median of {span}"
        )
        handles = axis.get_lines()
        if children.any():  # on its own scale: the workers hold several copies of the data
            workers = axis.twinx()
            handles += workers.plot(
                steps, children, color="tab:green", lw=1.0, label="workers' PSS (right)"
            )
            workers.set_ylabel("workers' MiB")
        growth = row["growth_mib_per_100"]
        shown = "n/a" if growth is None or not math.isfinite(growth) else f"{growth:+.2f}"
        stderr = row.get("growth_stderr_mib_per_100")
        if stderr is not None and growth is not None:
            shown += f" ± {stderr:.2f}"
        settings = row["settings"]
        workers = ""
        if settings.get("num_workers") is not None:
            every = settings.get("val_interval") or 0
            validation = f"validation every {every}" if every else "no validation"
            workers = f", {settings['num_workers']} workers, {validation}"
        axis.set_title(
            f"{row['kind']}{workers}: {shown} MiB / 100 steps (second half), {row['verdict']}",
            fontsize=10,
        )
        low, high = float(min(rss.min(), peak.min())), float(max(rss.max(), peak.max()))
        if high - low < 20.0:  # at least 20 MiB tall, so that a flat line looks flat
            middle = (low + high) / 2.0
            axis.set_ylim(middle - 10.0, middle + 10.0)
        axis.set_xlabel("step")
        axis.set_ylabel("MiB")
        axis.grid(alpha=0.3)
        axis.legend(handles=handles, fontsize=8, loc="lower right")
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------------------------------------
# Command line (``tools/benchmark.py memory``)

RUNS = ("inference", "training")


def add_memory_arguments(parser: Any) -> None:
    """Options of ``tools/benchmark.py memory``.

    Args:
        parser (argparse.ArgumentParser): The sub-command's parser.
    """
    parser.add_argument(
        "--runs", default="inference,training", help="comma-separated: inference, training"
    )
    parser.add_argument("--config", default="configs/solov2_demo.py", help="model config")
    parser.add_argument(
        "--checkpoint", help="trained weights for the inference run (e.g. from tools/train.py)"
    )
    parser.add_argument("--steps", type=int, default=1000, help="images / iterations per run")
    parser.add_argument("--batch-size", type=int, default=2, help="training images per iteration")
    parser.add_argument(
        "--num-workers",
        type=int,
        nargs="+",
        default=[0],
        help="training dataloader workers, one training run each (persistent when > 0)",
    )
    parser.add_argument(
        "--val-interval", type=int, default=0, help="iterations between validations (0: none)"
    )
    parser.add_argument("--every", type=int, default=1, help="sample the RSS every N steps")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: other processes share the cores; 0: torch's default)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD_MIB,
        help="growth in MiB per 100 steps (second half) below which a run is flat",
    )
    parser.add_argument("--score-thr", type=float, help="inference score threshold override")
    parser.add_argument("--work-dir", help="training work dir (default: a temporary folder)")
    parser.add_argument("--json", metavar="PATH", help="write the reports (rewritten after each)")
    parser.add_argument("--plot", metavar="PNG", help="draw RSS against step")
    parser.add_argument(
        "--plot-from",
        metavar="JSON",
        nargs="+",
        help="draw the reports of --json files into --plot; runs nothing",
    )


def _replot(json_paths: Sequence[str], png: Optional[str]) -> int:
    """Draw the reports of JSON files written by ``memory --json``, in order, into ``png``."""
    import json
    import sys

    if not png:
        print("error: --plot-from needs --plot PNG (where to draw).", file=sys.stderr)
        return 1
    reports: List[dict] = []
    for json_path in json_paths:
        source = Path(json_path)
        if not source.is_file():
            print(f"error: {source}: no such file; write it with 'memory --json'.", file=sys.stderr)
            return 1
        found = json.loads(source.read_text()).get("reports")
        if not found:
            print(f"error: {source}: no 'reports'; not a 'memory --json' file.", file=sys.stderr)
            return 1
        reports.extend(found)
    plot_memory(reports, png)
    print(f"plot written to {png}")
    return 0


def run_memory_command(args: Any) -> int:
    """Run ``tools/benchmark.py memory``; returns the exit status.

    Args:
        args (argparse.Namespace): Parsed :func:`add_memory_arguments` options.

    Returns:
        int: 0, or 1 with a line on stderr for a bad option.
    """
    import shlex
    import sys
    import tempfile

    from .cli import write_json

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.plot_from:
        return _replot(args.plot_from, args.plot)
    runs = [name.strip() for name in args.runs.split(",") if name.strip()]
    unknown = [name for name in runs if name not in RUNS]
    problems = [f"--runs: unknown {unknown}; choose from {list(RUNS)}."] if unknown else []
    if "inference" in runs and not (args.checkpoint and Path(args.checkpoint).is_file()):
        given = f"{args.checkpoint}: no such file" if args.checkpoint else "missing"
        problems.append(
            f"--checkpoint {given}; the inference run needs trained weights: python "
            f"tools/train.py {args.config} --work-dir /tmp/ckpt --cfg-options "
            "train_cfg.max_epochs=1, then --checkpoint /tmp/ckpt/epoch_1.pth"
        )
    if not Path(args.config).is_file():
        problems.append(f"--config {args.config}: no such file; pass a config file.")
    if args.steps < 1 or args.every < 1 or args.threads < 0:
        problems.append("--steps and --every must be >= 1, --threads >= 0.")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)
    command = "python tools/benchmark.py memory " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    output: Dict[str, Any] = dict(command=command, options=dict(vars(args)), reports=[])
    reports: List[MemoryReport] = []

    def keep(report: MemoryReport) -> None:
        reports.append(report)
        print(report.summary_line())
        output["reports"].append(report.as_dict())
        if args.json:
            write_json(output, args.json)

    overrides = {} if args.score_thr is None else {"score_thr": args.score_thr}
    if "inference" in runs:
        keep(
            run_inference_memory(
                args.config,
                args.checkpoint,
                args.steps,
                every=args.every,
                threshold_mib=args.threshold,
                log=progress,
                **overrides,
            )
        )
    if "training" in runs:
        with tempfile.TemporaryDirectory(prefix="memory_bench_") as scratch:
            for workers in args.num_workers:
                work_dir = str(Path(args.work_dir or scratch) / f"workers_{workers}")
                keep(
                    run_training_memory(
                        args.config,
                        work_dir,
                        args.steps,
                        args.batch_size,
                        workers,
                        args.val_interval,
                        args.every,
                        args.threshold,
                        log=progress,
                    )
                )
    if args.json:
        print(f"JSON written to {args.json}")
    if args.plot:
        plot_memory(reports, args.plot)
        print(f"plot written to {args.plot}")
    return 0
