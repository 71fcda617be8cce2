"""SOLOv2 grid assigners, registered in mmdet's ``TASK_UTILS``.

Dimension key: N instances, L levels, Sh x Sw grid of one level,
C = Sh * Sw cells.

A head picks one with ``train_cfg=dict(assigner=dict(type=..., **options))``:

- :class:`SOLOv2CenterRegionAssigner` reproduces
  ``SOLOV2Head._get_targets_single`` of mmdet 3.3 exactly: scale
  ``sqrt(w * h)`` of the box; centre of mass in pixel indices; region
  ``+-0.5 * pos_scale * box side`` clamped to the centre cell +-1; cell
  coordinates truncated like mmdet's. A cell claimed by k instances appears k
  times in ``pos_inds`` (one mask target per claim, instance-major order) and
  its label is the last claimant's (highest instance index).
- :class:`SOLOv2MaskExtentAssigner` follows the TensorFlow seed's ideas:
  centre of mass (pixel centres) and extent from the mask; region
  ``+-offset_factor * extent``, never smaller than the centre cell; grids may
  be rectangular. A cell claimed by several instances goes to one of them: a
  claim on an instance's own centre cell beats any other claim, then the
  smaller mask wins (then the lower index), so ``pos_inds`` is unique and
  ascending. Optionally (``route_thin``), thin objects move to a level whose
  stride fits their short side.

:func:`assign_solo_targets` is the pure-function form: ``mode='mmdet'`` or
``'seed'`` picks the assigner, the remaining keywords are its options.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Type, Union

import torch
from mmdet.registry import TASK_UTILS
from torch import Tensor

from .solo_targets import (
    Claims,
    GridSize,
    LevelTargets,
    MaskStats,
    Regions,
    Resolution,
    SOLOv2GridAssigner,
    check_option,
)


def _mmdet_cell(coord: Tensor, extent: int, num_cells: int) -> Tensor:
    """Cell index of input coordinates with mmdet's float32 arithmetic (truncation)."""
    return torch.div(coord / extent, 1.0 / num_cells, rounding_mode="trunc").long()


def _seed_cell(coord: Tensor, extent: int, num_cells: int) -> Tensor:
    """Cell holding input coordinates (floor), clamped to the grid."""
    return torch.floor(coord * (num_cells / extent)).long().clamp(0, num_cells - 1)


def _labels_of(instances: Tensor, gt_labels: Tensor, num_classes: int) -> Tensor:
    """Label of each cell from its instance (-1: none, background), shape (M,)."""
    with_background = torch.cat([gt_labels, gt_labels.new_full((1,), num_classes)])
    return with_background[instances]  # -1 picks the background appended last


@TASK_UTILS.register_module()
class SOLOv2CenterRegionAssigner(SOLOv2GridAssigner):
    """mmdet's SOLOv2 assignment: a box-sized region around the centre of mass.

    Scales and region sizes come from the ground-truth boxes when given
    (mask boxes otherwise); the region is ``centre +- 0.5 * pos_scale * box
    side``, clamped to the centre cell +-1. Duplicate claims are kept, one
    mask target each; the last claimant labels the cell.

    Args:
        pos_scale (float): Region half-size as a fraction of half the box
            side, >= 0. Defaults to 0.2 (mmdet's).
    """

    def __init__(self, pos_scale: float = 0.2) -> None:
        self.pos_scale = check_option(type(self).__name__, "pos_scale", pos_scale)

    def scale_boxes(self, mask_boxes: Tensor, gt_bboxes: Optional[Tensor]) -> Tensor:
        """The given boxes (as mmdet), or the mask boxes when None."""
        if gt_bboxes is None:
            return mask_boxes
        return gt_bboxes.to(device=mask_boxes.device, dtype=torch.float32)

    def regions(
        self,
        stats: MaskStats,
        box_h: Tensor,
        box_w: Tensor,
        extent: Tuple[int, int],
        grid: Tuple[int, int],
    ) -> Regions:
        """Centre +- half size, truncated to cells, clamped to the centre cell +-1."""
        rows, cols = grid
        half_h, half_w = 0.5 * box_h * self.pos_scale, 0.5 * box_w * self.pos_scale
        centre_y, centre_x = stats.centre_y, stats.centre_x
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
        return Regions(top, down, left, right, centre_row, centre_col)

    def resolve(
        self,
        claims: Claims,
        num_cells: int,
        pixel_counts: Tensor,
        gt_labels: Tensor,
        num_classes: int,
    ) -> Resolution:
        """Every claim stands; a cell takes the label of its last claimant (highest index)."""
        last = torch.full((num_cells,), -1, dtype=torch.long, device=gt_labels.device)
        last = last.scatter_reduce(0, claims.cells, claims.instances, reduce="amax")
        return Resolution(_labels_of(last, gt_labels, num_classes), last >= 0, None)


