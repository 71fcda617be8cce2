"""Safe checkpoint loading for mmengine on torch >= 2.6, without global side effects.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, plain Python
containers and explicitly allow-listed globals may appear in them. Our checkpoints hold
nothing else: :class:`~solov2_plugin.engine.PortableCheckpointHook` writes the message hub's
``HistoryBuffer`` objects and any numpy value as plain numbers, lists and tensors, so plain
``torch.load(path, weights_only=True)`` opens them in a process that never imported this
plugin, and importing it changes how nothing is pickled.

:func:`enable_safe_checkpoints` (run on ``import solov2_plugin``) only replaces mmengine's
local-file checkpoint loader, through mmengine's own ``CheckpointLoader.register_scheme``,
by :func:`load_from_local_safely`: the same ``weights_only=True`` load, which

* turns a refusal into :class:`UnsafeCheckpointError` naming the file and the fix;
* still reads checkpoints written by mmengine's runner with numpy values, and by earlier
  versions of this plugin (their HistoryBuffers pickled through
  :func:`rebuild_history_buffer`), by allow-listing numpy's array/scalar reconstructors,
  numeric dtypes and :func:`rebuild_history_buffer` *for the duration of that one load*
  (``torch.serialization.safe_globals``), never for the whole process.
"""

from __future__ import annotations

import os.path as osp
import pickle
from typing import Any, List, Optional, Sequence

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


class CorruptCheckpointError(ValueError):
    """A checkpoint is truncated, empty or malformed (torn, or not written by ``torch.save``)."""


def rebuild_history_buffer(
    log_history: Sequence[float], count_history: Sequence[float], max_length: int
) -> HistoryBuffer:
    """Rebuild a :class:`HistoryBuffer` from plain numbers.

    Earlier versions of this plugin pickled HistoryBuffers as a call of this function; it
    stays (and is allow-listed during :func:`load_from_local_safely`) so that their
    checkpoints still load and resume. Nothing pickles through it any more.

    Args:
        log_history: Logged values, oldest first.
        count_history: Counts matching ``log_history``.
        max_length: Capacity of the buffer.

    Returns:
        The buffer, equal to the one that was saved.
    """
    return HistoryBuffer(list(log_history), list(count_history), int(max_length))


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


def _refusal_reason(message: str) -> str:
    """The informative line of torch's weights-only refusal (torch words it variously)."""
    lines = [line.strip() for line in message.split("WeightsUnpickler error:")[-1].splitlines()]
    lines = [line for line in lines if line]
    named = [line for line in lines if "GLOBAL" in line or "global" in line]
    return (named or lines or [""])[0]


def load_from_local_safely(filename: str, map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True``.

    numpy values and the HistoryBuffers of earlier plugin versions are allow-listed for
    this load only (see the module docstring).

    Args:
        filename: Path of the checkpoint file.
        map_location: As in :func:`torch.load`.

    Returns:
        The checkpoint, usually a dict with ``state_dict`` and ``meta``.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        UnsafeCheckpointError: The file names objects outside the allow-list.
        CorruptCheckpointError: The file is truncated, empty or malformed.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(
            f"Checkpoint '{filename}' does not exist: check the path given to "
            "load_from / resume / init_cfg."
        )
    try:
        with torch.serialization.safe_globals([rebuild_history_buffer, *_numpy_safe_globals()]):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except (EOFError, RuntimeError) as err:
        # torch's zip reader reports a torn file as a RuntimeError, an empty one as EOFError.
        if isinstance(err, RuntimeError) and "PytorchStreamReader" not in str(err):
            raise
        raise CorruptCheckpointError(
            f"Checkpoint '{filename}' cannot be read ({type(err).__name__}: "
            f"{(str(err).strip().splitlines() or ['empty file'])[0]}): it is truncated or not a "
            "file torch.save wrote."
        ) from err
    except pickle.UnpicklingError as err:
        reason = _refusal_reason(str(err))
        if "global" not in str(err).lower():  # no code named: a torn or foreign file
            raise CorruptCheckpointError(
                f"Checkpoint '{filename}' cannot be read ({reason or err}): it is truncated or "
                "not a file torch.save wrote."
            ) from err
        raise UnsafeCheckpointError(
            f"Refused to load checkpoint '{filename}': it holds Python objects outside "
            f"the safe allow-list ({reason}). If you trust its source, load it once with "
            "torch.load(path, weights_only=False) and save only its 'state_dict' and "
            "'meta' again."
        ) from err


def enable_safe_checkpoints() -> None:
    """Load local mmengine checkpoints through :func:`load_from_local_safely`.

    Idempotent; called on ``import solov2_plugin``. Changes nothing else: no pickling hook,
    no process-wide allow-list entry.
    """
    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_safely, force=True)
