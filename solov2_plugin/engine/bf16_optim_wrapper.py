"""Mixed-precision training in bfloat16 on any device, CPUs included (``tools/train.py --amp``).

mmengine's :class:`~mmengine.optim.AmpOptimWrapper` (float16 with a loss scaler) refuses to run
without a CUDA, NPU, MLU or MUSA device. bfloat16 keeps float32's exponent range, so it needs no
loss scaler, and ``torch.autocast`` supports it on the CPU: convolutions and matrix products run in
bfloat16 there, the rest in the precision of its inputs. On a CPU with native bfloat16 arithmetic
(AVX512-BF16 or AMX, :func:`cpu_has_native_bf16`) that roughly halves the time of a SOLOv2
training step (``docs/benchmarks.md``); without it, it is slower than float32.

The weights, gradients and optimizer state stay in float32, and the SOLOv2 head computes its
losses in float32 whatever the autocast (``SOLOv2DynamicHead.loss_by_feat``).

Config::

    optim_wrapper = dict(type="BF16OptimWrapper", optimizer=dict(type="SGD", lr=0.01))
"""

from contextlib import contextmanager
from typing import Iterator

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 convolutions natively (oneDNN: AVX512-BF16 or AMX)."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(torch.backends.mkldnn.is_available() and check is not None and check())


def model_device_type(model: nn.Module) -> str:
    """Device type (``'cpu'``, ``'cuda'``...) of the model's first parameter; ``'cpu'`` if none."""
    first = next(model.parameters(), None)
    return "cpu" if first is None else first.device.type


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` that runs the forward pass under bfloat16 autocast.

    ``optim_context`` (which mmengine's ``train_step`` enters around the data
    preprocessor and the forward pass) adds ``torch.autocast`` on the model's
    device type; backward and the optimizer step run outside it, on the
    float32 weights. Takes the arguments of ``OptimWrapper``.
    """

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """mmengine's context (gradient accumulation) plus bfloat16 autocast."""
        autocast = torch.autocast(model_device_type(model), dtype=torch.bfloat16)
        with super().optim_context(model), autocast:
            yield
