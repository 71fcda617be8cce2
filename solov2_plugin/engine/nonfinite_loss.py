"""Skip or stop a training step whose loss is NaN or Inf, naming the iteration and the images.

Two pieces work together:

- :class:`NonFiniteLossOptimWrapper` (and, for mixed precision,
  :class:`NonFiniteLossAmpOptimWrapper` and :class:`NonFiniteLossBF16OptimWrapper`) checks the
  total loss in ``update_params``, before ``backward``. On a non-finite loss it either skips the
  step (``action='skip'``: no backward, no optimizer step, gradients zeroed, so the weights stay
  as they were) or raises :class:`FloatingPointError` (``action='stop'``). After
  ``max_consecutive`` skips in a row it raises as well: a run whose loss stays non-finite has
  diverged and should not go on quietly.
- :class:`RecordBatchImagesHook` records, before each training iteration, the ``img_path`` of
  every image in the batch into the :class:`~mmengine.logging.MessageHub`, where the wrapper
  reads them for its message. Without the hook the message says the names are unknown.

The total loss is the sum of every loss the model returns (``BaseModel.parse_losses``), so any
non-finite loss component makes it non-finite and is caught.

Config::

    optim_wrapper = dict(type="NonFiniteLossOptimWrapper", action="skip", max_consecutive=10,
                         optimizer=...)
    custom_hooks = [dict(type="RecordBatchImagesHook")]
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch
from mmdet.registry import HOOKS
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, MMLogger
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

from .bf16_optim_wrapper import BF16OptimWrapper

#: MessageHub runtime-info key under which :class:`RecordBatchImagesHook` stores the batch's
#: image names (not resumed, so never written into checkpoints).
BATCH_IMAGES_KEY = "solov2_plugin/batch_img_paths"

_ACTIONS = ("skip", "stop")


def batch_image_names(data_batch: Any) -> List[str]:
    """Return the name of every image in a dataloader batch.

    Args:
        data_batch: A batch as the dataloader yields it, normally a dict whose
            ``data_samples`` is a list of data samples with ``img_path`` (or ``img_id``) in
            their metainfo.

    Returns:
        One name per image: its ``img_path``, else ``img_id=<id>``, else ``<unknown>``. Empty
        when the batch carries no data samples.
    """
    samples = data_batch.get("data_samples") if isinstance(data_batch, dict) else None
    if not samples:
        return []
    names = []
    for sample in samples:
        meta = getattr(sample, "metainfo", None)
        if meta is None and isinstance(sample, dict):
            meta = sample
        meta = meta or {}
        if meta.get("img_path") is not None:
            names.append(str(meta["img_path"]))
        elif meta.get("img_id") is not None:
            names.append(f"img_id={meta['img_id']}")
        else:
            names.append("<unknown>")
    return names


@HOOKS.register_module()
class RecordBatchImagesHook(Hook):
    """Record the names of the current training batch's images into the message hub.

    :class:`NonFiniteLossOptimWrapper` reads them to name the images of a batch whose loss is
    NaN or Inf. The entry is cleared after the iteration and is never saved in checkpoints.
    """

    def before_train_iter(
        self, runner: Any, batch_idx: int, data_batch: Optional[Any] = None
    ) -> None:
        """Store the batch's image names under :data:`BATCH_IMAGES_KEY`.

        Args:
            runner: The runner of the training process.
            batch_idx: Index of the batch in the epoch.
            data_batch: The batch from the dataloader.
        """
        runner.message_hub.update_info(
            BATCH_IMAGES_KEY, batch_image_names(data_batch), resumed=False
        )

    def after_train_iter(
        self,
        runner: Any,
        batch_idx: int,
        data_batch: Optional[Any] = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Drop the stored names once the iteration is over.

        Args:
            runner: The runner of the training process.
            batch_idx: Index of the batch in the epoch.
            data_batch: The batch from the dataloader.
            outputs: The model's logged losses.
        """
        runner.message_hub.pop_info(BATCH_IMAGES_KEY)


