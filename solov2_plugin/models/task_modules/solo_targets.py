"""SOLOv2 target assignment, shared core: which grid cells predict which instance.

Dimension key: N instances, H x W input (padded batch) size, L levels,
Sh x Sw grid of one level, C = Sh * Sw cells, P positive claims of one level,
Hm x Wm mask-feature size.

Each level takes the instances whose scale lies in its range (bounds
included). An instance claims the cells of a rectangular region around its
centre; each claimed cell gets the instance's class and the instance's mask,
rescaled to the mask features, as its target.

:class:`SOLOv2GridAssigner` holds the steps every assignment shares (checks,
mask statistics, level membership, claims, mask rescaling, one device sync);
its subclasses in :mod:`.assigners` decide the region, the scale boxes, the
level routing and who wins a cell claimed twice. Everything runs on the
masks' device with no loop over instances or cells and one device sync for
the number of positives (and the label check).
"""

import inspect
from abc import ABC, abstractmethod
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from ...structures import boxes_from_projections

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


class Regions(NamedTuple):
    """Claimed cell ranges (inclusive) and centre cell per instance, shape (N,) each."""

    top: Tensor
    down: Tensor
    left: Tensor
    right: Tensor
    centre_row: Tensor
    centre_col: Tensor


class MaskStats(NamedTuple):
    """What the assignment needs from the masks of one image, shape (N,) each.

    Attributes:
        pixel_counts (Tensor): Foreground pixels per mask, int64.
        centre_y (Tensor): Mean row index of the foreground (mmdet's centre
            of mass, pixel indices), float32; 0 for empty masks.
        centre_x (Tensor): Mean column index, float32; 0 for empty masks.
        boxes (Tensor): Tight boxes ``[x1, y1, x2, y2]`` of the masks, max
            corner exclusive, shape (N, 4), float32.
    """

    pixel_counts: Tensor
    centre_y: Tensor
    centre_x: Tensor
    boxes: Tensor


def label_range_message(bad_labels: Sequence[int], num_classes: int, where: str) -> str:
    """The error message for ground-truth labels outside ``0..num_classes - 1``.

    Args:
        bad_labels (Sequence[int]): The offending label values (a few).
        num_classes (int): Number of foreground classes K.
        where (str): Who checks and on what, e.g. ``'SOLOv2DynamicHead (image
            a.png)'``.

    Returns:
        str: A message naming the valid range, the usual cause and the key
        that sets ``num_classes``.
    """
    return (
        f"{where}: ground-truth label(s) {sorted(set(bad_labels))} outside the valid range "
        f"0..{num_classes - 1} (num_classes={num_classes} foreground classes, 0-based; "
        f"{num_classes} would be background). The usual cause is a 1-based class index from a "
        "seed-style cls_ind (background = 0): mmdet labels count foreground classes from 0, "
        "as SeedInstanceDataset gives them. Otherwise the dataset has more classes than the "
        "model: num_classes is set by model.mask_head.num_classes."
    )


def as_grid(size: GridSize) -> Tuple[int, int]:
    """``S`` or ``(Sh, Sw)`` -> ``(Sh, Sw)``."""
    if isinstance(size, int):
        return size, size
    rows, cols = size
    return int(rows), int(cols)


