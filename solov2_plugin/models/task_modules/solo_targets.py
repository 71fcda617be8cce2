"""SOLOv2 target assignment, shared core: which grid cells predict which instance.

Dimension key: B images, N instances (of one image, or of the whole batch
when stated), H x W input (padded batch) size, L levels, Sh x Sw grid of one
level, C = Sh * Sw cells, M = B * (sum of C over levels) cells of the batch,
P positive claims, Hm x Wm mask-feature size.

Each level takes the instances whose scale lies in its range (bounds
included). An instance claims the cells of a rectangular region around its
centre; each claimed cell gets the instance's class and the instance's mask,
rescaled to the mask features, as its target.

:class:`SOLOv2GridAssigner` holds the steps every assignment shares (checks,
mask statistics, level membership, claims, mask rescaling, the device sync);
its subclasses in :mod:`.assigners` decide the region, the scale boxes, the
level routing and who wins a cell claimed twice. A whole batch is assigned at
once (:meth:`SOLOv2GridAssigner.assign_batch`) on the masks' device, with no
loop over instances or cells: the claims are listed from the regions (never
as instance x cell matrices), each instance's mask is rescaled once, and one
device sync gives the claim counts and the label check (a second one for
assigners that keep one claim per cell).
"""

import inspect
import sys
from abc import ABC, abstractmethod
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
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


class BatchTargets(NamedTuple):
    """Targets of a batch of images, every level at once.

    Claims are listed level by level, image by image within a level; within
    an image, in the assigner's order (instance-major for duplicate claims,
    cell-ascending for one claim per cell), i.e. mmdet's loss order.

    Attributes:
        labels (Tensor): Class of every cell of the batch, shape (M,), int64,
            in mmdet's loss order: level-major, then image, then cell
            (row-major); ``num_classes`` marks background.
        cells (Tensor): Flat cell index (``row * Sw + col``) of each claim
            within its level, shape (P,), int64.
        levels (Tensor): Level of each claim, shape (P,), int64.
        images (Tensor): Image of each claim, shape (P,), int64.
        instances (Tensor): Row of ``mask_targets`` of each claim, shape (P,),
            int64.
        mask_targets (Tensor): Mask target of every instance of the batch
            (images in order), shape (N, Hm, Wm), float32 in {0, 1}; each
            mask rescaled once, whatever its number of claims.
        counts (list[list[int]]): Claims of each level (outer) and image
            (inner), on the host: the claims of level ``l`` and image ``b``
            are one contiguous block.
        num_pos (Tensor): Cells holding at least one claim, scalar int64.
    """

    labels: Tensor
    cells: Tensor
    levels: Tensor
    images: Tensor
    instances: Tensor
    mask_targets: Tensor
    counts: List[List[int]]
    num_pos: Tensor


class Claims(NamedTuple):
    """Every (instance, cell) claim of a batch before resolution, shape (P,) each.

    Attributes:
        cells (Tensor): Batch cell index, position in
            :attr:`BatchTargets.labels`, int64.
        instances (Tensor): Instance of the batch, int64.
        own_centre (Tensor): Whether the cell is the instance's centre cell
            on that level, bool.
    """

    cells: Tensor
    instances: Tensor
    own_centre: Tensor


class Resolution(NamedTuple):
    """Outcome of :meth:`SOLOv2GridAssigner.resolve`, over the M cells of the batch.

    Attributes:
        labels (Tensor): Class of each cell, shape (M,), int64.
        claimed (Tensor): Whether any instance claims the cell, shape (M,), bool.
        winners (Tensor, optional): The one instance that keeps each cell
            (-1 where unclaimed), shape (M,), int64; None keeps every claim
            (a cell claimed k times holds k mask targets).
    """

    labels: Tensor
    claimed: Tensor
    winners: Optional[Tensor]


class LabelRangeError(ValueError):
    """A ground-truth label outside ``0..num_classes - 1``."""


class Regions(NamedTuple):
    """Claimed cell ranges (inclusive) and centre cell per instance, shape (N,) each.

    Rows and columns outside the grid are clipped off by the assignment.
    """

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


# Words summed before their byte lanes are split: each lane counts at most this many
# pixels, so no lane carries into the next one and the sign bit of the top lane stays clear.
_LANE_WORDS = 127