class NonFiniteLossMixin:
    """``update_params`` that skips or stops on a non-finite loss; mix into an optim wrapper.

    Args:
        action: ``'skip'`` to drop the step and go on, ``'stop'`` to raise
            :class:`FloatingPointError`.
        max_consecutive: With ``action='skip'``, raise :class:`FloatingPointError` once this
            many steps in a row have been skipped.
        **kwargs: Passed on to the optim wrapper (``optimizer``, ``clip_grad``, ...).

    With gradient accumulation, a skipped step also discards the gradients accumulated so far
    in its accumulation window. In distributed training all ranks skip together (the decision
    is all-reduced) and run a zero-weighted backward so that DDP's gradient reduction stays in
    step; those gradients are zeroed before anything uses them.
    """

    def __init__(self, *, action: str = "skip", max_consecutive: int = 10, **kwargs: Any) -> None:
        if action not in _ACTIONS:
            raise ValueError(f"action must be one of {_ACTIONS}, got {action!r}")
        if int(max_consecutive) < 1:
            raise ValueError(f"max_consecutive must be >= 1, got {max_consecutive!r}")
        super().__init__(**kwargs)
        self.action = action
        self.max_consecutive = int(max_consecutive)
        self.consecutive_skips = 0
        self.total_skips = 0

    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: Optional[Dict] = None,
        zero_kwargs: Optional[Dict] = None,
    ) -> None:
        """Update the parameters, unless the loss (on any rank) is NaN or Inf.

        Args:
            loss: The total loss to back-propagate.
            step_kwargs: Arguments for ``optimizer.step``.
            zero_kwargs: Arguments for ``optimizer.zero_grad``.

        Raises:
            FloatingPointError: The loss is non-finite and ``action='stop'``, or
                ``max_consecutive`` steps in a row have been skipped.
        """
        if self._all_finite(loss):
            self.consecutive_skips = 0
            super().update_params(loss, step_kwargs=step_kwargs, zero_kwargs=zero_kwargs)
            return
        message = self._describe(loss)
        if self.action == "stop":
            raise FloatingPointError(f"{message}; stopping (action='stop').")
        self.consecutive_skips += 1
        self.total_skips += 1
        if self.consecutive_skips >= self.max_consecutive:
            raise FloatingPointError(
                f"{message}; {self.consecutive_skips} steps in a row have been skipped "
                f"(max_consecutive={self.max_consecutive}): training has diverged, stopping. "
                "Lower the learning rate, add gradient clipping or check the data."
            )
        MMLogger.get_current_instance().warning(
            f"{message}; skipping this step (skip {self.consecutive_skips} in a row, "
            f"{self.total_skips} in total, stops at {self.max_consecutive} in a row)."
        )
        if dist.get_world_size() > 1:
            # Every rank skips, but DDP expects a backward after each forward.
            (loss * 0.0).backward()
        self._inner_count += 1
        self.zero_grad(**(zero_kwargs or {}))

    @staticmethod
    def _all_finite(loss: torch.Tensor) -> bool:
        """Whether the loss is finite on every rank."""
        bad = (~torch.isfinite(loss.detach())).any().to(torch.int32).reshape(1)
        if dist.get_world_size() > 1:
            dist.all_reduce(bad, op="sum")
        return int(bad.item()) == 0

    @staticmethod
    def _describe(loss: torch.Tensor) -> str:
        """One line naming the loss value, the iteration and the batch's images."""
        hub = MessageHub.get_current_instance()
        iteration = hub.get_info("iter")
        where = (
            f"iteration {iteration + 1} (runner.iter={iteration})"
            if iteration is not None
            else "an unknown iteration"
        )
        names: Optional[Sequence[str]] = hub.get_info(BATCH_IMAGES_KEY)
        if names is None:
            images = "images unknown (add dict(type='RecordBatchImagesHook') to custom_hooks)"
        else:
            images = f"images: {', '.join(names) if names else '<none recorded>'}"
        value = loss.detach().float().reshape(-1)
        shown = value.item() if value.numel() == 1 else value.tolist()
        if dist.get_world_size() > 1:
            return (
                f"Non-finite loss on at least one rank (rank {dist.get_rank()}'s loss: {shown}) "
                f"at {where}; rank {dist.get_rank()}'s {images}"
            )
        return f"Non-finite loss ({shown}) at {where}; {images}"


@OPTIM_WRAPPERS.register_module()
class NonFiniteLossOptimWrapper(NonFiniteLossMixin, OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` that skips or stops on a NaN/Inf loss.

    See :class:`NonFiniteLossMixin` for the arguments.
    """


@OPTIM_WRAPPERS.register_module()
class NonFiniteLossAmpOptimWrapper(NonFiniteLossMixin, AmpOptimWrapper):
    """:class:`~mmengine.optim.AmpOptimWrapper` that skips or stops on a NaN/Inf loss.

    The check runs on the unscaled loss, before the loss scaler. See
    :class:`NonFiniteLossMixin` for the arguments.
    """


@OPTIM_WRAPPERS.register_module()
class NonFiniteLossBF16OptimWrapper(NonFiniteLossMixin, BF16OptimWrapper):
    """:class:`~solov2_plugin.engine.BF16OptimWrapper` that skips or stops on a NaN/Inf loss.

    See :class:`NonFiniteLossMixin` for the arguments.
    """
