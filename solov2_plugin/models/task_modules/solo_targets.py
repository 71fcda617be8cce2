"""SOLOv2 target assignment: which grid cells predict which instance.

Dimension key: N instances, H x W input (padded batch) size, L levels,
Sh x Sw grid of one level, C = Sh * Sw cells, P positive claims of one level,
Hm x Wm mask-feature size.

Each level takes the instances whose scale lies in its range (bounds
included). An instance claims the cells of a rectangular region around its
centre; each claimed cell gets the instance's class and the instance's mask,
rescaled to the mask features, as its target. Two modes:

- ``'mmdet'`` reproduces ``SOLOV2Head._get_targets_single`` of mmdet 3.3
  exactly: scale ``sqrt(w * h)`` of the box; centre of mass in pixel indices;
  region ``+-0.5 * pos_scale * box side`` clamped to the centre cell +-1;
  cell coordinates truncated like mmdet's. A cell claimed by k instances
  appears k times in ``pos_inds`` (one mask target per claim, instance-major
  order) and its label is the last claimant's (highest instance index).
- ``'seed'`` follows the TensorFlow seed's ideas: centre of mass (pixel
  centres) and extent from the mask; region ``+-offset_factor * extent``,
  never smaller than the centre cell; grids may be rectangular. A cell
  claimed by several instances goes to one of them: a claim on an instance's
  own centre cell beats any other claim, then the smaller mask wins (then the
  lower index), so ``pos_inds`` is unique and ascending. Optionally, thin
  objects move to a level whose stride fits their short side.

Everything runs on the masks' device with no loop over instances or cells
and one device sync for the number of positives.
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ...structures import boxes_from_projections

_MODES = ("mmdet", "seed")

GridSize = Union[int, Tuple[int, int]]


class LevelTargets(NamedTuple):
    """Targets of one image at one level.

    Attributes:
        labels (Tensor): Class of each grid cell, row-major, shape (C,), int64;
            ``num_classes`` marks background.
        pos_inds (Tensor): Flat cell index (``row * Sw + col``) of each
            positive claim, shape (P,), int64.
        mask_targets (Tensor): Mask target of each claim, aligned with
            ``pos_inds``, shape (P, Hm, Wm), float32 in {0, 1}.
    """

    labels: Tensor
    pos_inds: Tensor
    mask_targets: Tensor


class _Regions(NamedTuple):
    """Claimed cell ranges (inclusive) and centre cell per instance, shape (N,) each."""

    top: Tensor
    down: Tensor
    left: Tensor
    right: Tensor
    centre_row: Tensor
    centre_col: Tensor


def _as_grid(size: GridSize) -> Tuple[int, int]:
    """``S`` or ``(Sh, Sw)`` -> ``(Sh, Sw)``."""
    if isinstance(size, int):
        return size, size
    rows, cols = size
    return int(rows), int(cols)


def _check_inputs(
    gt_masks: Tensor,
    gt_labels: Tensor,
    gt_bboxes: Optional[Tensor],
    grids: List[Tuple[int, int]],
    scale_ranges: Sequence[Tuple[float, float]],
    strides: Optional[Sequence[int]],
    mode: str,
    route_thin: bool,
    mask_stride: int,
) -> None:
    """Raise ValueError with a fix for every inconsistent argument."""
    if mode not in _MODES:
        raise ValueError(f"assign_solo_targets: mode must be 'mmdet' or 'seed', got {mode!r}.")
    if gt_masks.dim() != 3:
        raise ValueError(
            f"assign_solo_targets: gt_masks must have shape (N, H, W), got {tuple(gt_masks.shape)}."
        )
    num = gt_masks.shape[0]
    if gt_labels.shape != (num,):
        raise ValueError(
            f"assign_solo_targets: gt_labels must have shape ({num},) to match gt_masks, got "
            f"{tuple(gt_labels.shape)}."
        )
    if gt_bboxes is not None and gt_bboxes.shape != (num, 4):
        raise ValueError(
            f"assign_solo_targets: gt_bboxes must have shape ({num}, 4), got "
            f"{tuple(gt_bboxes.shape)}."
        )
    if len(grids) != len(scale_ranges):
        raise ValueError(
            f"assign_solo_targets: got {len(grids)} grid sizes but {len(scale_ranges)} scale "
            "ranges; give one of each per level."
        )
    if any(rows < 1 or cols < 1 for rows, cols in grids):
        raise ValueError(f"assign_solo_targets: grid sizes must be positive, got {grids}.")
    if strides is not None and len(strides) != len(grids):
        raise ValueError(
            f"assign_solo_targets: got {len(strides)} strides for {len(grids)} levels."
        )
    if mask_stride < 1:
        raise ValueError(f"assign_solo_targets: mask_stride must be >= 1, got {mask_stride}.")
    if route_thin and (mode != "seed" or strides is None):
        raise ValueError(
            "assign_solo_targets: route_thin=True needs mode='seed' and the level strides "
            "(strides=[...]); mmdet mode reproduces mmdet and has no thin routing."
        )


def _empty_level(
    grid: Tuple[int, int], mask_size: Tuple[int, int], num_classes: int, device: torch.device
) -> LevelTargets:
    """All-background targets of one level."""
    return LevelTargets(
        labels=torch.full((grid[0] * grid[1],), num_classes, dtype=torch.long, device=device),
        pos_inds=torch.zeros(0, dtype=torch.long, device=device),
        mask_targets=torch.zeros((0, *mask_size), dtype=torch.float32, device=device),
    )


def _projections(masks: Tensor) -> Tuple[Tensor, Tensor]:
    """Foreground pixel counts per row and per column of each mask.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool.

    Returns:
        tuple[Tensor, Tensor]: Counts per row, shape (N, H), and per column,
        shape (N, W), int64.
    """
    as_bytes = masks.view(torch.uint8)  # free reinterpretation; bool sums are slower
    rows = as_bytes.sum(dim=2, dtype=torch.int32).long()
    cols = as_bytes.sum(dim=1, dtype=torch.int32).long()
    return rows, cols


def _centre_of_mass(
    row_counts: Tensor, col_counts: Tensor, pixel_counts: Tensor
) -> Tuple[Tensor, Tensor]:
    """Mean row and column index of the foreground, as mmdet computes them.

    Args:
        row_counts (Tensor): Foreground pixels per row, shape (N, H), int64.
        col_counts (Tensor): Foreground pixels per column, shape (N, W), int64.
        pixel_counts (Tensor): Foreground pixels per mask, shape (N,), int64.

    Returns:
        tuple[Tensor, Tensor]: Centre row and column, shape (N,) each,
        float32; 0 for empty masks.
    """
    row_ids = torch.arange(row_counts.shape[1], device=row_counts.device)
    col_ids = torch.arange(col_counts.shape[1], device=col_counts.device)
    # Integer sums are exact, so the float32 results equal mmdet's bit for bit.
    row_sum = (row_counts * row_ids).sum(dim=1)
    col_sum = (col_counts * col_ids).sum(dim=1)
    normaliser = pixel_counts.float().clamp(min=1e-6)
    return row_sum / normaliser, col_sum / normaliser


def _mmdet_cell(coord: Tensor, extent: int, num_cells: int) -> Tensor:
    """Cell index of input coordinates with mmdet's float32 arithmetic (truncation)."""
    return torch.div(coord / extent, 1.0 / num_cells, rounding_mode="trunc").long()