def empty_level(
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


def mask_stats(masks: Tensor) -> MaskStats:
    """Pixel counts, centres of mass and tight boxes of binary masks.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool.

    Returns:
        MaskStats: See :class:`MaskStats`.
    """
    row_counts, col_counts = _projections(masks)
    pixel_counts = row_counts.sum(dim=1)
    centre_y, centre_x = _centre_of_mass(row_counts, col_counts, pixel_counts)
    boxes = boxes_from_projections(row_counts > 0, col_counts > 0)
    return MaskStats(pixel_counts, centre_y, centre_x, boxes)


def level_membership(
    scales: Tensor, valid: Tensor, scale_ranges: Sequence[Tuple[float, float]]
) -> Tensor:
    """Which levels take each instance by scale, shape (N, L), bool."""
    bounds = scales.new_tensor(scale_ranges)  # (L, 2)
    return (scales[:, None] >= bounds[:, 0]) & (scales[:, None] <= bounds[:, 1]) & valid[:, None]


def rescale_masks(masks: Tensor, mask_stride: int, mask_size: Tuple[int, int]) -> Tensor:
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


# The name the parity tests have always imported.
_rescale_masks = rescale_masks


def claims_of(regions: Regions, in_level: Tensor, grid: Tuple[int, int]) -> Tensor:
    """Cells claimed by each instance, shape (N, Sh, Sw), bool."""
    row_ids = torch.arange(grid[0], device=in_level.device)
    col_ids = torch.arange(grid[1], device=in_level.device)
    rows = (row_ids >= regions.top[:, None]) & (row_ids <= regions.down[:, None])
    cols = (col_ids >= regions.left[:, None]) & (col_ids <= regions.right[:, None])
    return rows[:, :, None] & cols[:, None, :] & in_level[:, None, None]


def nonzero_with_count(pairs: Tensor, count: int) -> Tensor:
    """Indices of the true entries of a 2-D bool matrix, row-major, shape (count, 2).

    ``torch.nonzero_static`` (no second counting pass) is used on the CPU
    only: it has no CUDA kernel before torch 2.6, and on an accelerator
    ``nonzero`` costs the same one sync. Both give the same rows in the same
    order.

    Args:
        pairs (Tensor): Bool matrix, shape (A, B).
        count (int): Its number of true entries, already known on the host.

    Returns:
        Tensor: Shape (count, 2), int64.
    """
    if pairs.device.type == "cpu":
        return torch.nonzero_static(pairs, size=count)
    return torch.nonzero(pairs)


class SOLOv2GridAssigner(ABC):
    """Steps shared by SOLOv2's grid assignments; subclasses set the rules.

    A subclass defines the scale boxes (:meth:`scale_boxes`), the claimed
    region (:meth:`regions`), optionally the level routing
    (:meth:`route_levels`) and who wins a cell claimed by several instances
    (:meth:`resolve`). Its ``__init__`` takes only its own options, as
    keywords; :attr:`option_names` lists them.
    """

    #: Whether :meth:`resolve` returns its claim matrix as (cells, instances).
    cell_major_claims: bool = False

    @classmethod
    def option_names(cls) -> Tuple[str, ...]:
        """The options ``__init__`` takes (for messages and config checks)."""
        params = inspect.signature(cls.__init__).parameters
        return tuple(name for name in params if name != "self")

    def options(self) -> dict:
        """The options of this assigner, by name."""
        return {name: getattr(self, name) for name in self.option_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.options().items())
        return f"{type(self).__name__}({args})"

    # Hooks of the subclasses.
    def check_levels(self, strides: Optional[Sequence[int]]) -> None:  # noqa: B027
        """Raise ValueError if the options need level information not given (none here)."""

    @abstractmethod
    def scale_boxes(self, mask_boxes: Tensor, gt_bboxes: Optional[Tensor]) -> Tensor:
        """Boxes giving each instance's scale and region size, shape (N, 4)."""

    @abstractmethod
    def regions(
        self,
        stats: MaskStats,
        box_h: Tensor,
        box_w: Tensor,
        extent: Tuple[int, int],
        grid: Tuple[int, int],
    ) -> Regions:
        """Cell region each instance claims on a (Sh, Sw) grid over ``extent`` pixels."""

    def route_levels(
        self, in_level: Tensor, box_h: Tensor, box_w: Tensor, strides: Optional[Sequence[int]]
    ) -> Tensor:
        """Level membership after routing, shape (N, L), bool; unchanged by default."""
        return in_level

    @abstractmethod
    def resolve(
        self,
        claims: Tensor,
        regions: Regions,
        pixel_counts: Tensor,
        gt_labels: Tensor,
        num_classes: int,
    ) -> Tuple[Tensor, Tensor]:
        """Cell labels (C,) and the claim matrix: (N, C), or (C, N) when cell-major."""

    def assign(
        self,
        gt_masks: Tensor,
        gt_labels: Tensor,
        *,
        num_classes: int,
        grid_sizes: Sequence[GridSize],
        scale_ranges: Sequence[Tuple[float, float]],
        mask_size: Tuple[int, int],
        mask_stride: int = 4,
        gt_bboxes: Optional[Tensor] = None,
        strides: Optional[Sequence[int]] = None,
    ) -> List[LevelTargets]:
        """Assign the instances of one image to grid cells of every level.

        Cell coordinates are measured on the extent ``(Hm * mask_stride,
        Wm * mask_stride)``, the padded input that the mask features cover.

        Args:
            gt_masks (Tensor): Instance masks at the padded input size, shape
                (N, H, W), bool or uint8; N may be 0.
            gt_labels (Tensor): Class of each instance, shape (N,), int64 in
                ``[0, num_classes)``.
            num_classes (int): Number of foreground classes; also the
                background label.
            grid_sizes (Sequence): Grid of each level, ``(Sh, Sw)`` or ``S``.
            scale_ranges (Sequence[tuple[float, float]]): Inclusive
                ``(low, high)`` range of ``sqrt(w * h)`` per level.
            mask_size (tuple[int, int]): Size (Hm, Wm) of the mask features.
            mask_stride (int): Input pixels per mask-feature pixel (4 in
                mmdet, 2 for the seed's H/2 masks).
            gt_bboxes (Tensor, optional): Boxes ``[x1, y1, x2, y2]``, shape
                (N, 4); used by assigners that take scales from boxes.
            strides (Sequence[int], optional): Stride of each level; needed
                by level routing.

        Returns:
            list[LevelTargets]: One entry per level. Masks with no foreground
            pixel are ignored; a mask that vanishes at mask-feature
            resolution still claims its cells, with an all-zero mask target.

        Raises:
            ValueError: If the arguments are inconsistent (shapes, level
                counts, routing without strides) or a label lies outside
                ``0..num_classes - 1``.
        """
        grids = [as_grid(size) for size in grid_sizes]
        _check_inputs(gt_masks, gt_labels, gt_bboxes, grids, scale_ranges, strides, mask_stride)
        self.check_levels(strides)
        mask_size = (int(mask_size[0]), int(mask_size[1]))
        device = gt_masks.device
        if gt_masks.shape[0] == 0:
            return [empty_level(grid, mask_size, num_classes, device) for grid in grids]

        masks = gt_masks.bool()
        gt_labels = gt_labels.long().to(device)
        stats = mask_stats(masks)
        extent = (mask_size[0] * mask_stride, mask_size[1] * mask_stride)
        boxes = self.scale_boxes(stats.boxes, gt_bboxes)
        box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        in_level = level_membership(torch.sqrt(box_w * box_h), stats.pixel_counts > 0, scale_ranges)
        in_level = self.route_levels(in_level, box_h, box_w, strides)

        level_labels, level_pairs = [], []
        for level, grid in enumerate(grids):
            regions = self.regions(stats, box_h, box_w, extent, grid)
            claims = claims_of(regions, in_level[:, level], grid)
            labels, pairs = self.resolve(
                claims, regions, stats.pixel_counts, gt_labels, num_classes
            )
            level_labels.append(labels)
            level_pairs.append(pairs)

        # The single device sync: positive claims per level, and labels out of range.
        out_of_range = (gt_labels < 0) | (gt_labels >= num_classes)
        synced = torch.stack([pairs.sum() for pairs in level_pairs] + [out_of_range.sum()])
        *counts, num_bad = synced.tolist()
        if num_bad:
            bad = gt_labels[out_of_range][:10].tolist()
            raise ValueError(label_range_message(bad, num_classes, type(self).__name__))
        rescaled = rescale_masks(masks, mask_stride, mask_size)
        results = []
        for labels, pairs, count in zip(level_labels, level_pairs, counts):
            hits = nonzero_with_count(pairs, count)  # (P, 2), row-major order
            inst, cell = (
                (hits[:, 1], hits[:, 0]) if self.cell_major_claims else (hits[:, 0], hits[:, 1])
            )
            results.append(LevelTargets(labels, cell, rescaled[inst]))
        return results


def _check_inputs(
    gt_masks: Tensor,
    gt_labels: Tensor,
    gt_bboxes: Optional[Tensor],
    grids: List[Tuple[int, int]],
    scale_ranges: Sequence[Tuple[float, float]],
    strides: Optional[Sequence[int]],
    mask_stride: int,
) -> None:
    """Raise ValueError with a fix for every inconsistent argument."""
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


def check_option(owner: str, name: str, value: Any, minimum: float = 0.0) -> float:
    """Return ``value`` as a float, or raise ValueError unless it is a number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ValueError(f"{owner}: {name} must be a number >= {minimum}, got {value!r}.")
    return float(value)
