"""Multi-process training on CPUs: torchrun's process group over gloo, DDP without devices.

mmengine 0.10's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and its
runner wraps the model with ``device_ids=[LOCAL_RANK]``, so ``torchrun ...
--launcher pytorch`` fails on a machine without CUDA. The runner skips its own
``init_dist`` when a process group already exists and builds ``model_wrapper_cfg``
with the config's values first, so joining the group here and naming no devices
is enough; mmengine itself is not changed.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from mmengine.config import Config


def join_cpu_process_group(cfg: Config) -> bool:
    """Prepare a ``launcher='pytorch'`` run on a machine without CUDA.

    Joins torchrun's process group (``env://``) with the gloo backend and sets
    ``cfg.model_wrapper_cfg`` to mmengine's DDP wrapper without device ids
    (keys already in ``cfg.model_wrapper_cfg`` are kept). Does nothing for
    other launchers, on CUDA machines, or when a process group exists.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is set in place.

    Returns:
        bool: Whether this call joined a process group.
    """
    if cfg.get("launcher") != "pytorch" or torch.cuda.is_available() or dist.is_initialized():
        return False
    dist.init_process_group(backend="gloo")
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "MMDistributedDataParallel")
    wrapper.setdefault("device_ids", None)
    wrapper.setdefault("find_unused_parameters", cfg.get("find_unused_parameters", False))
    cfg.model_wrapper_cfg = wrapper
    return True