def _mmdet_regions(
    centre_y: Tensor,
    centre_x: Tensor,
    half_h: Tensor,
    half_w: Tensor,
    extent: Tuple[int, int],
    grid: Tuple[int, int],
) -> _Regions:
    """Regions of mmdet mode: centre +-half size, clamped to the centre cell +-1."""
    rows, cols = grid
    centre_row = _mmdet_cell(centre_y, extent[0], rows)
    centre_col = _mmdet_cell(centre_x, extent[1], cols)
    top = _mmdet_cell(centre_y - half_h, extent[0], rows).clamp(min=0)
    down = _mmdet_cell(centre_y + half_h, extent[0], rows).clamp(max=rows - 1)
    left = _mmdet_cell(centre_x - half_w, extent[1], cols).clamp(min=0)
    right = _mmdet_cell(centre_x + half_w, extent[1], cols).clamp(max=cols - 1)
    top = torch.maximum(top, centre_row - 1)
    down = torch.minimum(down, centre_row + 1)
    left = torch.maximum(left, centre_col - 1)
    right = torch.minimum(right, centre_col + 1)
    return _Regions(top, down, left, right, centre_row, centre_col)


def _seed_regions(
    centre_y: Tensor,
    centre_x: Tensor,
    half_h: Tensor,
    half_w: Tensor,
    extent: Tuple[int, int],
    grid: Tuple[int, int],
) -> _Regions:
    """Regions of seed mode: every cell meeting centre +-half size, centre cell included."""
    rows, cols = grid

    def cell(coord: Tensor, length: int, num_cells: int) -> Tensor:
        return torch.floor(coord * (num_cells / length)).long().clamp(0, num_cells - 1)

    centre_row = cell(centre_y, extent[0], rows)
    centre_col = cell(centre_x, extent[1], cols)
    top = torch.minimum(cell(centre_y - half_h, extent[0], rows), centre_row)
    down = torch.maximum(cell(centre_y + half_h, extent[0], rows), centre_row)
    left = torch.minimum(cell(centre_x - half_w, extent[1], cols), centre_col)
    right = torch.maximum(cell(centre_x + half_w, extent[1], cols), centre_col)
    return _Regions(top, down, left, right, centre_row, centre_col)


