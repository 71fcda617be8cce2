"""The size histogram: bars, the levels' spans and labels, the 2-mask-pixel line, a PNG."""

import numpy as np
import pytest
from matplotlib.patches import Rectangle, StepPatch
from PIL import Image

from solov2_plugin.analysis import stats_from_objects, suggest_settings
from solov2_plugin.analysis.size_histogram import draw_size_histogram


def test_histogram_draws_the_levels_of_the_suggestion(tmp_path):
    # 448 px images with 20 and 40 px objects: one octave, b = nice(28.3) = 32, two levels.
    sides = [20] * 30 + [40] * 10
    boxes = [(0, 0, s, s) for s in sides]
    owners = [i // 10 for i in range(40)]
    stats = stats_from_objects([(448, 448)] * 4, owners, np.square(sides), boxes)
    stats.split_dir = "/data/cells/train"
    settings = suggest_settings(stats)
    assert settings.scale_ranges == ((1, 64), (32, 448))
    path = tmp_path / "pictures" / "object_sizes.png"
    figure = draw_size_histogram(stats, settings, path)
    axes = figure.axes[0]
    texts = [text.get_text() for text in axes.texts]
    assert texts == [
        f"level 0 (stride 4)\nrange 1-{settings.scale_ranges[0][1]} px\n"
        f"grid {settings.num_grids[0]}\n{settings.level_shares[0]:.0%} of objects",
        f"level 1 (stride 8)\nrange {settings.scale_ranges[1][0]}-448 px\n"
        f"grid {settings.num_grids[1]}\n{settings.level_shares[1]:.0%} of objects",
    ]
    assert axes.get_title() == "train: 40 objects in 4 images, resized to 448 px on the long side"
    # Level 1 owns the sizes from b * sqrt(2) up: its span starts there.
    rectangles = [p for p in axes.patches if isinstance(p, Rectangle)]
    spans = [p for p in rectangles if p.get_height() == 1]
    assert len(spans) == 2
    assert spans[1].get_x() == pytest.approx(32 * np.sqrt(2))
    # The bars: 30 objects of 20 px and 10 of 40 px; the mask line has the same counts.
    bars = sorted(p.get_height() for p in rectangles if p.get_height() not in (0, 1))
    assert bars == [10, 30]
    (stairs,) = [p for p in axes.patches if isinstance(p, StepPatch)]
    assert sorted(stairs.get_data().values[stairs.get_data().values > 0]) == [10, 30]
    assert [line.get_xdata()[0] for line in axes.lines if line.get_linestyle() == "--"] == [8.0]
    with Image.open(path) as image:
        assert image.size == (990, 528)
