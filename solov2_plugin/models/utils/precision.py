"""Head computations kept in float32 under mixed precision (mmdet 2.x's ``force_fp32``)."""

import contextlib
import functools
from typing import Any, Callable, TypeVar

import torch
from torch import Tensor

Method = TypeVar("Method", bound=Callable[..., Any])


def _float32(value: Any) -> Any:
    """``value`` with its float16 / bfloat16 tensors (alone or in a list or tuple) as float32."""
    if isinstance(value, Tensor):
        return value.float() if value.dtype in (torch.float16, torch.bfloat16) else value
    if isinstance(value, (list, tuple)):
        return type(value)(_float32(item) for item in value)
    return value


def _autocast_devices(args: tuple) -> set:
    """Device types of the tensors in ``args`` (one level of lists), plus ``'cpu'``."""
    devices = {"cpu"}
    for arg in args:
        for item in arg if isinstance(arg, (list, tuple)) else (arg,):
            if isinstance(item, Tensor):
                devices.add(item.device.type)
    return devices


def in_float32(method: Method) -> Method:
    """Run a head method in float32 whatever the autocast around it.

    Half-precision tensor arguments (alone or in lists) become float32 and
    autocast is switched off during the call, on every device type it is
    enabled for: the losses and the post-processing of SOLOv2 (sigmoids,
    sums over a mask's pixels, the dynamic convolution that defines the
    masks) then see the precision they were written for. In float32 the
    method runs on its arguments as they are.
    """

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        args = tuple(_float32(arg) for arg in args)
        kwargs = {key: _float32(value) for key, value in kwargs.items()}
        with contextlib.ExitStack() as stack:
            for device in _autocast_devices(args):
                if torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device):
                    stack.enter_context(torch.autocast(device, enabled=False))
            return method(self, *args, **kwargs)

    return run  # type: ignore[return-value]