def _level_membership(
    scales: Tensor, valid: Tensor, scale_ranges: Sequence[Tuple[float, float]]
) -> Tensor:
    """Which levels take each instance by scale, shape (N, L), bool."""
    bounds = scales.new_tensor(scale_ranges)  # (L, 2)
    return (scales[:, None] >= bounds[:, 0]) & (scales[:, None] <= bounds[:, 1]) & valid[:, None]


def _route_thin(in_level: Tensor, short_sides: Tensor, strides: Sequence[int]) -> Tensor:
    """Move thin objects to a level whose stride fits their short side.

    An instance keeps the levels its scale selects whose stride is at most
    its short side. If none is left, it goes to the coarsest level whose
    stride is at most its short side, or to the finest level if no stride
    fits. Instances that no level takes stay unassigned.

    Args:
        in_level (Tensor): Level membership by scale, shape (N, L), bool.
        short_sides (Tensor): Short side of each instance in input pixels,
            shape (N,).
        strides (Sequence[int]): Stride of each level.

    Returns:
        Tensor: New membership, shape (N, L), bool.
    """
    level_strides = short_sides.new_tensor(strides)  # (L,)
    fits = level_strides[None, :] <= short_sides[:, None]  # (N, L)
    kept = in_level & fits
    displaced = in_level.any(dim=1) & ~kept.any(dim=1)
    coarsest_fit = torch.where(fits, level_strides, -1.0).argmax(dim=1)
    finest = level_strides.argmin()
    target = torch.where(fits.any(dim=1), coarsest_fit, finest)
    level_ids = torch.arange(len(strides), device=in_level.device)
    moved = (target[:, None] == level_ids[None, :]) & displaced[:, None]
    return kept | moved


def _rescale_masks(masks: Tensor, mask_stride: int, mask_size: Tuple[int, int]) -> Tensor:
    """Masks at mask-feature resolution, pasted top-left on a (Hm, Wm) canvas.

    The size follows ``mmcv.imrescale(mask, 1 / mask_stride)``; bilinear
    resampling thresholded at 0.5 equals cv2's bilinear resize of a uint8 mask
    exactly when H and W are multiples of ``mask_stride`` (mmdet pads inputs
    to multiples of 32), and to within about 1% of the pixels otherwise.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool, N > 0.
        mask_stride (int): Input pixels per mask-feature pixel.
        mask_size (tuple[int, int]): Canvas size (Hm, Wm).

    Returns:
        Tensor: Rescaled masks, shape (N, Hm, Wm), float32 in {0, 1}.
    """
    height, width = masks.shape[-2:]
    if mask_stride % 2 == 0 and height % mask_stride == 0 and width % mask_stride == 0:
        # Exact 1/s bilinear sampling falls halfway between pixels s*i + s/2 - 1 and
        # s*i + s/2 on both axes: the value is the mean of those 2 x 2 pixels, so
        # ">= 0.5" means ">= 2 of 4". No float copy of the full-size masks.
        first = mask_stride // 2 - 1
        as_bytes = masks.view(torch.uint8)
        row_votes = as_bytes[:, first::mask_stride] + as_bytes[:, first + 1 :: mask_stride]
        votes = row_votes[:, :, first::mask_stride] + row_votes[:, :, first + 1 :: mask_stride]
        small = votes >= 2
    else:
        scale = 1.0 / mask_stride
        out_size = (max(1, int(height * scale + 0.5)), max(1, int(width * scale + 0.5)))
        resampled = F.interpolate(
            masks[:, None].float(), size=out_size, mode="bilinear", align_corners=False
        )
        small = resampled[:, 0] >= 0.5
    canvas = torch.zeros((masks.shape[0], *mask_size), dtype=torch.float32, device=masks.device)
    keep_h, keep_w = min(small.shape[1], mask_size[0]), min(small.shape[2], mask_size[1])
    canvas[:, :keep_h, :keep_w] = small[:, :keep_h, :keep_w]
    return canvas