@TASK_UTILS.register_module()
class SOLOv2MaskExtentAssigner(SOLOv2GridAssigner):
    """The seed's assignment: a region sized by the mask's own extent.

    Centre (pixel centres) and extent come from the mask, never from boxes;
    the region is every cell meeting ``centre +- offset_factor * extent``,
    the centre cell included. Each cell goes to one instance: its own centre
    cell first, then the smaller mask, then the lower index.

    Args:
        offset_factor (float): Region half-size as a fraction of the mask's
            extent, >= 0 (seed ``offset_factor``). Defaults to 0.25.
        route_thin (bool): Move an instance whose short side is below the
            stride of its levels to the coarsest level whose stride fits its
            short side (the finest level if none does); needs the level
            strides in :meth:`assign`. Defaults to False.
    """

    def __init__(self, offset_factor: float = 0.25, route_thin: bool = False) -> None:
        self.offset_factor = check_option(type(self).__name__, "offset_factor", offset_factor)
        if not isinstance(route_thin, bool):
            raise ValueError(
                f"{type(self).__name__}: route_thin must be True or False, got {route_thin!r}."
            )
        self.route_thin = route_thin

    def check_levels(self, strides: Optional[Sequence[int]]) -> None:
        """Thin routing needs the level strides."""
        if self.route_thin and strides is None:
            raise ValueError(
                f"{type(self).__name__}(route_thin=True) needs the level strides "
                "(strides=[...]) to route thin objects."
            )

    def scale_boxes(self, mask_boxes: Tensor, gt_bboxes: Optional[Tensor]) -> Tensor:
        """Always the mask boxes: the seed measures instances on their masks."""
        return mask_boxes

    def regions(
        self,
        stats: MaskStats,
        box_h: Tensor,
        box_w: Tensor,
        extent: Tuple[int, int],
        grid: Tuple[int, int],
    ) -> Regions:
        """Every cell meeting centre +- half size, the centre cell included."""
        rows, cols = grid
        half_h, half_w = self.offset_factor * box_h, self.offset_factor * box_w
        # Pixel i covers [i, i + 1): its centre is at i + 0.5.
        centre_y, centre_x = stats.centre_y + 0.5, stats.centre_x + 0.5
        centre_row = _seed_cell(centre_y, extent[0], rows)
        centre_col = _seed_cell(centre_x, extent[1], cols)
        top = torch.minimum(_seed_cell(centre_y - half_h, extent[0], rows), centre_row)
        down = torch.maximum(_seed_cell(centre_y + half_h, extent[0], rows), centre_row)
        left = torch.minimum(_seed_cell(centre_x - half_w, extent[1], cols), centre_col)
        right = torch.maximum(_seed_cell(centre_x + half_w, extent[1], cols), centre_col)
        return Regions(top, down, left, right, centre_row, centre_col)

    def route_levels(
        self, in_level: Tensor, box_h: Tensor, box_w: Tensor, strides: Optional[Sequence[int]]
    ) -> Tensor:
        """With ``route_thin``: keep the levels whose stride fits the short side.

        An instance keeps the levels its scale selects whose stride is at
        most its short side. If none is left, it goes to the coarsest level
        whose stride is at most its short side, or to the finest level if no
        stride fits. Instances that no level takes stay unassigned.

        Args:
            in_level (Tensor): Level membership by scale, shape (N, L), bool.
            box_h (Tensor): Mask box heights in input pixels, shape (N,).
            box_w (Tensor): Mask box widths, shape (N,).
            strides (Sequence[int], optional): Stride of each level.

        Returns:
            Tensor: New membership, shape (N, L), bool.
        """
        if not self.route_thin:
            return in_level
        short_sides = torch.minimum(box_w, box_h)
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

    def resolve(
        self,
        claims: Claims,
        num_cells: int,
        pixel_counts: Tensor,
        gt_labels: Tensor,
        num_classes: int,
    ) -> Resolution:
        """One winner per cell: own centre cell first, then the smaller mask, then lower index."""
        num = max(pixel_counts.shape[0], 1)
        # One int64 key orders the claims of a cell: (not own centre, pixels, index).
        penalty = pixel_counts.sum() + 1
        key = (
            pixel_counts[claims.instances] + (~claims.own_centre).long() * penalty
        ) * num + claims.instances
        unclaimed = torch.iinfo(torch.long).max
        best = torch.full((num_cells,), unclaimed, dtype=torch.long, device=gt_labels.device)
        best = best.scatter_reduce(0, claims.cells, key, reduce="amin")
        claimed = best != unclaimed
        winners = torch.where(claimed, best % num, -1)
        return Resolution(_labels_of(winners, gt_labels, num_classes), claimed, winners)


