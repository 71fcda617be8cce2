"""The printed report, line by line, for synthetic statistics with every kind of note."""

from solov2_plugin.analysis import stats_from_objects, suggest_settings
from solov2_plugin.analysis.report import report_lines


def test_report_lines():
    # 3 images of 448 x 448 and one of 400 x 300 (scaled by 448 / 400 = 1.12), ten objects
    # each, all at the same place (every centre cell is shared): 30 of sqrt(area) 17.3 and box
    # 20 x 10 (scale 14.1), 10 twice that size; the last object is a crowd.
    sides = [20] * 30 + [40] * 10
    stats = stats_from_objects(
        [(448, 448)] * 3 + [(400, 300)],
        [i // 10 for i in range(40)],
        [s * s * 0.75 for s in sides],
        [(0, 0, s, s / 2) for s in sides],
        crowd=[False] * 39 + [True],
        class_counts={"cell": 40},
        split_dir="/data/cells/train",
    )
    stats.skipped.append("x.json: bad")
    lines = report_lines(stats, suggest_settings(stats), 640)
    assert lines == [
        "split: /data/cells/train",
        "images: 4 (0 without objects); long side px: min 400, median 448, max 448",
        "objects: 40 (per image: min 10, median 10, max 10)",
        "objects per class: cell 40",
        "object sizes, original px:",
        "  sqrt(area)       p5 17.3, median 17.3, p95 34.6",
        "  sqrt(w*h) of box p5 14.1, median 14.1, p95 28.3",
        "  box short side   p5 10.0, median 10.0, p95 20.0",
        "input size: 448 px on the long side (native 448 = median long side to a multiple of 32; "
        "--max-size 640; the 5th percentile of sqrt(area) needs >= 224 px to reach 8 px)",
        "object sizes at the input, px:",
        "  sqrt(area)       p5 17.3, median 17.3, p95 38.8",
        "  sqrt(w*h) of box p5 14.1, median 14.1, p95 31.7",
        "levels (centred on 16 * 2**k px, grid = 2 * 448 / centre, even, 4..40):",
        "  level  stride  range px  grid  owns   in range  centre collisions",
        "  0      4       1-32      40    76.9%  39        100.0%",
        "  1      8       16-448    28    23.1%  9         100.0%",
        "note: 1 crowd object(s) left out of the level statistics.",
        "note: level 0's grid is capped at 40 (the rule gives 56): its typical object spans 1.4 "
        "cells instead of 2.",
        "note: 1 problem(s) left samples out (first: x.json: bad); run tools/check_dataset.py on "
        "the split.",
    ]
