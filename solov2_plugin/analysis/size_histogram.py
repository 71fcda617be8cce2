"""A picture of a split's object sizes with the suggested head levels drawn on it.

Sizes are shown at the model input (each object scaled by ``S / long side`` of
its image), on a log axis: bars for ``sqrt(w * h)`` of the box (the size that
``scale_ranges`` compare), a line for ``sqrt(area)`` of the mask, a shaded
span per level over the sizes it owns (labelled with its range and grid), and
the smallest size that covers 2 mask-feature pixels.
"""

import math
from pathlib import Path
from typing import Optional

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from ..datasets.errors import PathLike
from .dataset_stats import DatasetStats
from .level_settings import SuggestedSettings

_LEVEL_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


def draw_size_histogram(
    stats: DatasetStats,
    settings: SuggestedSettings,
    path: Optional[PathLike] = None,
    bins_per_octave: int = 6,
) -> Figure:
    """Draw the histogram of object sizes with the levels' spans.

    Args:
        stats (DatasetStats): The split's sizes.
        settings (SuggestedSettings): The suggestion drawn on top.
        path (str | Path, optional): PNG to write (parent folders are made).
        bins_per_octave (int): Histogram bins per factor 2 of size.

    Returns:
        Figure: The figure (no pyplot state is touched; Agg renders it).
    """
    keep = ~stats.crowd
    size = settings.input_size
    factors = size / stats.object_long_sides[keep].astype(np.float64)
    box_sizes = stats.box_scales[keep] * factors
    mask_sizes = stats.sqrt_areas[keep] * factors
    limit = settings.size_choice.min_object_px
    smallest = max(0.5, min(float(mask_sizes.min(initial=limit)), limit) / 1.5)
    largest = max(float(box_sizes.max(initial=size)), size) * 1.2
    octaves = math.log2(largest / smallest)
    edges = smallest * 2 ** np.linspace(0, octaves, int(math.ceil(octaves * bins_per_octave)) + 1)

    figure = Figure(figsize=(9, 4.8), dpi=110)
    axes = figure.add_subplot()
    axes.set_xscale("log")
    axes.set_xlim(smallest, largest)
    counts, _ = np.histogram(box_sizes, edges)
    axes.hist(box_sizes, edges, color="#555555", alpha=0.55, label="sqrt(w*h) of the box")
    mask_counts, _ = np.histogram(mask_sizes, edges)
    axes.stairs(mask_counts, edges, color="black", linewidth=1.2, label="sqrt(area) of the mask")
    top = max(int(counts.max(initial=0)), int(mask_counts.max(initial=0)), 1) * 1.6
    axes.set_ylim(0, top)
    _draw_levels(axes, settings, smallest, largest, top)
    axes.axvline(
        limit,
        color="crimson",
        linestyle="--",
        linewidth=1.2,
        label=f"{limit:g} px: 2 mask-feature pixels",
    )
    ticks = [2**k for k in range(0, 16) if smallest <= 2**k <= largest]
    axes.set_xticks(ticks, [str(t) for t in ticks])
    axes.xaxis.set_minor_locator(NullLocator())
    name = Path(stats.split_dir).name or "data"
    axes.set_title(
        f"{name}: {int(keep.sum())} objects in {stats.num_images} images, "
        f"resized to {size} px on the long side",
        fontsize=10,
    )
    axes.set_xlabel("object size at the model input (px, log scale)")
    axes.set_ylabel("objects")
    axes.legend(loc="center right", fontsize=8, framealpha=0.9)
    figure.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(str(path))
    return figure


def _draw_levels(axes, settings: SuggestedSettings, left: float, right: float, top: float) -> None:
    """Shade the sizes each level owns and label it with its range, grid and share."""
    base = settings.base_size
    for level, (bounds, grid) in enumerate(zip(settings.scale_ranges, settings.num_grids)):
        low = left if level == 0 else base * 2**level / math.sqrt(2)
        high = right if level == settings.num_levels - 1 else base * 2**level * math.sqrt(2)
        colour = _LEVEL_COLOURS[level % len(_LEVEL_COLOURS)]
        axes.axvspan(low, high, color=colour, alpha=0.14, linewidth=0)
        centre = math.sqrt(max(low, left) * min(high, right))  # middle of the visible span
        axes.text(
            centre,
            top * 0.84,
            f"level {level} (stride {settings.strides[level]})\n"
            f"range {bounds[0]}-{bounds[1]} px\ngrid {grid}\n"
            f"{settings.level_shares[level]:.0%} of objects",
            ha="center",
            va="center",
            fontsize=8,
            color=colour,
            fontweight="bold",
            bbox=dict(facecolor="white", alpha=0.8, edgecolor="none", pad=2),
            zorder=5,
        )
