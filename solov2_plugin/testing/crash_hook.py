"""A test hook that kills its own training process with SIGKILL at planned points.

Crash-and-resume tests need crashes at exact, repeatable places. :class:`CrashAtPointsHook`
takes a list of points and a record file; each process fires the first point the record does
not list yet (writing it there first), so a test can chain: train, killed at point 1; resume,
killed at point 2; ...; resume to the end. Points:

* ``'train_iter:N'`` - right after the N-th training iteration of the run (1-based, counted
  over all epochs), before any later hook;
* ``'val:E'`` - after the first batch of the validation that follows epoch E;
* ``'checkpoint_write:E'`` - while ``epoch_E.pth`` is being saved: its bytes are in the
  temporary file, the rename to the final name has not happened.

Import it through the config: ``custom_imports = dict(imports=['solov2_plugin',
'solov2_plugin.testing.crash_hook'])``. Never use it outside tests.
"""

from __future__ import annotations

import os
import os.path as osp
import signal
from typing import List, Optional, Sequence

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

POINT_KINDS = ("train_iter", "val", "checkpoint_write")


def _parse(point: str) -> tuple:
    """``'kind:N'`` as ``(kind, N)``; raises ValueError naming the bad point."""
    kind, _, number = point.partition(":")
    if kind not in POINT_KINDS or not number.isdigit():
        raise ValueError(f"Crash point '{point}' must be one of {POINT_KINDS} followed by ':N'.")
    return kind, int(number)


@HOOKS.register_module()
class CrashAtPointsHook(Hook):
    """SIGKILL the training process at the first planned point not yet fired.

    Args:
        points: Points in the order they happen, e.g. ``['val:1', 'train_iter:3']``.
        record: A text file listing the points already fired (one a line); created when
            missing.
    """

    priority = "LOWEST"

    def __init__(self, points: Sequence[str], record: str) -> None:
        self.points: List[tuple] = [_parse(p) for p in points]
        self.record = record

    def _pending(self) -> Optional[tuple]:
        """The first point not listed in the record."""
        fired = set()
        if osp.isfile(self.record):
            with open(self.record, encoding="utf-8") as handle:
                fired = {line.strip() for line in handle if line.strip()}
        for kind, number in self.points:
            if f"{kind}:{number}" not in fired:
                return kind, number
        return None

    def _fire(self, kind: str, number: int) -> None:
        """Record the point, then kill this process without any clean-up."""
        with open(self.record, "a", encoding="utf-8") as handle:
            handle.write(f"{kind}:{number}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Fire ``train_iter:N`` after the N-th iteration."""
        if self._pending() == ("train_iter", runner.iter + 1):
            self._fire("train_iter", runner.iter + 1)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        """Fire ``val:E`` after the first validation batch following epoch E."""
        if batch_idx == 0 and self._pending() == ("val", runner.epoch):
            self._fire("val", runner.epoch)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Arm ``checkpoint_write:E``: fire when ``epoch_E.pth`` is about to be renamed."""
        pending = self._pending()
        if pending is None or pending[0] != "checkpoint_write":
            return
        target = f"epoch_{pending[1]}.pth"
        if checkpoint.get("meta", {}).get("epoch") != pending[1]:
            return
        rename = os.replace
        hook = self

        def replace_then_maybe_die(src, dst, *args, **kwargs):
            if osp.basename(str(dst)) == target:
                hook._fire(*pending)
            return rename(src, dst, *args, **kwargs)

        os.replace = replace_then_maybe_die  # the process dies at the rename it waits for
