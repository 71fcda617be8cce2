"""Safe checkpoint loading for mmengine on torch >= 2.6.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, plain
Python containers and explicitly allow-listed globals may appear in them. mmengine
0.10.7 checkpoints break that rule in two ways:

* its message hub stores :class:`~mmengine.logging.HistoryBuffer` objects whose
  pickles hold bound methods, rebuilt through ``builtins.getattr`` - a generic
  callable that must never be allow-listed;
* logged values may be numpy arrays and scalars.

:func:`enable_safe_checkpoints` fixes both without loosening the unpickler:

1. ``HistoryBuffer`` is pickled (through :mod:`copyreg`, the standard hook for
   this) as its two histories in plain Python floats plus ``max_length``, rebuilt by
   one function of this module, the only new callable on the allow-list;
2. numpy arrays, numeric dtypes and scalars are allow-listed by their specific
   reconstructors;
3. mmengine's local-file checkpoint loader is replaced, through mmengine's own
   ``CheckpointLoader.register_scheme``, by one that loads with
   ``weights_only=True`` and turns a refusal into :class:`UnsafeCheckpointError`
   naming the file.

It runs on ``import solov2_plugin``, so every entry point (our tools, the Python
API, mmdet's tools with ``custom_imports``) gets it.
"""

from __future__ import annotations

import copyreg
import os.path as osp
import pickle
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

# Numeric dtype classes only: object, string and void dtypes could smuggle data.
_NUMERIC_DTYPE_NAMES = [
    "Bool",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float16",
    "Float32",
    "Float64",
    "LongDouble",
    "Complex64",
    "Complex128",
    "CLongDouble",
    "Byte",
    "UByte",
    "Short",
    "UShort",
    "Int",
    "UInt",
    "Long",
    "ULong",
    "LongLong",
    "ULongLong",
    "DateTime64",
    "TimeDelta64",
]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds Python objects outside the safe allow-list."""


def rebuild_history_buffer(
    log_history: Sequence[float], count_history: Sequence[float], max_length: int
) -> HistoryBuffer:
    """Rebuild a :class:`HistoryBuffer` from plain numbers (the unpickling side).

    Args:
        log_history: Logged values, oldest first.
        count_history: Counts matching ``log_history``.
        max_length: Capacity of the buffer.

    Returns:
        The buffer, equal to the one that was saved.
    """
    return HistoryBuffer(list(log_history), list(count_history), int(max_length))


def _reduce_history_buffer(buffer: HistoryBuffer) -> Tuple[Callable, Tuple[Any, ...]]:
    """Pickle a :class:`HistoryBuffer` as plain floats (the pickling side)."""
    logs, counts = buffer.data
    return rebuild_history_buffer, (
        [float(v) for v in logs],
        [float(v) for v in counts],
        int(buffer.max_length),
    )


def _numpy_safe_globals() -> List[Any]:
    """numpy's array/scalar reconstructors and numeric dtype classes (numpy 1 and 2)."""
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core import multiarray
    safe: List[Any] = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    dtypes = getattr(np, "dtypes", None)  # numpy >= 1.25
    if dtypes is not None:
        safe += [
            getattr(dtypes, f"{name}DType")
            for name in _NUMERIC_DTYPE_NAMES
            if hasattr(dtypes, f"{name}DType")
        ]
    return safe


def load_from_local_safely(filename: str, map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename: Path of the checkpoint file.
        map_location: As in :func:`torch.load`.

    Returns:
        The checkpoint, usually a dict with ``state_dict`` and ``meta``.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UnsafeCheckpointError: The file holds objects outside the allow-list.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f"Checkpoint '{filename}' does not exist: check the path given to "
            "load_from / resume / init_cfg."
        )
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).split("WeightsUnpickler error:")[-1].strip().splitlines()[0]
        raise UnsafeCheckpointError(
            f"Refused to load checkpoint '{filename}': it holds Python objects outside "
            f"the safe allow-list ({reason}). If you trust its source, load it once with "
            "torch.load(path, weights_only=False) and save only its 'state_dict' and "
            "'meta' again."
        ) from err


def enable_safe_checkpoints() -> None:
    """Make mmengine checkpoints save and load under ``weights_only=True``.

    Idempotent; called on ``import solov2_plugin``.
    """
    copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
    torch.serialization.add_safe_globals([rebuild_history_buffer, *_numpy_safe_globals()])
    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_safely, force=True)