def _packs_bytes(as_bytes: Tensor) -> bool:
    """Whether (N, H, W) uint8 masks can be read as int64 words of 8 pixels along W."""
    return (
        sys.byteorder == "little"
        and as_bytes.numel() > 0
        and as_bytes.is_contiguous()
        and as_bytes.shape[-1] % 8 == 0
        and as_bytes.storage_offset() % 8 == 0
    )


def _lane_group(length: int) -> int:
    """The largest divisor of ``length`` that is at most :data:`_LANE_WORDS`."""
    return max(d for d in range(1, min(length, _LANE_WORDS) + 1) if length % d == 0)


def _packed_projections(as_bytes: Tensor) -> Tuple[Tensor, Tensor]:
    """Row and column counts of 0/1 bytes, 8 pixels per int64 addition.

    Byte ``j`` of word ``k`` of a row is pixel ``8 * k + j`` (little-endian).
    Words are summed in groups of at most :data:`_LANE_WORDS`, which adds
    every byte lane on its own; the lanes are then split and added up. Exact
    integer counts in two reductions per direction, no wider copy of the
    masks.

    Args:
        as_bytes (Tensor): Binary masks as 0/1 bytes, shape (N, H, W), uint8,
            with :func:`_packs_bytes` true.

    Returns:
        tuple[Tensor, Tensor]: Counts per row (N, H) and per column (N, W),
        int64.
    """
    num, height, width = as_bytes.shape
    words = as_bytes.view(torch.int64)  # (N, H, K), K = W / 8
    group = _lane_group(words.shape[2])
    lanes = words.view(num, height, -1, group).sum(dim=3)  # (N, H, K / group) packed
    rows = lanes.view(torch.uint8).view(num, height, -1).sum(dim=2)
    group = _lane_group(height)
    lanes = words.view(num, -1, group, words.shape[2]).sum(dim=2)  # (N, H / group, K) packed
    cols = lanes.view(torch.uint8).view(num, -1, width).sum(dim=1)
    return rows, cols


def _projections(masks: Tensor) -> Tuple[Tensor, Tensor]:
    """Foreground pixel counts per row and per column of each mask.

    Args:
        masks (Tensor): Binary masks, shape (N, H, W), bool.

    Returns:
        tuple[Tensor, Tensor]: Counts per row, shape (N, H), and per column,
        shape (N, W), int64.
    """
    as_bytes = masks.view(torch.uint8)  # free reinterpretation
    if _packs_bytes(as_bytes):
        return _packed_projections(as_bytes)
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
    if masks.shape[0] == 0:
        empty = torch.zeros(0, dtype=torch.float32, device=masks.device)
        return MaskStats(pixel_counts, empty, empty, empty.view(0, 4))
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
    if small.shape[1:] == mask_size:
        return small.float()
    canvas = torch.zeros((masks.shape[0], *mask_size), dtype=torch.float32, device=masks.device)
    keep_h, keep_w = min(small.shape[1], mask_size[0]), min(small.shape[2], mask_size[1])
    canvas[:, :keep_h, :keep_w] = small[:, :keep_h, :keep_w]
    return canvas


# The name the parity tests have always imported.
_rescale_masks = rescale_masks


def binary_mask_tensor(masks: Any, device: Union[str, torch.device]) -> Tensor:
    """Instance masks as a bool tensor on ``device``, without a needless copy.

    mmdet's ``BitmapMasks`` hold 0/1 bytes: those are viewed as bool as they
    are (``to_tensor(dtype=torch.bool)`` would convert every byte). Other
    values count as foreground when nonzero, as in ``to_tensor``.

    Args:
        masks (BitmapMasks | Tensor | Any): Masks of one image, (N, H, W):
            a tensor, ``BitmapMasks`` (or anything with a numpy ``masks``
            array), or any mmdet mask structure with ``to_tensor``.
        device (str | torch.device): Where the result goes.

    Returns:
        Tensor: Shape (N, H, W), bool.
    """
    if isinstance(masks, Tensor):
        return (masks if masks.dtype == torch.bool else masks != 0).to(device)
    array = getattr(masks, "masks", None)
    if not isinstance(array, np.ndarray):
        return masks.to_tensor(dtype=torch.bool, device=device)
    if array.dtype == np.bool_:
        return torch.from_numpy(np.ascontiguousarray(array)).to(device)
    if array.dtype == np.uint8 and (array.size == 0 or array.max() <= 1):
        return torch.from_numpy(np.ascontiguousarray(array)).view(torch.bool).to(device)
    return torch.from_numpy(array != 0).to(device)


