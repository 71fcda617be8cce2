"""Runner configs for the train, test and demo tools: one loader, the tools' options on top.

``tools/train.py``, ``tools/test.py`` and ``tools/demo.py`` are thin command-line wrappers
over these functions, so every option is applied the same way and can be tested on the
resulting :class:`mmengine.config.Config` without running anything::

    from solov2_plugin.apis import build_train_config

    cfg = build_train_config('configs/solov2_demo.py', resume='auto',
                             cfg_options={'train_cfg.max_epochs': 2})
    Runner.from_cfg(cfg).train()
"""

from __future__ import annotations

import os.path as osp
import warnings
from typing import Any, Mapping, Optional

import torch
from mmengine.config import Config

from ..engine.bf16_optim_wrapper import cpu_has_native_bf16
from ..engine.resume import checkpoint_problem, find_resume_checkpoint
from .data_overrides import merge_cfg_options

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")
GT_PRED_HOOK = "GTPredOverlayHook"
# Hooks every training of ours runs with, added when a config does not list them: exact
# resumes (random states in checkpoints, validation kept off training's random streams) and
# checkpoints that plain torch.load(weights_only=True) opens.
CHECKPOINT_STATE_HOOKS = ("RandomStateCheckpointHook", "PortableCheckpointHook")
ATOMIC_CHECKPOINT_HOOK = "AtomicCheckpointHook"


def default_work_dir(config: str) -> str:
    """``work_dirs/<config name without .py>``, mmdet's default work dir.

    Args:
        config: Path of the config file.

    Returns:
        str: The work dir, relative to the current folder.
    """
    return osp.join("work_dirs", osp.splitext(osp.basename(config))[0])


def _apply_cfg_options(cfg: Config, cfg_options: Optional[Mapping[str, Any]]) -> None:
    """Merge ``--cfg-options`` (dotted keys) into ``cfg``, in place.

    The single place where command-line overrides enter a config; a top-level
    ``data_root`` or ``classes`` also reaches the datasets and the head
    (:func:`merge_cfg_options`).
    """
    merge_cfg_options(cfg, cfg_options)