#: The assigner behind each ``mode`` of :func:`assign_solo_targets`.
ASSIGNER_MODES: Dict[str, Type[SOLOv2GridAssigner]] = {
    "mmdet": SOLOv2CenterRegionAssigner,
    "seed": SOLOv2MaskExtentAssigner,
}
_ASSIGNER_NAMES = tuple(cls.__name__ for cls in ASSIGNER_MODES.values())


def _options_listing() -> str:
    """``'A (x, y), B (z)'``: each SOLOv2 assigner with its options."""
    return ", ".join(
        f"{cls.__name__} ({', '.join(cls.option_names()) or 'no options'})"
        for cls in ASSIGNER_MODES.values()
    )


def check_assigner_options(cls: Type[SOLOv2GridAssigner], options: dict, where: str) -> None:
    """Raise ValueError naming every option ``cls`` does not take, and whose it is.

    Args:
        cls (type): A :class:`SOLOv2GridAssigner` subclass.
        options (dict): Keyword options meant for ``cls``.
        where (str): Who passes them, for the message.
    """
    valid = cls.option_names()
    unknown = [name for name in options if name not in valid]
    if not unknown:
        return
    owners = {
        name: [other.__name__ for other in ASSIGNER_MODES.values() if name in other.option_names()]
        for name in unknown
    }
    hints = "; ".join(
        f"{name!r} is an option of {' / '.join(found)}" for name, found in owners.items() if found
    )
    raise ValueError(
        f"{where}: {cls.__name__} has no option(s) {unknown}; its options are {list(valid)}."
        + (f" {hints}: set its type instead." if hints else "")
        + f" SOLOv2 assigners and their options: {_options_listing()}."
    )


def build_solo_assigner(
    cfg: Union[dict, SOLOv2GridAssigner, None], where: str = "train_cfg.assigner"
) -> SOLOv2GridAssigner:
    """Build a SOLOv2 grid assigner from a config (``TASK_UTILS``), checking its options.

    Args:
        cfg (dict | SOLOv2GridAssigner | None): ``dict(type=..., **options)``
            with a registered SOLOv2 assigner type (name or class), an
            assigner, or None for mmdet's assignment with pos_scale 0.2.
        where (str): Config key named in error messages.

    Returns:
        SOLOv2GridAssigner: The assigner.

    Raises:
        ValueError: If the type is not a SOLOv2 grid assigner or an option
            does not belong to it.
    """
    if cfg is None:
        return SOLOv2CenterRegionAssigner()
    if isinstance(cfg, SOLOv2GridAssigner):
        return cfg
    cfg = dict(cfg)
    type_name = cfg.pop("type", None)
    cls = TASK_UTILS.get(type_name) if isinstance(type_name, str) else type_name
    if not (isinstance(cls, type) and issubclass(cls, SOLOv2GridAssigner)):
        raise ValueError(
            f"{where}: type must be a SOLOv2 grid assigner registered in TASK_UTILS, one of "
            f"{list(_ASSIGNER_NAMES)}, got {type_name!r}."
        )
    check_assigner_options(cls, cfg, where)
    return cls(**cfg)


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
    gt_bboxes: Optional[Tensor] = None,
    strides: Optional[Sequence[int]] = None,
    **options,
) -> List[LevelTargets]:
    """Assign the instances of one image to grid cells of every level (pure function).

    ``mode`` picks the assigner (``'mmdet'``:
    :class:`SOLOv2CenterRegionAssigner`, options ``pos_scale``; ``'seed'``:
    :class:`SOLOv2MaskExtentAssigner`, options ``offset_factor`` and
    ``route_thin``); ``options`` are its options. See
    :meth:`SOLOv2GridAssigner.assign` for the other arguments and the result.

    Raises:
        ValueError: For an unknown mode, an option of the other assigner, or
            the errors of :meth:`SOLOv2GridAssigner.assign`.
    """
    if mode not in ASSIGNER_MODES:
        raise ValueError(
            f"assign_solo_targets: mode must be one of {list(ASSIGNER_MODES)}, got {mode!r}."
        )
    cls = ASSIGNER_MODES[mode]
    check_assigner_options(cls, options, f"assign_solo_targets(mode={mode!r})")
    return cls(**options).assign(
        gt_masks,
        gt_labels,
        num_classes=num_classes,
        grid_sizes=grid_sizes,
        scale_ranges=scale_ranges,
        mask_size=mask_size,
        mask_stride=mask_stride,
        gt_bboxes=gt_bboxes,
        strides=strides,
    )
