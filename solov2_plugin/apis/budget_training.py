"""Training for a wall-time budget, with mask AP recorded against training minutes.

:class:`WallTimeBudgetHook` keeps a training clock that stops while validation runs, ends
training once the clock passes the budget (evaluating the last weights if the loop did not
just do so), and writes every validation as a point ``(iteration, training minutes, AP)``
to ``<work_dir>/budget_curve.json``. :func:`budget_config` adds the hook to a loaded config
and sets validation every ``val_interval`` iterations; :func:`train_for_budget` runs it.
Comparing recipes "at equal wall time" then means: same budget, same machine, same threads,
the AP read off each curve at the same minute (evaluation time excluded from both).
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from mmdet.registry import HOOKS
from mmengine.config import Config
from mmengine.hooks import Hook

CURVE_FILE = "budget_curve.json"
DEFAULT_METRIC = "coco/segm_mAP"


@dataclass(frozen=True)
class CurvePoint:
    """One validation during a budgeted run.

    Attributes:
        iteration: Training iterations done when it ran.
        train_minutes: Training wall time until then, validation excluded.
        cpu_minutes: CPU time of the training process until then (all its threads,
            validation included; data workers excluded): on a shared machine, the
            compute a run actually got.
        ap: The tracked metric (``coco/segm_mAP`` by default); -1 when it was missing.
        metrics: Every metric the evaluator returned.
    """

    iteration: int
    train_minutes: float
    cpu_minutes: float
    ap: float
    metrics: Dict[str, float]


@HOOKS.register_module()
class WallTimeBudgetHook(Hook):
    """Stop training after ``budget_minutes`` of training time and record AP against it.

    The clock starts at ``before_train`` and is paused between ``before_val`` and
    ``after_val``, so evaluation (however often) does not eat into the budget. Once the
    clock passes the budget after an iteration, the loop is told to stop
    (``train_loop.stop_training``, as mmengine's ``EarlyStoppingHook`` does); if that
    iteration was not validated by the loop, ``after_train`` validates it, so every run
    ends with a point at (about) the budget.

    Args:
        budget_minutes: Training minutes allowed (> 0).
        metric: The metric recorded as ``ap``.
        curve_file: Name of the JSON file written in the work dir after every validation.
    """

    priority = "LOW"

    def __init__(
        self,
        budget_minutes: float,
        metric: str = DEFAULT_METRIC,
        curve_file: str = CURVE_FILE,
    ) -> None:
        if not budget_minutes > 0:
            raise ValueError(f"budget_minutes must be > 0, got {budget_minutes}.")
        self.budget_minutes = float(budget_minutes)
        self.metric = metric
        self.curve_file = curve_file
        self.points: List[CurvePoint] = []
        self._start: Optional[float] = None
        self._val_start: Optional[float] = None
        self._val_seconds = 0.0
        self.stopped_early = False

    def train_minutes(self) -> float:
        """Training minutes so far: wall time since ``before_train`` less validation time."""
        if self._start is None:
            return 0.0
        now = time.perf_counter()
        in_val = now - self._val_start if self._val_start is not None else 0.0
        return (now - self._start - self._val_seconds - in_val) / 60.0

    def before_train(self, runner) -> None:
        """Start the clock."""
        self._start = time.perf_counter()
        self._val_seconds = 0.0
        self.points = []

    def before_val(self, runner) -> None:
        """Pause the clock."""
        self._val_start = time.perf_counter()

    def after_val(self, runner) -> None:
        """Resume the clock."""
        if self._val_start is not None:
            self._val_seconds += time.perf_counter() - self._val_start
            self._val_start = None

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Record a point and rewrite the curve file."""
        metrics = {key: float(value) for key, value in (metrics or {}).items()}
        self.points.append(
            CurvePoint(
                iteration=int(runner.iter),
                train_minutes=round(self.train_minutes(), 4),
                cpu_minutes=round(time.process_time() / 60.0, 4),
                ap=metrics.get(self.metric, -1.0),
                metrics=metrics,
            )
        )
        write_curve(Path(runner.work_dir) / self.curve_file, self.points, self.budget_minutes)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Tell the loop to stop once the budget is spent."""
        if self.train_minutes() >= self.budget_minutes:
            runner.train_loop.stop_training = True
            self.stopped_early = True

    def after_train(self, runner) -> None:
        """Validate the last weights if the loop stopped between two validations."""
        validated = self.points and self.points[-1].iteration == runner.iter
        if runner.val_loop is not None and not validated:
            runner.val_loop.run()


def write_curve(
    path: Union[str, Path], points: Sequence[CurvePoint], budget_minutes: float
) -> Path:
    """Write a run's points as JSON: ``{"budget_minutes": b, "points": [...]}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"budget_minutes": budget_minutes, "points": [asdict(point) for point in points]}
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    return path


def read_curve(path: Union[str, Path]) -> List[CurvePoint]:
    """Read the points written by :func:`write_curve`.

    Raises:
        FileNotFoundError: The file does not exist (the message names the tool that writes it).
        ValueError: The file is not a curve file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; `python tools/compare_recipes.py train ...` writes it in the "
            "run's work dir."
        )
    payload = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(payload, dict) or not isinstance(payload.get("points"), list):
        raise ValueError(f"{path}: not a budget curve (expected a 'points' list).")
    return [CurvePoint(**point) for point in payload["points"]]


def ap_at(points: Sequence[CurvePoint], minutes: float) -> float:
    """The AP of the last validation at or before ``minutes`` of training (-1 if none)."""
    done = [point.ap for point in points if point.train_minutes <= minutes]
    return done[-1] if done else -1.0


def budget_config(
    cfg: Config,
    budget_minutes: float,
    val_interval: int,
    max_iters: Optional[int] = None,
    work_dir: Optional[str] = None,
    metric: str = DEFAULT_METRIC,
) -> Config:
    """Set up a loaded config for a budgeted run, in place.

    The train loop becomes (or stays) an ``IterBasedTrainLoop`` validating every
    ``val_interval`` iterations; periodic checkpoints follow validation and keep one file;
    :class:`WallTimeBudgetHook` is added (replacing one already there).

    Args:
        cfg: A loaded config with an iteration-based schedule (its schedulers by iteration).
        budget_minutes: Training minutes allowed.
        val_interval: Iterations between validations.
        max_iters: Replace the loop's ``max_iters`` (the schedulers are the caller's).
        work_dir: Replace the work dir.
        metric: The metric recorded as AP.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: The config trains by epochs, or ``val_interval`` < 1.
    """
    if val_interval < 1:
        raise ValueError(f"val_interval must be >= 1, got {val_interval}.")
    loop = cfg.train_cfg
    if loop.get("type") != "IterBasedTrainLoop" and not loop.get("max_iters"):
        raise ValueError(
            f"{cfg.filename}: budgeted runs need an iteration-based schedule "
            "(train_cfg=dict(type='IterBasedTrainLoop', max_iters=...)); see "
            "configs/solov2_custom.py."
        )
    loop.val_interval = int(val_interval)
    if max_iters is not None:
        loop.max_iters = int(max_iters)
    checkpoint = cfg.default_hooks.get("checkpoint")
    if checkpoint is not None:
        checkpoint.update(by_epoch=False, interval=int(val_interval), max_keep_ckpts=1)
    hooks: List[Dict[str, Any]] = [
        hook for hook in cfg.get("custom_hooks", []) if hook.get("type") != "WallTimeBudgetHook"
    ]
    hooks.append(dict(type="WallTimeBudgetHook", budget_minutes=budget_minutes, metric=metric))
    cfg.custom_hooks = hooks
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg


def train_for_budget(cfg: Config) -> List[CurvePoint]:
    """Train a config prepared by :func:`budget_config`; return its curve.

    Returns:
        list[CurvePoint]: One point per validation, the last one at the budget (or at
        ``max_iters`` when the schedule ends first).
    """
    from mmengine.runner import Runner

    runner = Runner.from_cfg(cfg)
    runner.train()
    hooks = [hook for hook in runner.hooks if isinstance(hook, WallTimeBudgetHook)]
    return list(hooks[0].points) if hooks else []


@HOOKS.register_module()
class IterationDurationHook(Hook):
    """Record the wall time of every training iteration (data waiting included).

    Attributes:
        durations (list[float]): Seconds from the end of one iteration to the end of the
            next; the first is measured from ``before_train``.
    """

    priority = "LOWEST"

    def __init__(self) -> None:
        self.durations: List[float] = []
        self._last: Optional[float] = None

    def before_train(self, runner) -> None:
        """Start timing."""
        self._last = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Close one iteration."""
        now = time.perf_counter()
        if self._last is not None:
            self.durations.append(now - self._last)
        self._last = now


