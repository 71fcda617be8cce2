"""Input size, ``scale_ranges`` and ``num_grids`` chosen from a split's object sizes.

Dimension key: N objects, L head levels.

The rule (:func:`suggest_settings`), in the order it is applied:

1. **Input size S** (square ``input_size=(S, S)``: with ``keep_ratio`` every
   image is resized so that its long side is S, so an object of an image whose
   long side is ``l`` is scaled by ``S / l``). S starts at the median long side
   of the images rounded to the nearest multiple of 32 (the data's own
   resolution), is capped at ``max_size`` (a CPU budget), and is then raised
   again, at most to that native size, until the small objects -- the
   ``tail_percent`` percentile of ``sqrt(area)`` -- are at least
   ``min_mask_pixels`` mask-feature pixels across, i.e.
   ``min_mask_pixels * mask_stride`` input pixels (2 * 4 = 8 px): a smaller
   object leaves the stride-4 mask features with almost nothing to draw.
   S is at least 128.
2. **Levels.** SOLO's ranges double from level to level and overlap by a
   factor 2: level k of base size b takes ``sqrt(w * h)`` of the box in
   ``[b * 2**(k-1), b * 2**(k+1)]`` (the box scale the assigners compare),
   so its geometric centre is ``b * 2**k`` and it *owns* the sizes within a
   factor sqrt(2) of that centre. The sizes at the input are measured; the
   ``tail_percent`` and ``100 - tail_percent`` percentiles ``lo`` and ``hi``
   span ``log2(hi / lo)`` octaves, so ``L = ceil(log2(hi / lo))`` levels (1
   to 5, the FPN's P2..P6) are centred on ``sqrt(lo * hi)``:
   ``b = sqrt(lo * hi) / 2**((L - 1) / 2)``. b is rounded, in log scale, to
   the nearest of ``2**n`` and ``1.5 * 2**n`` (SOLO's own bases: 16 in the
   demo, 48 in the seed and mmdet), at least 4. While more than one level is
   left, an end level that owns fewer than ``min_share`` of the objects is
   dropped (the bottom one doubles b). Levels are then added on top until
   there are ``min_levels`` (2). The first range starts at 1 and the last
   one ends at S at least, so every object is assigned.
3. **Grids.** A level's typical object is its centre size ``t = b * 2**k``;
   its grid makes that object span ``cells_per_object`` cells:
   ``S_k = cells_per_object * S / t`` rounded to an even number, at most 40
   (SOLOv2's largest) and at least 4, and never more than the level below.
   With the seed's ``offset_factor=0.25`` the positive region is half the
   object, i.e. one cell at 2 cells per object: every object gets its centre
   cell and the cells its centre region touches.

The head's levels are the first L FPN outputs (strides 4, 8, ... as in
``configs/solov2_x50.py`` with ``level_resize='none'``), so the neck gives L
outputs (``num_outs=L``; ``end_level=L-1`` when fewer than the backbone's
levels) and the mask branch fuses levels ``0..min(L, 4) - 1``.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .config_overrides import ConfigSource, cfg_options_line, config_text, with_input_size
from .dataset_stats import DatasetStats

#: Strides of the FPN outputs P2..P6 the head levels use, in order.
FPN_STRIDES = (4, 8, 16, 32, 64)
#: Backbone levels feeding the FPN (C2..C5) in the project's configs.
BACKBONE_LEVELS = 4
#: SOLOv2's largest grid, and the smallest one kept.
MAX_GRID, MIN_GRID = 40, 4
#: Smallest suggested input size.
MIN_INPUT_SIZE = 128
#: mmdet's SOLOv2 test_cfg: detections kept per image, candidates before Matrix NMS.
DEFAULT_MAX_PER_IMG, DEFAULT_NMS_PRE = 100, 500


@dataclass(frozen=True)
class InputSizeChoice:
    """How the input size was chosen (all sizes are the square's side, in px).

    Attributes:
        size (int): The suggestion S.
        native (int): Median long side of the images, rounded to ``size_divisor``.
        budget (int): ``native`` capped at ``max_size``.
        small_object_floor (int): Smallest S at which the ``tail_percent``
            percentile of ``sqrt(area)`` reaches ``min_object_px`` (rounded
            up to ``size_divisor``); 0 without objects.
        small_object_px (float): That percentile at S (0 without objects).
        min_object_px (float): ``min_mask_pixels * mask_stride``.
    """

    size: int
    native: int
    budget: int
    small_object_floor: int
    small_object_px: float
    min_object_px: float


@dataclass(frozen=True)
class SuggestedSettings:
    """Input size and head levels suggested for a split.

    Attributes:
        input_size (int): Side S of the square ``input_size=(S, S)``.
        strides (tuple[int, ...]): L head strides (the first L FPN levels).
        scale_ranges (tuple[tuple[int, int], ...]): L inclusive
            ``sqrt(w * h)`` ranges, in input pixels.
        num_grids (tuple[int, ...]): L grid sizes (cells on the long side).
        base_size (int): b: level k is centred on ``b * 2**k`` input pixels.
        level_shares (tuple[float, ...]): Fraction of the (non-crowd)
            objects each level owns (sizes within sqrt(2) of its centre).
        level_counts (tuple[int, ...]): Objects inside each level's range
            (what the assigner trains it on: ranges overlap).
        centre_collisions (tuple[float, ...]): Per level, the fraction of
            its owned objects whose centre cell holds the centre of another
            owned object of the same image (one of them cannot be learnt
            from that cell).
        size_choice (InputSizeChoice): How ``input_size`` was chosen.
        max_per_img (int): Detections kept per image (``test_cfg``): at least
            mmdet's 100, and 1.5x the most objects an image holds, rounded up
            to 50 (at 100, a frame of 190 nuclei can never reach a recall
            above 53%).
        nms_pre (int): Candidates before Matrix NMS: at least mmdet's 500,
            and twice ``max_per_img``.
        cells_per_object (float): The grid rule's factor.
        notes (tuple[str, ...]): Warnings and explanations for the report.
    """

    input_size: int
    strides: Tuple[int, ...]
    scale_ranges: Tuple[Tuple[int, int], ...]
    num_grids: Tuple[int, ...]
    base_size: int
    level_shares: Tuple[float, ...]
    level_counts: Tuple[int, ...]
    centre_collisions: Tuple[float, ...]
    size_choice: InputSizeChoice
    max_per_img: int = DEFAULT_MAX_PER_IMG
    nms_pre: int = DEFAULT_NMS_PRE
    cells_per_object: float = 2.0
    notes: Tuple[str, ...] = field(default_factory=tuple)

    @property
    def num_levels(self) -> int:
        """L."""
        return len(self.strides)

    def model_options(self, backbone_levels: int = BACKBONE_LEVELS) -> Dict[str, Any]:
        """Dotted model keys that give the head L self-consistent levels.

        Args:
            backbone_levels (int): Backbone outputs feeding the FPN (the
                length of ``model.neck.in_channels``). Defaults to 4.

        Returns:
            dict: ``model.neck.num_outs`` and ``end_level``, and the head's
            ``strides``, ``scale_ranges``, ``num_grids`` and
            ``mask_feature_head.end_level``, and :meth:`test_options`.
        """
        used = min(self.num_levels, backbone_levels)
        return {
            "model.neck.num_outs": self.num_levels,
            "model.neck.end_level": used - 1,
            "model.mask_head.strides": self.strides,
            "model.mask_head.scale_ranges": self.scale_ranges,
            "model.mask_head.num_grids": self.num_grids,
            "model.mask_head.mask_feature_head.end_level": used - 1,
            **self.test_options(),
        }

    def test_options(self) -> Dict[str, int]:
        """``model.test_cfg`` keys that let every object of the densest image be detected.

        Empty when mmdet's defaults (100 detections, 500 candidates) suffice,
        so a config's own test settings are kept.
        """
        if self.max_per_img <= DEFAULT_MAX_PER_IMG:
            return {}
        return {
            "model.test_cfg.max_per_img": self.max_per_img,
            "model.test_cfg.nms_pre": self.nms_pre,
        }

    def cfg_options(self, base: Optional[ConfigSource] = None) -> Dict[str, Any]:
        """The suggestion as ``--cfg-options`` (dotted keys to values).

        Args:
            base (Config | str, optional): The config the options will be
                merged into. Given, every transform ``scale`` of its
                dataloaders' pipelines equal to its ``input_size`` gets a key
                too (a top-level ``input_size`` override does not reach
                pipelines built from it), and the neck's input count is read
                from it.

        Returns:
            dict: ``input_size``, the model keys of :meth:`model_options` and,
            with ``base``, keys like ``train_dataloader.dataset.pipeline.2.scale``.
        """
        return with_input_size(self.model_options, (self.input_size, self.input_size), base)

    def cfg_options_line(self, base: Optional[ConfigSource] = None) -> str:
        """:meth:`cfg_options` as shell-quoted ``key=value`` words for ``--cfg-options``."""
        return cfg_options_line(self.cfg_options(base))

    def config_text(self, base: ConfigSource, base_ref: Optional[str] = None) -> str:
        """A config file applying the suggestion on top of ``base``.

        Args:
            base (Config | str): The base config (loaded to copy the pipelines
                whose resize scale changes).
            base_ref (str, optional): What ``_base_`` names (e.g. a path
                relative to where the file is written); defaults to ``base``
                when it is a path.

        Returns:
            str: Python config text.
        """
        return config_text(self.cfg_options(base), base, base_ref, self.header_lines())

    def header_lines(self) -> List[str]:
        """Comment lines that say what was chosen and why."""
        choice = self.size_choice
        return [
            f"input {self.input_size} px (native {choice.native}, budget {choice.budget}, "
            f"small-object floor {choice.small_object_floor})",
            f"levels centred on {self.base_size} * 2**k px; objects owned per level: "
            + ", ".join(f"{share:.0%}" for share in self.level_shares),
            f"grids: {self.cells_per_object:g} cells per typical object, {MIN_GRID}..{MAX_GRID}",
            f"up to {self.max_per_img} detections an image ({self.nms_pre} candidates)",
        ]


def detection_limits(max_objects: int) -> Tuple[int, int]:
    """``(max_per_img, nms_pre)`` for images holding up to ``max_objects`` objects.

    ``max_per_img`` is at least :data:`DEFAULT_MAX_PER_IMG` and 1.5x
    ``max_objects`` rounded up to 50; ``nms_pre`` at least
    :data:`DEFAULT_NMS_PRE` and twice ``max_per_img``. Examples: 90 -> (150,
    500), 195 -> (300, 600), 40 -> (100, 500).
    """
    max_per_img = max(DEFAULT_MAX_PER_IMG, round_to_multiple(1.5 * max_objects, 50, "up"))
    return max_per_img, max(DEFAULT_NMS_PRE, 2 * max_per_img)


def round_to_multiple(value: float, multiple: int, mode: str = "nearest") -> int:
    """``value`` rounded to a multiple of ``multiple`` (``'nearest'``, ``'up'`` or ``'down'``)."""
    steps = value / multiple
    rounded = {"nearest": math.floor(steps + 0.5), "up": math.ceil(steps - 1e-9)}
    return int(multiple * rounded.get(mode, math.floor(steps + 1e-9)))


def round_even(value: float) -> int:
    """``value`` rounded to the nearest even integer (halves up)."""
    return 2 * int(math.floor(value / 2 + 0.5))


def nice_base(value: float, smallest: int = 4) -> int:
    """The nearest, in log scale, of ``2**n`` and ``1.5 * 2**n``, at least ``smallest``.

    Ties go to the power of two. Examples: 14.6 -> 16, 20 -> 24, 40 -> 48.
    """
    if value <= smallest:
        return smallest
    low = 2 ** math.floor(math.log2(value))
    candidates = [low, 1.5 * low, 2 * low]
    best = min(candidates, key=lambda c: (abs(math.log2(c / value)), c != low and c != 2 * low))
    return max(smallest, int(best))


def choose_input_size(
    stats: DatasetStats,
    max_size: int = 640,
    *,
    mask_stride: int = 4,
    min_mask_pixels: float = 2.0,
    tail_percent: float = 5.0,
    size_divisor: int = 32,
) -> InputSizeChoice:
    """Step 1 of the rule (see the module docstring).

    Args:
        stats (DatasetStats): The split's sizes.
        max_size (int): CPU budget for S; rounded down to ``size_divisor``.
        mask_stride (int): Stride of the mask features.
        min_mask_pixels (float): Mask-feature pixels the small objects need.
        tail_percent (float): Percentile of ``sqrt(area)`` taken as "small".
        size_divisor (int): S is a multiple of it (the batch padding).

    Returns:
        InputSizeChoice: S and the numbers behind it.
    """
    native = max(size_divisor, round_to_multiple(float(np.median(stats.long_sides)), size_divisor))
    cap = max(MIN_INPUT_SIZE, round_to_multiple(max_size, size_divisor, "down"))
    budget = min(native, cap)
    min_px = min_mask_pixels * mask_stride
    keep = ~stats.crowd
    relative = stats.sqrt_areas[keep] / stats.object_long_sides[keep]
    floor, small = 0, 0.0
    if relative.size:
        small_relative = float(np.percentile(relative, tail_percent))
        floor = round_to_multiple(min_px / max(small_relative, 1e-9), size_divisor, "up")
    size = max(MIN_INPUT_SIZE, budget, min(floor, native))
    if relative.size:
        small = small_relative * size
    return InputSizeChoice(size, native, budget, floor, small, min_px)


def level_of(sizes: np.ndarray, base: float, num_levels: int) -> np.ndarray:
    """Level owning each size: the nearest centre ``base * 2**k`` in log scale.

    Args:
        sizes (np.ndarray): ``(N,)`` box scales in input pixels.
        base (float): b.
        num_levels (int): L; sizes beyond the ends go to the end levels.

    Returns:
        np.ndarray: ``(N,)`` int64 levels in ``[0, L)``; a size exactly on a
        boundary goes to the upper level.
    """
    positions = np.floor(np.log2(np.maximum(sizes, 1e-9) / base) + 0.5)
    return np.clip(positions, 0, num_levels - 1).astype(np.int64)


def level_shares(sizes: np.ndarray, base: float, num_levels: int) -> np.ndarray:
    """``(L,)`` fraction of the sizes each level owns (zeros without sizes)."""
    if sizes.size == 0:
        return np.zeros(num_levels)
    counts = np.bincount(level_of(sizes, base, num_levels), minlength=num_levels)
    return counts / sizes.size


def choose_levels(
    sizes: np.ndarray,
    *,
    tail_percent: float = 5.0,
    min_share: float = 0.02,
    min_levels: int = 2,
    max_levels: int = len(FPN_STRIDES),
) -> Tuple[int, int]:
    """Step 2 of the rule: base size b and number of levels L.

    Args:
        sizes (np.ndarray): ``(N,)`` box scales at the input, N > 0.
        tail_percent (float): Percentiles ``lo``/``hi`` that the levels span.
        min_share (float): End levels owning less are dropped.
        min_levels (int): Levels added on top up to this number.
        max_levels (int): At most this many levels.

    Returns:
        tuple[int, int]: ``(b, L)``.
    """
    low, high = np.percentile(sizes, [tail_percent, 100 - tail_percent])
    low = max(float(low), 1.0)
    high = max(float(high), low)
    num = int(min(max(math.ceil(math.log2(high / low) - 1e-9), 1), max_levels))
    centre = 0.5 * (math.log2(low) + math.log2(high)) - 0.5 * (num - 1)
    base = nice_base(2**centre)
    while num > 1:
        shares = level_shares(sizes, base, num)
        if min(shares[0], shares[-1]) >= min_share:
            break
        if shares[0] < shares[-1]:
            base *= 2
        num -= 1
    return base, max(num, min(min_levels, max_levels))


def choose_grids(
    input_size: int, base: int, num_levels: int, cells_per_object: float = 2.0
) -> Tuple[int, ...]:
    """Step 3 of the rule: ``cells_per_object * S / (b * 2**k)``, even, 4..40, non-increasing."""
    grids: List[int] = []
    for level in range(num_levels):
        grid = round_even(cells_per_object * input_size / (base * 2**level))
        grid = min(MAX_GRID, max(MIN_GRID, grid))
        grids.append(min(grid, grids[-1]) if grids else grid)
    return tuple(grids)


def level_ranges(input_size: int, base: int, num_levels: int) -> Tuple[Tuple[int, int], ...]:
    """``(b * 2**(k-1), b * 2**(k+1))`` per level; first from 1, last to S at least."""
    ranges = []
    for level in range(num_levels):
        low = 1 if level == 0 else base * 2 ** (level - 1)
        high = base * 2 ** (level + 1)
        if level == num_levels - 1:
            high = max(high, input_size)
        ranges.append((int(low), int(high)))
    return tuple(ranges)


def centre_collisions(
    stats: DatasetStats,
    keep: np.ndarray,
    factors: np.ndarray,
    levels: np.ndarray,
    input_size: int,
    grids: Sequence[int],
) -> Tuple[float, ...]:
    """Per level, the fraction of owned objects sharing their centre cell with another.

    Args:
        stats (DatasetStats): The split's sizes.
        keep (np.ndarray): ``(N,)`` bool, the objects counted.
        factors (np.ndarray): ``(N,)`` resize factor of each object's image.
        levels (np.ndarray): ``(K,)`` owning level of each kept object.
        input_size (int): S; a level's cell is ``S / grid`` input pixels.
        grids (Sequence[int]): L grid sizes.

    Returns:
        tuple[float, ...]: L fractions (0 for a level that owns nothing).
    """
    centres = stats.box_centres[keep] * factors[keep, None]
    images = stats.object_image[keep]
    result = []
    for level, grid in enumerate(grids):
        chosen = levels == level
        if not chosen.any():
            result.append(0.0)
            continue
        cells = np.floor(centres[chosen] * grid / input_size).astype(np.int64)
        keys = (images[chosen] * (grid + 1) + cells[:, 1]) * (grid + 1) + cells[:, 0]
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        result.append(float((counts[inverse] > 1).mean()))
    return tuple(result)


def suggest_settings(
    stats: DatasetStats,
    max_size: int = 640,
    *,
    cells_per_object: float = 2.0,
    tail_percent: float = 5.0,
    min_share: float = 0.02,
    min_levels: int = 2,
    mask_stride: int = 4,
    min_mask_pixels: float = 2.0,
) -> SuggestedSettings:
    """Suggest ``input_size``, ``scale_ranges`` and ``num_grids`` for a split.

    The rule is the module docstring's; every threshold is an argument.

    Args:
        stats (DatasetStats): From :func:`~.dataset_stats.analyze_split`.
        max_size (int): CPU budget for the input side. Defaults to 640 (2 CPU cores).
        cells_per_object (float): Grid cells a level's typical object spans.
        tail_percent (float): Percentile of the small (and large) objects.
        min_share (float): End levels owning fewer objects are dropped.
        min_levels (int): Fewest levels (2 to 5).
        mask_stride (int): Stride of the mask features (4 in the configs).
        min_mask_pixels (float): Mask-feature pixels the small objects need.

    Returns:
        SuggestedSettings: The suggestion and the numbers behind it.

    Raises:
        ValueError: If the split holds no (non-crowd) object, or
            ``min_levels`` is outside 1..5.
    """
    if not 1 <= min_levels <= len(FPN_STRIDES):
        raise ValueError(f"suggest_settings: min_levels must be 1..5, got {min_levels}.")
    keep = ~stats.crowd
    if not keep.any():
        raise ValueError(
            f"{stats.split_dir or 'the statistics'}: no (non-crowd) object to size the levels "
            "on; analyse a split whose label maps hold objects."
        )
    choice = choose_input_size(
        stats,
        max_size,
        mask_stride=mask_stride,
        min_mask_pixels=min_mask_pixels,
        tail_percent=tail_percent,
    )
    size = choice.size
    factors = size / stats.object_long_sides.astype(np.float64)
    sizes = stats.box_scales[keep] * factors[keep]
    base, num = choose_levels(
        sizes, tail_percent=tail_percent, min_share=min_share, min_levels=min_levels
    )
    grids = choose_grids(size, base, num, cells_per_object)
    ranges = level_ranges(size, base, num)
    levels = level_of(sizes, base, num)
    shares = level_shares(sizes, base, num)
    counts = tuple(int(((sizes >= lo) & (sizes <= hi)).sum()) for lo, hi in ranges)
    collisions = centre_collisions(stats, keep, factors, levels, size, grids)
    notes = _notes(stats, choice, max_size, shares, (min_share, min_levels))
    notes += _grid_notes(grids, base, size, cells_per_object)
    most = int(stats.objects_per_image.max()) if stats.num_images else 0
    max_per_img, nms_pre = detection_limits(most)
    if max_per_img > DEFAULT_MAX_PER_IMG:
        notes.append(
            f"an image holds up to {most} objects: test_cfg.max_per_img {max_per_img} (mmdet's "
            f"{DEFAULT_MAX_PER_IMG} would cap the recall at {DEFAULT_MAX_PER_IMG / most:.0%}) "
            f"and nms_pre {nms_pre}."
        )
    return SuggestedSettings(
        input_size=size,
        strides=FPN_STRIDES[:num],
        scale_ranges=ranges,
        num_grids=grids,
        base_size=base,
        level_shares=tuple(float(s) for s in shares),
        level_counts=counts,
        centre_collisions=collisions,
        size_choice=choice,
        max_per_img=max_per_img,
        nms_pre=nms_pre,
        cells_per_object=cells_per_object,
        notes=tuple(notes),
    )


def _notes(
    stats: DatasetStats,
    choice: InputSizeChoice,
    max_size: int,
    shares: np.ndarray,
    limits: Tuple[float, int],
) -> List[str]:
    """Warnings and explanations about the input size and the levels' shares."""
    min_share, min_levels = limits
    notes = []
    if choice.size > choice.budget:
        notes.append(
            f"input raised from {choice.budget} to {choice.size} px (above --max-size "
            f"{max_size}) so that the small objects reach {choice.min_object_px:g} px; "
            "training is slower."
        )
    if choice.small_object_px < choice.min_object_px:
        notes.append(
            f"the small objects are {choice.small_object_px:.1f} px at the input, under "
            f"{choice.min_object_px:g} px (2 mask-feature pixels) even at the native size: "
            "upscale the images (larger --max-size and input_size) or expect them to be missed."
        )
    if stats.crowd.any():
        notes.append(f"{int(stats.crowd.sum())} crowd object(s) left out of the level statistics.")
    long_sides = stats.long_sides
    if long_sides.max() > 1.5 * long_sides.min():
        notes.append(
            f"image long sides range from {long_sides.min()} to {long_sides.max()} px: each "
            "image is resized to the input size, so its objects scale differently."
        )
    for level, share in enumerate(shares):
        if share < min_share:
            notes.append(
                f"level {level} owns {share:.1%} of the objects; kept (at least {min_levels} "
                "levels, or a level between used ones)."
            )
    return notes


def _grid_notes(grids: Sequence[int], base: int, size: int, cells_per_object: float) -> List[str]:
    """Notes on grids where the caps bind."""
    notes = []
    wanted = cells_per_object * size / base
    if wanted > MAX_GRID + 1:
        notes.append(
            f"level 0's grid is capped at {MAX_GRID} (the rule gives {wanted:.0f}): its typical "
            f"object spans {MAX_GRID * base / size:.1f} cells instead of {cells_per_object:g}."
        )
    if len(set(grids)) < len(grids):
        notes.append("neighbouring levels share a grid size where the caps bind.")
    return notes
