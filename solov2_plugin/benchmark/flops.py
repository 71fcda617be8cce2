"""Arithmetic of a measure: how much work it does and how fast the device does it.

A measure's floating-point operations are counted once with torch's
``FlopCounterMode``: convolutions (forward and backward) and matrix products,
the work that dominates SOLOv2; element-wise operations are not counted.
Divided by the measured median they give the rate achieved. The reference
rate is that of one convolution shaped like the head's towers (3x3, 512 to 512
channels on a 40x40 grid, batch 2) timed alone on the same device with the
same settings: a practical ceiling for convolution-bound work, so the gap
between the two says how much a faster implementation of the same arithmetic
could still gain.
"""

from typing import Callable, Tuple

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .measure import measure

#: Reference convolution: (batch, in channels, out channels, height, width, kernel size).
REFERENCE_CONV: Tuple[int, int, int, int, int, int] = (2, 512, 512, 40, 40, 3)


def count_flops(call: Callable[[], object]) -> int:
    """Floating-point operations of one call of ``call`` (convolutions and matrix products).

    Args:
        call (Callable[[], object]): The work; it runs once.

    Returns:
        int: Operations counted (a multiply-add counts 2).
    """
    with FlopCounterMode(display=False) as counter:
        call()
    return int(counter.get_total_flops())


def conv_flops(shape: Tuple[int, int, int, int, int, int] = REFERENCE_CONV) -> int:
    """Operations of one stride-1, 'same'-padded convolution of ``shape``."""
    batch, in_channels, out_channels, height, width, kernel = shape
    return 2 * batch * out_channels * height * width * in_channels * kernel * kernel


def reference_rate(
    device: torch.device,
    shape: Tuple[int, int, int, int, int, int] = REFERENCE_CONV,
    repeats: int = 5,
) -> float:
    """Operations per second of one convolution of ``shape`` on ``device`` (median of ``repeats``).

    Args:
        device (torch.device): Where it runs (the benchmark's device and threads).
        shape (tuple): See :data:`REFERENCE_CONV`.
        repeats (int): Timed calls after one warm-up.

    Returns:
        float: FLOP/s.
    """
    batch, in_channels, out_channels, height, width, kernel = shape
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, in_channels, height, width, generator=generator).to(device)
    weight = torch.randn(out_channels, in_channels, kernel, kernel, generator=generator)
    weight = weight.to(device)
    with torch.no_grad():
        timing = measure(
            lambda: F.conv2d(inputs, weight, padding=kernel // 2), device, 1, repeats, memory=False
        )
    return conv_flops(shape) / (timing.median_ms / 1e3)