def _nonzero_1d(flags: Tensor, count: int) -> Tensor:
    """Indices of the true entries of a 1-D bool tensor, ascending, shape (count,).

    ``torch.nonzero_static`` (no second counting pass) is used on the CPU
    only: it has no CUDA kernel before torch 2.6, and on an accelerator
    ``nonzero`` costs the same one sync.
    """
    if flags.device.type == "cpu":
        return torch.nonzero_static(flags, size=count)[:, 0]
    return torch.nonzero(flags)[:, 0]


class _Layout(NamedTuple):
    """Where each level's cells sit among the M cells of a batch (host ints)."""

    grids: List[Tuple[int, int]]
    extent: Tuple[int, int]  # input pixels the grids cover: mask size * mask stride
    num_images: int
    cells: List[int]  # C per level
    bases: List[int]  # first batch cell of each level: B * (sum of C of the levels before)

    @property
    def num_cells(self) -> int:
        return self.num_images * sum(self.cells)


class SOLOv2GridAssigner(ABC):
    """Steps shared by SOLOv2's grid assignments; subclasses set the rules.

    A subclass defines the scale boxes (:meth:`scale_boxes`), the claimed
    region (:meth:`regions`), optionally the level routing
    (:meth:`route_levels`) and who wins a cell claimed by several instances
    (:meth:`resolve`). Its ``__init__`` takes only its own options, as
    keywords; :attr:`option_names` lists them. The hooks see every instance
    of the batch at once: their (N,) tensors span all images.
    """

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
        claims: Claims,
        num_cells: int,
        pixel_counts: Tensor,
        gt_labels: Tensor,
        num_classes: int,
    ) -> Resolution:
        """Cell labels of the batch and which claims stand.

        Args:
            claims (Claims): Every claim of the batch, (P,) each, listed by
                level, image, instance, then cell (row-major).
            num_cells (int): Cells M of the batch.
            pixel_counts (Tensor): Foreground pixels of each instance of the
                batch, shape (N,), int64.
            gt_labels (Tensor): Class of each instance, shape (N,), int64.
            num_classes (int): The background label.

        Returns:
            Resolution: Labels (M,), claimed cells (M,) and, for assigners
            that keep one claim per cell, the winner of each cell.
        """

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
        This is :meth:`assign_batch` for one image, split by level, with one
        mask target per claim.

        Args:
            gt_masks (Tensor): Instance masks at the padded input size, shape
                (N, H, W), bool or uint8 (nonzero is foreground); N may be 0.
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
        targets = self.assign_batch(
            [gt_masks],
            [gt_labels],
            num_classes=num_classes,
            grid_sizes=grid_sizes,
            scale_ranges=scale_ranges,
            mask_size=mask_size,
            mask_stride=mask_stride,
            gt_bboxes=[gt_bboxes],
            strides=strides,
        )
        results, first_claim, first_cell = [], 0, 0
        for (rows, cols), (count,) in zip(map(as_grid, grid_sizes), targets.counts):
            claims = slice(first_claim, first_claim + count)
            results.append(
                LevelTargets(
                    labels=targets.labels[first_cell : first_cell + rows * cols],
                    pos_inds=targets.cells[claims],
                    mask_targets=targets.mask_targets[targets.instances[claims]],
                )
            )
            first_claim += count
            first_cell += rows * cols
        return results

    def assign_batch(
        self,
        gt_masks: Sequence[Tensor],
        gt_labels: Sequence[Tensor],
        *,
        num_classes: int,
        grid_sizes: Sequence[GridSize],
        scale_ranges: Sequence[Tuple[float, float]],
        mask_size: Tuple[int, int],
        mask_stride: int = 4,
        gt_bboxes: Optional[Sequence[Optional[Tensor]]] = None,
        strides: Optional[Sequence[int]] = None,
    ) -> BatchTargets:
        """Assign the instances of a batch of images to grid cells of every level.

        The targets of each image are those of :meth:`assign`; the work is
        done once for the batch: mask statistics in one pass per direction
        over each image's masks, each mask rescaled once, the claims listed
        from the regions, one device sync for the claim counts and the label
        check (assigners that keep one claim per cell sync once more, for
        the number of claimed cells).

        Args:
            gt_masks (Sequence[Tensor]): Per image B, masks (N_b, H, W) at its
                padded input size, bool or uint8 (nonzero is foreground).
            gt_labels (Sequence[Tensor]): Per image, labels (N_b,).
            num_classes (int): Number of foreground classes; also the
                background label.
            grid_sizes (Sequence): Grid of each level, ``(Sh, Sw)`` or ``S``.
            scale_ranges (Sequence[tuple[float, float]]): Inclusive
                ``(low, high)`` range of ``sqrt(w * h)`` per level.
            mask_size (tuple[int, int]): Size (Hm, Wm) of the mask features.
            mask_stride (int): Input pixels per mask-feature pixel.
            gt_bboxes (Sequence[Tensor | None], optional): Per image, boxes
                (N_b, 4) or None.
            strides (Sequence[int], optional): Stride of each level.

        Returns:
            BatchTargets: See :class:`BatchTargets`.

        Raises:
            LabelRangeError: If a label lies outside ``0..num_classes - 1``
                (a ValueError).
            ValueError: If the arguments are inconsistent.
        """
        num_images = len(gt_masks)
        boxes_in = list(gt_bboxes) if gt_bboxes is not None else [None] * num_images
        if num_images == 0 or not num_images == len(gt_labels) == len(boxes_in):
            raise ValueError(
                f"assign_solo_targets: got {num_images} mask sets, {len(gt_labels)} label sets "
                f"and {len(boxes_in)} box sets; give one of each per image, at least one image."
            )
        grids = [as_grid(size) for size in grid_sizes]
        for masks, labels, boxes in zip(gt_masks, gt_labels, boxes_in):
            _check_inputs(masks, labels, boxes, grids, scale_ranges, strides, mask_stride)
        self.check_levels(strides)
        mask_size = (int(mask_size[0]), int(mask_size[1]))
        device = gt_masks[0].device
        cells = [rows * cols for rows, cols in grids]
        layout = _Layout(
            grids,
            (mask_size[0] * mask_stride, mask_size[1] * mask_stride),
            num_images,
            cells,
            [num_images * sum(cells[:level]) for level in range(len(grids))],
        )

        masks = [(m if m.dtype == torch.bool else m != 0).to(device) for m in gt_masks]
        if len({tuple(m.shape[1:]) for m in masks}) == 1:
            # One pass over the masks of the whole batch (padded to the same size).
            stats, mask_targets = _masks_stats_and_targets(torch.cat(masks), mask_stride, mask_size)
        else:
            per_image = [_masks_stats_and_targets(m, mask_stride, mask_size) for m in masks]
            stats = MaskStats(*(torch.cat(field) for field in zip(*(p[0] for p in per_image))))
            mask_targets = torch.cat([p[1] for p in per_image])
        boxes, labels, first = [], [], 0
        for img_masks, img_labels, img_boxes in zip(masks, gt_labels, boxes_in):
            count = img_masks.shape[0]
            boxes.append(self.scale_boxes(stats.boxes[first : first + count], img_boxes))
            labels.append(img_labels.to(device=device, dtype=torch.long))
            first += count
        sizes = torch.tensor([len(img_labels) for img_labels in labels], device=device)
        image_of = torch.repeat_interleave(torch.arange(num_images, device=device), sizes)
        boxes, labels = torch.cat(boxes), torch.cat(labels)

        regions, counts = self._regions_and_counts(stats, boxes, scale_ranges, strides, layout)
        block_counts = torch.zeros(
            (len(grids), num_images), dtype=torch.long, device=device
        ).index_add_(1, image_of, counts)
        # The device sync: claims per level and image, and labels out of range.
        out_of_range = (labels < 0) | (labels >= num_classes)
        *flat_counts, num_bad = torch.cat(
            [block_counts.flatten(), out_of_range.sum()[None]]
        ).tolist()
        if num_bad:
            bad = labels[out_of_range][:10].tolist()
            raise LabelRangeError(label_range_message(bad, num_classes, type(self).__name__))

        claims, levels, images, level_cells = _list_claims(
            regions, counts, sum(flat_counts), image_of, layout
        )
        resolution = self.resolve(claims, layout.num_cells, stats.pixel_counts, labels, num_classes)
        instances = claims.instances
        if resolution.winners is not None:
            # One claim per cell: keep the winners, in cell order.
            keep = resolution.winners[claims.cells] == claims.instances
            blocks = levels * num_images + images
            kept = torch.zeros(len(flat_counts), dtype=torch.long, device=device)
            flat_counts = kept.index_add_(0, blocks, keep.long()).tolist()
            kept_ids = _nonzero_1d(keep, sum(flat_counts))
            kept_ids = kept_ids[torch.argsort(claims.cells[kept_ids])]
            instances, levels, images, level_cells = (
                field[kept_ids] for field in (instances, levels, images, level_cells)
            )
        return BatchTargets(
            labels=resolution.labels,
            cells=level_cells,
            levels=levels,
            images=images,
            instances=instances,
            mask_targets=mask_targets,
            counts=[
                flat_counts[level * num_images : (level + 1) * num_images]
                for level in range(len(grids))
            ],
            num_pos=resolution.claimed.sum(),
        )

    def _regions_and_counts(
        self,
        stats: MaskStats,
        boxes: Tensor,
        scale_ranges: Sequence[Tuple[float, float]],
        strides: Optional[Sequence[int]],
        layout: _Layout,
    ) -> Tuple[Regions, Tensor]:
        """Regions of every instance of the batch on every level, and their claim counts.

        Returns:
            tuple[Regions, Tensor]: Regions with fields of shape (L, N),
            clipped to each level's grid, and the number of cells each
            instance claims on each level, shape (L, N), int64 (0 off its
            levels).
        """
        box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        in_level = level_membership(torch.sqrt(box_w * box_h), stats.pixel_counts > 0, scale_ranges)
        in_level = self.route_levels(in_level, box_h, box_w, strides)
        per_level = []
        for rows, cols in layout.grids:
            region = self.regions(stats, box_h, box_w, layout.extent, (rows, cols))
            per_level.append(
                Regions(
                    region.top.clamp(min=0),
                    region.down.clamp(max=rows - 1),
                    region.left.clamp(min=0),
                    region.right.clamp(max=cols - 1),
                    region.centre_row,
                    region.centre_col,
                )
            )
        regions = Regions(*(torch.stack(field) for field in zip(*per_level)))
        heights = (regions.down - regions.top + 1).clamp(min=0)
        widths = (regions.right - regions.left + 1).clamp(min=0)
        return regions, heights * widths * in_level.t()