def _claims(regions: _Regions, in_level: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Cells claimed by each instance, shape (N, Sh, Sw), bool."""
    row_ids = torch.arange(grid[0], device=in_level.device)
    col_ids = torch.arange(grid[1], device=in_level.device)
    rows = (row_ids >= regions.top[:, None]) & (row_ids <= regions.down[:, None])
    cols = (col_ids >= regions.left[:, None]) & (col_ids <= regions.right[:, None])
    return rows[:, :, None] & cols[:, None, :] & in_level[:, None, None]


def _mmdet_level(claims: Tensor, gt_labels: Tensor, num_classes: int) -> Tuple[Tensor, Tensor]:
    """Labels (last claimant) and the (instance, cell) claim matrix, shape (N, C)."""
    num = claims.shape[0]
    claims = claims.flatten(1)
    inst_ids = torch.arange(num, device=claims.device)
    last = torch.where(claims, inst_ids[:, None], -1).amax(dim=0)
    labels = torch.where(last >= 0, gt_labels[last.clamp(min=0)], num_classes)
    return labels, claims


def _seed_level(
    claims: Tensor,
    regions: _Regions,
    pixel_counts: Tensor,
    gt_labels: Tensor,
    num_classes: int,
) -> Tuple[Tensor, Tensor]:
    """Labels (one winner per cell) and the (cell, instance) claim matrix, shape (C, N)."""
    num, rows, cols = claims.shape
    row_ids = torch.arange(rows, device=claims.device)
    col_ids = torch.arange(cols, device=claims.device)
    own_centre = (row_ids == regions.centre_row[:, None])[:, :, None] & (
        col_ids == regions.centre_col[:, None]
    )[:, None, :]
    # Priority: own centre cell first, then the smaller mask; ties go to the lower index.
    penalty = pixel_counts.sum() + 1
    priority = pixel_counts[:, None, None] + (~own_centre) * penalty
    priority = torch.where(claims, priority, torch.iinfo(torch.long).max).flatten(1)
    winner = priority.argmin(dim=0)  # (C,)
    claimed = claims.flatten(1).any(dim=0)
    labels = torch.where(claimed, gt_labels[winner], num_classes)
    inst_ids = torch.arange(num, device=claims.device)
    return labels, (winner[:, None] == inst_ids[None, :]) & claimed[:, None]


def assign_solo_targets(
    gt_masks: Tensor,
    gt_labels: Tensor,
    *,
    num_classes: int,
    grid_sizes: Sequence[GridSize],
    scale_ranges: Sequence[Tuple[float, float]],
    mask_size: Tuple[int, int],
    mask_stride: int = 4,
    mode: str = "mmdet",
    pos_scale: float = 0.2,
    offset_factor: float = 0.25,
    gt_bboxes: Optional[Tensor] = None,
    strides: Optional[Sequence[int]] = None,
    route_thin: bool = False,
) -> List[LevelTargets]:
    """Assign the instances of one image to grid cells of every level.

    Cell coordinates are measured on the extent ``(Hm * mask_stride,
    Wm * mask_stride)``, the padded input that the mask features cover.

    Args:
        gt_masks (Tensor): Instance masks at the padded input size, shape
            (N, H, W), bool or uint8; N may be 0.
        gt_labels (Tensor): Class of each instance, shape (N,), int64 in
            ``[0, num_classes)``.
        num_classes (int): Number of foreground classes; also the background
            label.
        grid_sizes (Sequence): Grid of each level, ``(Sh, Sw)`` or ``S``.
            mmdet mode reproduces mmdet for square grids.
        scale_ranges (Sequence[tuple[float, float]]): Inclusive
            ``(low, high)`` range of ``sqrt(w * h)`` per level.
        mask_size (tuple[int, int]): Size (Hm, Wm) of the mask features.
        mask_stride (int): Input pixels per mask-feature pixel (4 in mmdet,
            2 for the seed's H/2 masks).
        mode (str): ``'mmdet'`` or ``'seed'`` (see the module docstring).
        pos_scale (float): mmdet mode: region half-size is
            ``0.5 * pos_scale`` times the box side.
        offset_factor (float): Seed mode: region half-size is
            ``offset_factor`` times the mask's extent.
        gt_bboxes (Tensor, optional): mmdet mode: boxes ``[x1, y1, x2, y2]``,
            shape (N, 4), giving scales and region sizes as in mmdet; derived
            from the masks (exclusive max corner) when None. Seed mode always
            uses the masks.
        strides (Sequence[int], optional): Stride of each level; needed by
            ``route_thin``.
        route_thin (bool): Seed mode: an instance whose short side is below
            the stride of its levels moves to the coarsest level whose stride
            fits its short side (the finest level if none does).

    Returns:
        list[LevelTargets]: One entry per level. Masks with no foreground
        pixel are ignored; a mask that vanishes at mask-feature resolution
        still claims its cells, with an all-zero mask target.

    Raises:
        ValueError: If the arguments are inconsistent (shapes, level counts,
            mode, ``route_thin`` without strides or outside seed mode).
    """
    grids = [_as_grid(size) for size in grid_sizes]
    _check_inputs(
        gt_masks, gt_labels, gt_bboxes, grids, scale_ranges, strides, mode, route_thin, mask_stride
    )
    mask_size = (int(mask_size[0]), int(mask_size[1]))
    device = gt_masks.device
    if gt_masks.shape[0] == 0:
        return [_empty_level(grid, mask_size, num_classes, device) for grid in grids]

    masks = gt_masks.bool()
    gt_labels = gt_labels.long()
    row_counts, col_counts = _projections(masks)
    pixel_counts = row_counts.sum(dim=1)
    valid = pixel_counts > 0
    centre_y, centre_x = _centre_of_mass(row_counts, col_counts, pixel_counts)
    mask_boxes = boxes_from_projections(row_counts > 0, col_counts > 0)
    extent = (mask_size[0] * mask_stride, mask_size[1] * mask_stride)

    boxes = gt_bboxes if mode == "mmdet" and gt_bboxes is not None else mask_boxes
    box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    scales = torch.sqrt(box_w * box_h)
    if mode == "mmdet":
        half_h, half_w = 0.5 * box_h * pos_scale, 0.5 * box_w * pos_scale
        region_fn = _mmdet_regions
    else:
        half_h, half_w = offset_factor * box_h, offset_factor * box_w
        # Pixel i covers [i, i + 1): its centre is at i + 0.5.
        centre_y, centre_x = centre_y + 0.5, centre_x + 0.5
        region_fn = _seed_regions

    in_level = _level_membership(scales, valid, scale_ranges)
    if route_thin:
        in_level = _route_thin(in_level, torch.minimum(box_w, box_h), strides)

    level_labels, level_pairs = [], []
    for level, grid in enumerate(grids):
        regions = region_fn(centre_y, centre_x, half_h, half_w, extent, grid)
        claims = _claims(regions, in_level[:, level], grid)
        if mode == "mmdet":
            labels, pairs = _mmdet_level(claims, gt_labels, num_classes)
        else:
            labels, pairs = _seed_level(claims, regions, pixel_counts, gt_labels, num_classes)
        level_labels.append(labels)
        level_pairs.append(pairs)

    # The single device sync: number of positive claims per level.
    counts = torch.stack([pairs.sum() for pairs in level_pairs]).tolist()
    rescaled = _rescale_masks(masks, mask_stride, mask_size)
    results = []
    for labels, pairs, count in zip(level_labels, level_pairs, counts):
        hits = torch.nonzero_static(pairs, size=count)  # (P, 2), row-major order
        inst, cell = (hits[:, 0], hits[:, 1]) if mode == "mmdet" else (hits[:, 1], hits[:, 0])
        results.append(LevelTargets(labels, cell, rescaled[inst]))
    return results
