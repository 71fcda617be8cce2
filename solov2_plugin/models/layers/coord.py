"""Normalised coordinate channels (CoordConv) for channel-first maps."""

import torch
from torch import Tensor


def append_coord_channels(x: Tensor) -> Tensor:
    """Concatenate two channels holding each pixel's normalised position.

    Channel ``C`` holds x and channel ``C + 1`` holds y, both running linearly
    from -1 at the first pixel to 1 at the last one (the layout of mmdet's
    ``generate_coordinate``, so converted weights see the same inputs).

    Args:
        x (Tensor): Feature map of shape (N, C, H, W).

    Returns:
        Tensor: Shape (N, C + 2, H, W), same dtype and device as ``x``.
    """
    n, _, h, w = x.shape
    xs = torch.linspace(-1, 1, w, device=x.device, dtype=x.dtype)
    ys = torch.linspace(-1, 1, h, device=x.device, dtype=x.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    coords = torch.stack([grid_x, grid_y]).expand(n, -1, -1, -1)
    return torch.cat([x, coords], dim=1)