def cache_fill_iters(cfg: Config) -> int:
    """Iterations until a ``CachedTransforms`` train pipeline has seen every image.

    Args:
        cfg: A loaded config.

    Returns:
        int: ``ceil(images / batch_size)`` (the first epoch) when the train dataset's
        pipeline holds a ``CachedTransforms`` step, else 0.
    """
    loader = cfg.train_dataloader
    steps = loader.dataset.get("pipeline") or []
    if not any(step.get("type") == "CachedTransforms" for step in steps):
        return 0
    from mmdet.registry import DATASETS

    dataset_cfg = copy.deepcopy(loader.dataset)
    dataset_cfg.pipeline = []
    return math.ceil(len(DATASETS.build(dataset_cfg)) / loader.batch_size)


def probe_seconds_per_iter(cfg: Config, probe_iters: int = 8, skip: int = 2) -> float:
    """Median wall seconds of a training iteration of ``cfg`` on this machine, now.

    Trains a copy of ``cfg`` for ``probe_iters`` iterations without validation or
    checkpoints (in ``<work_dir>/probe``) and ignores the first ``skip`` (start-up).
    With a ``CachedTransforms`` pipeline the first epoch, which fills the cache, is
    skipped too (:func:`cache_fill_iters`) and ``probe_iters - skip`` iterations after
    it are timed: the rest of the run is that fast.

    Args:
        cfg: A loaded config with an iteration-based loop (not changed).
        probe_iters: Iterations run without a cache (> skip).
        skip: Leading iterations left out.

    Returns:
        float: Seconds per iteration.

    Raises:
        ValueError: ``probe_iters <= skip``.
    """
    from mmengine.runner import Runner

    if probe_iters <= skip:
        raise ValueError(f"probe_iters ({probe_iters}) must exceed skip ({skip}).")
    timed = probe_iters - skip
    skip = max(skip, cache_fill_iters(cfg))
    probe = cfg.copy()
    probe.train_cfg = dict(
        type="IterBasedTrainLoop", max_iters=int(skip + timed), val_interval=10**9
    )
    probe.val_dataloader, probe.val_cfg, probe.val_evaluator = None, None, None
    probe.default_hooks.checkpoint = None
    probe.custom_hooks = [
        hook
        for hook in probe.get("custom_hooks", [])
        if hook.get("type") not in ("WallTimeBudgetHook", "IterationDurationHook")
    ] + [dict(type="IterationDurationHook")]
    probe.work_dir = str(Path(cfg.work_dir) / "probe")
    runner = Runner.from_cfg(probe)
    runner.train()
    timer = next(hook for hook in runner.hooks if isinstance(hook, IterationDurationHook))
    durations = sorted(timer.durations[skip:])
    return durations[len(durations) // 2]


def fitted_max_iters(seconds_per_iter: float, budget_minutes: float, share: float = 0.95) -> int:
    """Iterations that fit ``share`` of the budget at ``seconds_per_iter`` (at least 1)."""
    if seconds_per_iter <= 0:
        raise ValueError(f"seconds_per_iter must be > 0, got {seconds_per_iter}.")
    return max(1, int(budget_minutes * 60.0 * share / seconds_per_iter))