def load_config(
    config: str,
    work_dir: Optional[str] = None,
    cfg_options: Optional[Mapping[str, Any]] = None,
    launcher: str = "none",
) -> Config:
    """Load a config, apply the overrides and settle the work dir and launcher.

    Args:
        config: Path of the config file.
        work_dir: Where logs and checkpoints go; the config's ``work_dir`` when None, else
            ``work_dirs/<config name>``.
        cfg_options: Overrides with dotted keys, e.g. ``{'train_cfg.max_epochs': 2}``.
        launcher: ``'none'`` (one process), ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: The config, with ``work_dir`` and ``launcher`` set.

    Raises:
        FileNotFoundError: The config file does not exist.
        ValueError: An unknown launcher.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(
            f"Config file '{config}' does not exist; pass the path of a config such as "
            "configs/solov2_demo.py."
        )
    if launcher not in LAUNCHERS:
        raise ValueError(f"launcher must be one of {LAUNCHERS}, got '{launcher}'.")
    cfg = Config.fromfile(config)
    _apply_cfg_options(cfg, cfg_options)
    cfg.launcher = launcher
    cfg.work_dir = work_dir or cfg.get("work_dir") or default_work_dir(config)
    return cfg


def use_mixed_precision(cfg: Config) -> None:
    """Switch a training config's optimizer wrapper to mixed precision; in place.

    With a CUDA GPU: mmengine's ``AmpOptimWrapper`` (float16, dynamic loss scale unless the
    config sets one). Without: :class:`~solov2_plugin.engine.BF16OptimWrapper` (bfloat16
    autocast, no loss scale), with a warning when the CPU has no native bfloat16 arithmetic
    (there it is slower than float32). The non-finite-loss guard becomes its twin over the
    chosen wrapper; any other wrapper type is replaced, its arguments kept.

    Args:
        cfg: A training config with ``optim_wrapper``.
    """
    guarded = cfg.optim_wrapper.get("type") == "NonFiniteLossOptimWrapper"
    if torch.cuda.is_available():
        cfg.optim_wrapper.type = "NonFiniteLossAmpOptimWrapper" if guarded else "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
        return
    cfg.optim_wrapper.type = "NonFiniteLossBF16OptimWrapper" if guarded else "BF16OptimWrapper"
    if not cpu_has_native_bf16():
        warnings.warn(
            "--amp without a GPU trains in bfloat16, but this CPU has no native bfloat16 "
            "arithmetic (AVX512-BF16 or AMX): expect it to be slower than without --amp.",
            stacklevel=2,
        )


def add_checkpoint_safety(cfg: Config) -> None:
    """Make a training config save atomic, portable checkpoints that resume exactly; in place.

    * ``custom_hooks`` gains :data:`CHECKPOINT_STATE_HOOKS` where missing (any config,
      e.g. an mmdet Mask R-CNN trained through ``tools/train.py``);
    * mmengine's ``CheckpointHook`` becomes :class:`~solov2_plugin.engine.AtomicCheckpointHook`
      with the same arguments; a config without a checkpoint hook gets one saving every epoch
      (mmengine's default); ``default_hooks.checkpoint=None`` stays off.

    Args:
        cfg: A training config.
    """
    hooks = list(cfg.get("custom_hooks", None) or [])
    listed = {hook.get("type") for hook in hooks}
    hooks += [dict(type=name) for name in CHECKPOINT_STATE_HOOKS if name not in listed]
    cfg.custom_hooks = hooks
    default_hooks = cfg.get("default_hooks", None)
    if default_hooks is None:
        cfg.default_hooks = dict(checkpoint=dict(type=ATOMIC_CHECKPOINT_HOOK, interval=1))
    elif "checkpoint" not in default_hooks:
        default_hooks.checkpoint = dict(type=ATOMIC_CHECKPOINT_HOOK, interval=1)
    elif default_hooks.checkpoint is not None and default_hooks.checkpoint.get("type") in (
        "CheckpointHook",
        "mmengine.CheckpointHook",
    ):
        default_hooks.checkpoint.type = ATOMIC_CHECKPOINT_HOOK


def _apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Set ``cfg.resume`` and ``cfg.load_from`` for ``--resume``; in place.

    ``'auto'`` resumes from the newest checkpoint of the work dir that loads
    (:func:`~solov2_plugin.engine.resume.find_resume_checkpoint` warns naming each one that
    does not), or starts afresh when there is none; a path must load.

    Raises:
        ValueError: The checkpoint named by ``resume`` is torn or not a checkpoint, or none
            of the work dir's checkpoints loads.
        UnsafeCheckpointError: The checkpoint holds pickled code.
    """
    if resume is None:
        return
    if resume == "auto":
        found = find_resume_checkpoint(cfg.work_dir)
        cfg.resume, cfg.load_from = found is not None, found
        return
    problem = checkpoint_problem(resume)
    if problem is not None:
        raise ValueError(f"Checkpoint '{resume}' cannot be resumed from: {problem}.")
    cfg.resume, cfg.load_from = True, resume


def build_train_config(
    config: str,
    work_dir: Optional[str] = None,
    cfg_options: Optional[Mapping[str, Any]] = None,
    launcher: str = "none",
    resume: Optional[str] = None,
    amp: bool = False,
) -> Config:
    """The config ``tools/train.py`` trains with.

    Args:
        config: Path of the config file.
        work_dir: See :func:`load_config`.
        cfg_options: See :func:`load_config`.
        launcher: See :func:`load_config`.
        resume: ``'auto'`` resumes from the newest checkpoint in the work dir that loads
            (warning about each torn one it skips; afresh when there is none), a path
            resumes from that checkpoint; None starts afresh (from ``load_from`` if set).
        amp: Train with mixed precision (:func:`use_mixed_precision`: float16 on a CUDA GPU,
            bfloat16 without one).

    Returns:
        Config: The config for ``Runner.from_cfg``, with :func:`add_checkpoint_safety`
        applied (atomic checkpoints, random states saved, plain-data runner state).

    Raises:
        FileNotFoundError: The config, or the checkpoint named by ``resume``, does not exist.
        ValueError: An unknown launcher, or no checkpoint to resume from loads (torn, not a
            checkpoint).
        UnsafeCheckpointError: The checkpoint to resume from holds pickled code.
    """
    if resume not in (None, "auto") and not osp.isfile(resume):
        raise FileNotFoundError(
            f"Checkpoint '{resume}' to resume from does not exist; pass an existing .pth file "
            "or '--resume auto' (the latest checkpoint in the work dir)."
        )
    cfg = load_config(config, work_dir, cfg_options, launcher)
    if amp:
        use_mixed_precision(cfg)
    add_checkpoint_safety(cfg)
    _apply_resume(cfg, resume)
    return cfg


def build_test_config(
    config: str,
    checkpoint: str,
    work_dir: Optional[str] = None,
    cfg_options: Optional[Mapping[str, Any]] = None,
    launcher: str = "none",
    out: Optional[str] = None,
    show_dir: Optional[str] = None,
    show_score_thr: float = 0.3,
) -> Config:
    """The config ``tools/test.py`` evaluates with.

    Args:
        config: Path of the config file.
        checkpoint: The weights to evaluate (``.pth``), set as ``load_from``.
        work_dir: See :func:`load_config`.
        cfg_options: See :func:`load_config`.
        launcher: See :func:`load_config`.
        out: Dump the predictions to this ``.pkl`` file (mmdet's ``DumpDetResults``).
        show_dir: Draw ground truth | prediction per test image into this folder
            (:class:`~solov2_plugin.engine.GTPredOverlayHook`; a relative folder lies under
            ``<work_dir>/<timestamp>``, as with mmdet's ``--show-dir``).
        show_score_thr: Only predictions scoring above this are drawn.

    Returns:
        Config: The config for ``Runner.from_cfg``.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        ValueError: ``out`` is not a ``.pkl`` file, or an unknown launcher.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(
            f"Checkpoint '{checkpoint}' does not exist; train one with tools/train.py (its work "
            "dir keeps epoch_*.pth and best_*.pth) or pass the path of an existing .pth file."
        )
    if out is not None and not out.endswith((".pkl", ".pickle")):
        raise ValueError(f"--out must name a .pkl file, got '{out}'.")
    cfg = load_config(config, work_dir, cfg_options, launcher)
    cfg.load_from = checkpoint
    if show_dir:
        # Our hook draws ground truth beside prediction (mmdet's DetVisualizationHook draws
        # the test pipeline's ground truth, which holds none: an empty panel).
        hooks = [h for h in cfg.get("custom_hooks", []) if h.get("type") != GT_PRED_HOOK]
        hooks.append(dict(type=GT_PRED_HOOK, out_dir=show_dir, score_thr=show_score_thr))
        cfg.custom_hooks = hooks
    if out is not None:
        evaluators = cfg.test_evaluator
        evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
        cfg.test_evaluator = [*evaluators, dict(type="DumpDetResults", out_file_path=out)]
    return cfg
