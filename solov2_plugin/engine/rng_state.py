"""The process's global random states (Python, numpy, torch CPU and CUDA) as plain data.

Augmentations draw from numpy's and Python's global generators, a DataLoader draws its
workers' base seed from torch's: a resumed run repeats the uninterrupted one only if all of
them continue from where the checkpoint left them. :func:`capture_rng_state` returns them in
a form ``torch.load(weights_only=True)`` accepts (ints, tuples, lists, tensors);
:func:`restore_rng_state` sets them back.
"""

from __future__ import annotations

import random
from typing import Any, Dict

import numpy as np
import torch


def capture_rng_state() -> Dict[str, Any]:
    """The current global random states.

    Returns:
        dict: ``python`` (``random.getstate()``, tuples of ints), ``numpy`` (the legacy
        ``RandomState``: name, key as an int64 tensor of shape (624,), position, gauss flag
        and cached gaussian), ``torch`` (uint8 tensor) and ``cuda`` (a list of uint8
        tensors, one per visible device; empty without CUDA).
    """
    name, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {
            "name": str(name),
            "key": torch.from_numpy(key.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
    }


def _as_tuple(value: Any) -> Any:
    """Lists back to tuples, recursively (``random.setstate`` wants tuples)."""
    if isinstance(value, (list, tuple)):
        return tuple(_as_tuple(v) for v in value)
    return value


def restore_rng_state(state: Dict[str, Any]) -> None:
    """Set the global random states to ``state`` (from :func:`capture_rng_state`).

    CUDA states are restored only when as many devices are visible as were saved.

    Args:
        state: The dict :func:`capture_rng_state` returned, possibly after a save and load.
    """
    random.setstate(_as_tuple(state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["name"],
            numpy_state["key"].numpy().astype(np.uint32),
            int(numpy_state["pos"]),
            int(numpy_state["has_gauss"]),
            float(numpy_state["cached_gaussian"]),
        )
    )
    torch.set_rng_state(state["torch"].to(dtype=torch.uint8, device="cpu"))
    cuda_states = state.get("cuda") or []
    if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.to(dtype=torch.uint8, device="cpu") for s in cuda_states])
