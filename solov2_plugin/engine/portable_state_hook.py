"""A hook that writes the runner's state into checkpoints as plain data."""

from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from .portable_state import from_portable, to_portable


@HOOKS.register_module()
class PortableCheckpointHook(Hook):
    """Save checkpoints that plain ``torch.load(path, weights_only=True)`` opens.

    mmengine puts :class:`~mmengine.logging.HistoryBuffer` objects (and sometimes numpy
    values) into a checkpoint's ``message_hub`` and ``meta``; ``weights_only`` loading refuses
    them unless their classes are allow-listed in the loading process. In
    ``before_save_checkpoint`` this hook rewrites them as tagged plain numbers, lists and
    tensors (:func:`~solov2_plugin.engine.portable_state.to_portable`); in
    ``after_load_checkpoint``, which mmengine calls before ``Runner.resume`` reads the
    message hub, it rebuilds them, so resuming restores the logged histories as before.

    The priority is the lowest: on save it converts what every other hook added.
    """

    priority = "LOWEST"

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rewrite every entry of ``checkpoint`` as plain data, in place."""
        for key in list(checkpoint):
            checkpoint[key] = to_portable(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Rebuild HistoryBuffers and numpy values in ``checkpoint``, in place."""
        for key in list(checkpoint):
            checkpoint[key] = from_portable(checkpoint[key])
