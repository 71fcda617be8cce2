"""mmengine's CheckpointHook, with checkpoints and ``last_checkpoint`` written atomically."""

from __future__ import annotations

import os.path as osp
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from .atomic_backend import ATOMIC_BACKEND, atomic_write

LAST_CHECKPOINT = "last_checkpoint"


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """A :class:`~mmengine.hooks.CheckpointHook` whose files are never torn.

    Takes every argument of ``CheckpointHook``. Differences:

    * a local ``out_dir`` saves through :class:`~solov2_plugin.engine.atomic_backend.
      AtomicLocalBackend` (temporary file, fsync, rename) unless ``backend_args`` names
      another backend;
    * ``<work_dir>/last_checkpoint`` is written atomically too, and only once the
      checkpoint it names is in place;
    * with ``max_keep_ckpts``, the outdated checkpoint is deleted after the new one is
      saved, not before (mmengine's order leaves no checkpoint at all when the process is
      killed during the save with ``max_keep_ckpts=1``).

    A kill at any point therefore leaves ``last_checkpoint`` naming a complete checkpoint
    (possibly the previous one).
    """

    def __init__(self, *args, backend_args: Optional[dict] = None, **kwargs) -> None:
        out_dir = kwargs.get("out_dir")
        local = out_dir is None or "://" not in str(out_dir)
        if backend_args is None and kwargs.get("file_client_args") is None and local:
            backend_args = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, backend_args=backend_args, **kwargs)

    def _remove_checkpoint(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (a file, or a folder for DeepSpeed)."""
        path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(step))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        """Save the checkpoint of ``step``, then point ``last_checkpoint`` at it, then prune.

        Args:
            runner: The runner.
            step: The epoch or iteration number in the file name.
            meta: Extra ``meta`` for the checkpoint (epoch and iteration).
        """
        outdated = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        record = osp.join(runner.work_dir, LAST_CHECKPOINT)
        atomic_write(str(self.last_ckpt).encode("utf-8"), record)
        if outdated is not None:
            self._remove_checkpoint(outdated)
