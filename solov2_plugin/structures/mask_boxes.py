"""Boxes derived from binary masks.

Dimension key: N instances, H x W mask size.
"""

import torch
from torch import Tensor


def boxes_from_projections(rows: Tensor, cols: Tensor) -> Tensor:
    """Tight boxes from the row and column projections of masks.

    Args:
        rows (Tensor): Whether each row holds foreground, shape (N, H), bool.
        cols (Tensor): Whether each column holds foreground, shape (N, W),
            bool.

    Returns:
        Tensor: Boxes ``[x1, y1, x2, y2]`` with exclusive max corner, shape
        (N, 4), float32. Empty masks give ``[0, 0, 0, 0]``.
    """
    num, height = rows.shape
    width = cols.shape[1]
    if num == 0 or height == 0 or width == 0:
        return torch.zeros((num, 4), dtype=torch.float32, device=rows.device)
    row_ids = torch.arange(height, device=rows.device)
    col_ids = torch.arange(width, device=rows.device)
    y1 = torch.where(rows, row_ids, height).amin(dim=1)
    y2 = torch.where(rows, row_ids + 1, 0).amax(dim=1)
    x1 = torch.where(cols, col_ids, width).amin(dim=1)
    x2 = torch.where(cols, col_ids + 1, 0).amax(dim=1)
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float()
    non_empty = rows.any(dim=1, keepdim=True)
    return torch.where(non_empty, boxes, torch.zeros_like(boxes))


def masks_to_boxes(masks: Tensor) -> Tensor:
    """Tight boxes around binary masks, vectorised over instances.

    The max corner is exclusive, as in mmdet and skimage's ``regionprops``:
    a mask whose last foreground column is ``c`` gets ``x2 = c + 1``, so a
    single pixel at ``(row, col)`` gives ``[col, row, col + 1, row + 1]``.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool or any dtype
            where nonzero means foreground.

    Returns:
        Tensor: Boxes ``[x1, y1, x2, y2]``, shape (N, 4), float32, on the
        masks' device. Empty masks give ``[0, 0, 0, 0]``.

    Raises:
        ValueError: If ``masks`` is not 3-dimensional.
    """
    if masks.dim() != 3:
        raise ValueError(
            f"masks_to_boxes expects masks of shape (N, H, W), got shape "
            f"{tuple(masks.shape)}; add or remove the instance axis."
        )
    masks = masks.bool()
    return boxes_from_projections(masks.any(dim=2), masks.any(dim=1))