def _masks_stats_and_targets(
    masks: Tensor, mask_stride: int, mask_size: Tuple[int, int]
) -> Tuple[MaskStats, Tensor]:
    """Statistics and rescaled mask targets of (N, H, W) bool masks: (MaskStats, (N, Hm, Wm))."""
    return mask_stats(masks), rescale_masks(masks, mask_stride, mask_size)


def _list_claims(
    regions: Regions, counts: Tensor, total: int, image_of: Tensor, layout: _Layout
) -> Tuple[Claims, Tensor, Tensor, Tensor]:
    """List every claim of the batch from the rectangular regions, without a cell matrix.

    Args:
        regions (Regions): Fields of shape (L, N), clipped to the grids.
        counts (Tensor): Cells each instance claims on each level, (L, N).
        total (int): Sum of ``counts``, known on the host.
        image_of (Tensor): Image of each instance, shape (N,), int64.
        layout (_Layout): Cell layout of the batch.

    Returns:
        tuple: :class:`Claims` (P,), then the level, image and cell within
        the level of each claim, shape (P,) each. Order: level, image,
        instance, then row-major within the region.
    """
    device = counts.device
    num = counts.shape[1]
    flat_counts = counts.flatten()
    block = torch.repeat_interleave(
        torch.arange(flat_counts.numel(), device=device), flat_counts, output_size=total
    )  # (P,): level * N + instance
    first = torch.cumsum(flat_counts, 0) - flat_counts
    offset = torch.arange(total, device=device) - first[block]
    width = (regions.right - regions.left + 1).flatten()[block]
    row = regions.top.flatten()[block] + torch.div(offset, width, rounding_mode="floor")
    col = regions.left.flatten()[block] + offset % width
    levels = torch.div(block, max(num, 1), rounding_mode="floor")
    instances = block % max(num, 1)
    images = image_of[instances]
    level_cols = torch.tensor([cols for _, cols in layout.grids], device=device)
    level_cells = torch.tensor(layout.cells, device=device)
    level_bases = torch.tensor(layout.bases, device=device)
    cells = row * level_cols[levels] + col
    own_centre = (row == regions.centre_row.flatten()[block]) & (
        col == regions.centre_col.flatten()[block]
    )
    batch_cells = level_bases[levels] + images * level_cells[levels] + cells
    return Claims(batch_cells, instances, own_centre), levels, images, cells


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
