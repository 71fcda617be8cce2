"""Runtime support: safe checkpoint loading for mmengine on torch >= 2.6."""

from .checkpoint import UnsafeCheckpointError, enable_safe_checkpoints, load_from_local_safely

enable_safe_checkpoints()

__all__ = ["UnsafeCheckpointError", "enable_safe_checkpoints", "load_from_local_safely"]
