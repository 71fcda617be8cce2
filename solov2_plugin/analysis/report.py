"""The printed report of ``tools/analyze_dataset.py``: the data, the suggestion, why."""

from typing import List, Sequence

import numpy as np

from .dataset_stats import DatasetStats
from .level_settings import SuggestedSettings

_PERCENTILES = (5, 50, 95)


def _spread(values: np.ndarray) -> str:
    """``p5 a, median b, p95 c`` of ``values`` (one decimal)."""
    if values.size == 0:
        return "none"
    low, mid, high = np.percentile(values, _PERCENTILES)
    return f"p5 {low:.1f}, median {mid:.1f}, p95 {high:.1f}"


def _table(rows: Sequence[Sequence[str]]) -> List[str]:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]


def report_lines(stats: DatasetStats, settings: SuggestedSettings, max_size: int) -> List[str]:
    """Lines describing the split, the suggested settings and the numbers behind them.

    Args:
        stats (DatasetStats): The split's sizes.
        settings (SuggestedSettings): The suggestion.
        max_size (int): The CPU budget the suggestion was made with.

    Returns:
        list[str]: The report, without the ``--cfg-options`` line.
    """
    per_image = stats.objects_per_image
    long_sides = stats.long_sides
    keep = ~stats.crowd
    factors = settings.input_size / stats.object_long_sides[keep].astype(np.float64)
    choice = settings.size_choice
    lines = [
        f"split: {stats.split_dir}",
        f"images: {stats.num_images} ({int((per_image == 0).sum())} without objects); long side "
        f"px: min {long_sides.min()}, median {np.median(long_sides):g}, max {long_sides.max()}",
        f"objects: {stats.num_objects} (per image: min {per_image.min()}, median "
        f"{np.median(per_image):g}, max {per_image.max()})",
    ]
    if stats.class_counts:
        lines.append(
            "objects per class: " + ", ".join(f"{k} {v}" for k, v in stats.class_counts.items())
        )
    lines += [
        "object sizes, original px:",
        f"  sqrt(area)       {_spread(stats.sqrt_areas[keep])}",
        f"  sqrt(w*h) of box {_spread(stats.box_scales[keep])}",
        f"  box short side   {_spread(stats.short_sides[keep])}",
        f"input size: {settings.input_size} px on the long side (native {choice.native} = median "
        f"long side to a multiple of 32; --max-size {max_size}; the 5th percentile of "
        f"sqrt(area) needs >= {choice.small_object_floor} px to reach {choice.min_object_px:g} px)",
        "object sizes at the input, px:",
        f"  sqrt(area)       {_spread(stats.sqrt_areas[keep] * factors)}",
        f"  sqrt(w*h) of box {_spread(stats.box_scales[keep] * factors)}",
        f"levels (centred on {settings.base_size} * 2**k px, grid = "
        f"{settings.cells_per_object:g} * {settings.input_size} / centre, even, 4..40):",
    ]
    rows = [("level", "stride", "range px", "grid", "owns", "in range", "centre collisions")]
    for level in range(settings.num_levels):
        low, high = settings.scale_ranges[level]
        rows.append(
            (
                str(level),
                str(settings.strides[level]),
                f"{low}-{high}",
                str(settings.num_grids[level]),
                f"{settings.level_shares[level]:.1%}",
                str(settings.level_counts[level]),
                f"{settings.centre_collisions[level]:.1%}",
            )
        )
    lines += _table(rows)
    lines += [f"note: {note}" for note in settings.notes]
    if stats.skipped:
        lines.append(
            f"note: {len(stats.skipped)} problem(s) left samples out (first: "
            f"{stats.skipped[0]}); run tools/check_dataset.py on the split."
        )
    return lines
