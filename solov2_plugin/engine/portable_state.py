"""Runner state as plain data: what ``torch.load(weights_only=True)`` opens anywhere.

mmengine's message hub keeps logged scalars in :class:`~mmengine.logging.HistoryBuffer`
objects and may hold numpy scalars and arrays (logged metrics, runtime info). Pickled as they
are, those need allow-listed globals to load. :func:`to_portable` rewrites them as tagged
dicts of plain Python numbers, lists and tensors; :func:`from_portable` turns the tags back
into the original objects, exactly (float64 and float32 values survive a Python float
unchanged; arrays travel as tensors of their own dtype).

A tag is a dict with the single marker key :data:`TAG` naming the kind::

    {TAG: 'HistoryBuffer', 'log': [...], 'count': [...], 'max_length': int}
    {TAG: 'ndarray', 'tensor': Tensor}          # numeric arrays
    {TAG: 'ndarray', 'list': [...], 'dtype': 'str' | 'bool' | ...}  # other dtypes
    {TAG: 'numpy_scalar', 'value': float | int | bool | complex-as-[re, im], 'dtype': str}

Everything else (tensors, str, int, float, bool, None, containers) is kept as it is;
containers are rebuilt with their own type (``OrderedDict`` stays ``OrderedDict``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

TAG = "__solov2_portable__"

# numpy dtype kinds a tensor holds exactly: bool, signed/unsigned int, float, complex.
_TENSOR_KINDS = "biufc"


def _array_to_portable(array: np.ndarray) -> dict:
    """A numpy array as a tagged dict (a tensor for numeric dtypes, a list otherwise)."""
    if array.dtype.kind in _TENSOR_KINDS:
        try:
            return {TAG: "ndarray", "tensor": torch.from_numpy(np.ascontiguousarray(array)).clone()}
        except TypeError:  # a dtype torch lacks (e.g. uint32 on old torch): exact as a list
            pass
    return {
        TAG: "ndarray",
        "list": array.tolist(),
        "dtype": array.dtype.str,
        "shape": list(array.shape),
    }


def _scalar_to_portable(value: np.generic) -> dict:
    """A numpy scalar as a tagged dict holding its Python value and dtype."""
    item = value.item()
    if isinstance(item, complex):
        item = [item.real, item.imag]
    return {TAG: "numpy_scalar", "value": item, "dtype": value.dtype.str}


def to_portable(obj: Any) -> Any:
    """Replace HistoryBuffers and numpy objects in ``obj`` by tagged plain data.

    Args:
        obj: Any nesting of dicts, lists and tuples (a checkpoint, a message hub state).

    Returns:
        The same structure, rebuilt where something was replaced; tensors are shared.
    """
    if isinstance(obj, HistoryBuffer):
        logs, counts = obj.data
        return {
            TAG: "HistoryBuffer",
            "log": [float(v) for v in logs],
            "count": [float(v) for v in counts],
            "max_length": int(obj.max_length),
        }
    if isinstance(obj, np.ndarray):
        return _array_to_portable(obj)
    if isinstance(obj, np.generic):
        return _scalar_to_portable(obj)
    if isinstance(obj, dict):
        items = [(key, to_portable(value)) for key, value in obj.items()]
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, list):
        return [to_portable(value) for value in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):  # named tuples stay as they are
        return tuple(to_portable(value) for value in obj)
    return obj


def _from_tag(tagged: dict) -> Any:
    """Rebuild the object a tagged dict stands for."""
    kind = tagged[TAG]
    if kind == "HistoryBuffer":
        return HistoryBuffer(list(tagged["log"]), list(tagged["count"]), int(tagged["max_length"]))
    if kind == "ndarray":
        if "tensor" in tagged:
            return tagged["tensor"].numpy().copy()
        return np.array(tagged["list"], dtype=np.dtype(tagged["dtype"])).reshape(tagged["shape"])
    if kind == "numpy_scalar":
        value = tagged["value"]
        if isinstance(value, list):
            value = complex(*value)
        return np.dtype(tagged["dtype"]).type(value)
    raise ValueError(
        f"Unknown portable tag '{kind}' in a checkpoint: it was written by a newer "
        "solov2_plugin; upgrade the plugin to load it."
    )


def from_portable(obj: Any) -> Any:
    """Inverse of :func:`to_portable`: rebuild HistoryBuffers and numpy objects.

    Args:
        obj: A structure returned by :func:`to_portable` (after a save and load or not).

    Returns:
        The structure with every tagged dict replaced by its object.
    """
    if isinstance(obj, dict):
        if TAG in obj:
            return _from_tag(obj)
        items = [(key, from_portable(value)) for key, value in obj.items()]
        return OrderedDict(items) if isinstance(obj, OrderedDict) else dict(items)
    if isinstance(obj, list):
        return [from_portable(value) for value in obj]
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(from_portable(value) for value in obj)
    return obj
