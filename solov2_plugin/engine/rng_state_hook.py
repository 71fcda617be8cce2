"""A hook that makes an epoch-based resume repeat the uninterrupted run bit for bit."""

from __future__ import annotations

from typing import Any, Dict, Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from .rng_state import capture_rng_state, restore_rng_state

RNG_STATE_KEY = "rng_state"


@HOOKS.register_module()
class RandomStateCheckpointHook(Hook):
    """Save the global random states in every checkpoint, restore them on resume, and keep
    validation from drawing on training's random streams.

    mmengine's resume restores weights, optimizer, schedulers and message hub but re-seeds
    the global generators from the config's seed: the resumed epochs then flip, crop and
    shuffle differently from the uninterrupted run. Worse, validation runs between the
    checkpoint and the next epoch and draws from the same generators (a DataLoader draws a
    base seed from torch's) in the uninterrupted run only. This hook

    * stores :func:`~solov2_plugin.engine.rng_state.capture_rng_state` under
      ``checkpoint['rng_state']`` (plain ints and tensors) in ``before_save_checkpoint``;
    * snapshots the states before validation and restores them after it (in
      ``after_val_epoch``, before ``CheckpointHook`` saves a best checkpoint, and again in
      ``after_val``), so evaluation never shifts training randomness;
    * on resume, restores the saved states at the start of the first resumed epoch, after
      every ``before_train`` hook and before the epoch's DataLoader iterator is created.
      Loading weights with ``load_from`` (no resume) leaves the seeded states alone.

    Exactness needs the train DataLoader's workers to be started anew each epoch
    (``persistent_workers=False``, the default): persistent workers carry their own
    generators from epoch to epoch, which no checkpoint can reach; a warning says so.
    Epoch-based resume is exact; an iteration-based resume replays the skipped batches
    through the pipeline (mmengine's ``IterBasedTrainLoop``) and is not.
    """

    priority = "VERY_HIGH"  # restore after validation before CheckpointHook saves the best

    def __init__(self) -> None:
        self._val_snapshot: Optional[Dict[str, Any]] = None
        self._resumed_state: Optional[Dict[str, Any]] = None
        self._resumed_iter: Optional[int] = None

    def before_train(self, runner) -> None:
        """Warn when persistent DataLoader workers make an exact resume impossible.

        Only epoch-based runs are warned: an iteration-based resume is not exact anyway,
        so persistent workers cost it nothing.
        """
        if isinstance(runner.train_loop, IterBasedTrainLoop):
            return
        loader = runner.train_dataloader
        if getattr(loader, "persistent_workers", False) and getattr(loader, "num_workers", 0) > 0:
            runner.logger.warning(
                "train_dataloader.persistent_workers=True: the workers' random states live in "
                "the worker processes and are lost on a crash, so a resumed run will not "
                "repeat the uninterrupted one exactly. Set "
                "train_dataloader.persistent_workers=False for exact resumes."
            )

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the global random states in ``checkpoint['rng_state']``."""
        checkpoint[RNG_STATE_KEY] = capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the saved states until the first resumed epoch starts."""
        self._resumed_state = checkpoint.get(RNG_STATE_KEY)
        self._resumed_iter = checkpoint.get("meta", {}).get("iter")

    def before_train_epoch(self, runner) -> None:
        """On the first epoch after a resume, continue from the saved random states."""
        state, saved_iter = self._resumed_state, self._resumed_iter
        self._resumed_state = self._resumed_iter = None
        if saved_iter is None or runner.iter == 0 or runner.iter != saved_iter:
            return  # a fresh run, or weights loaded with load_from
        if state is None:
            runner.logger.warning(
                "The resumed checkpoint holds no random states (written without "
                "RandomStateCheckpointHook): the resumed run continues from the seed and will "
                "not repeat the uninterrupted one exactly."
            )
            return
        restore_rng_state(state)
        runner.logger.info(f"Restored the random states saved at iteration {saved_iter}.")

    def before_val(self, runner) -> None:
        """Snapshot the random states before validation draws from them."""
        self._val_snapshot = capture_rng_state()

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        """Undo validation's draws before a best checkpoint is saved."""
        if self._val_snapshot is not None:
            restore_rng_state(self._val_snapshot)

    def after_val(self, runner) -> None:
        """Undo the draws of hooks that ran after ``after_val_epoch``."""
        if self._val_snapshot is not None:
            restore_rng_state(self._val_snapshot)
            self._val_snapshot = None
