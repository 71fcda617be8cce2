"""suggest_settings on synthetic sizes whose answer is computed by hand, and on the demo data.

Synthetic objects are squares: ``sqrt(area)`` equals ``sqrt(w * h)`` of the box.
"""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from solov2_plugin.analysis import analyze_split, stats_from_objects, suggest_settings
from solov2_plugin.analysis.level_settings import (
    choose_grids,
    detection_limits,
    level_of,
    level_ranges,
    nice_base,
    round_even,
    round_to_multiple,
)

REPO = Path(__file__).resolve().parents[2]


def squares(image_side, sides, per_image=10, crowd=None):
    """Square objects of the given sides, ``per_image`` to an image, laid out on a diagonal."""
    sides = np.asarray(sides, np.float64)
    num_images = int(np.ceil(len(sides) / per_image))
    owners = np.arange(len(sides)) // per_image
    starts = (np.arange(len(sides)) % per_image) * (image_side / per_image)
    boxes = np.stack([starts, starts, starts + sides, starts + sides], axis=1)
    return stats_from_objects(
        [(image_side, image_side)] * num_images, owners, sides**2, boxes, crowd=crowd
    )


def test_rounding_helpers():
    # Nearest multiple, halves up: 400 = 12.5 * 32 -> 416.
    assert [round_to_multiple(v, 32) for v in (399, 400, 416, 430, 450)] == [
        384,
        416,
        416,
        416,
        448,
    ]
    assert round_to_multiple(179.2, 32, "up") == 192
    assert round_to_multiple(192, 32, "up") == 192
    assert round_to_multiple(650, 32, "down") == 640
    assert [round_even(v) for v in (37.33, 18.67, 17.07, 8.5, 9.0)] == [38, 18, 18, 8, 10]
    assert [nice_base(v) for v in (14.6, 20, 40, 3, 11, 22.6, 5.66, 16)] == [
        16,
        24,
        48,
        4,
        12,
        24,
        6,
        16,
    ]


def test_level_of_owns_sizes_within_sqrt2_of_the_centre():
    sizes = np.array([1, 11.3, 11.4, 16, 22.6, 22.7, 45, 46, 1000])
    # base 16: centres 16, 32, 64; boundaries 16 * sqrt(2) = 22.63 and 45.25.
    assert level_of(sizes, 16, 3).tolist() == [0, 0, 0, 0, 0, 1, 1, 2, 2]
    assert level_ranges(256, 16, 3) == ((1, 32), (16, 64), (32, 256))
    assert level_ranges(100, 16, 3) == ((1, 32), (16, 64), (32, 128))
    assert choose_grids(256, 16, 3) == (32, 16, 8)
    # Caps: 2 * 640 / 8 = 160, 80 and 40 -> 40; then 20 and 10.
    assert choose_grids(640, 8, 5) == (40, 40, 40, 20, 10)
    assert choose_grids(128, 32, 3, cells_per_object=1) == (4, 4, 4)


def test_all_objects_20_px_in_448_px_images():
    # S: native 448 (<= 640); the 5th percentile 20 / 448 needs 8 * 448 / 20 = 179.2 -> 192 px.
    # Levels: lo = hi = 20, 0 octaves -> 1 level centred on 20 -> b = nice(20) = 24, then a
    # second level on top (at least 2). Grids: 2 * 448 / 24 = 37.3 -> 38; 2 * 448 / 48 -> 18.
    settings = suggest_settings(squares(448, [20] * 40))
    assert settings.input_size == 448
    assert settings.size_choice.native == 448
    assert settings.size_choice.small_object_floor == 192
    assert settings.size_choice.small_object_px == pytest.approx(20)
    assert settings.base_size == 24
    assert settings.strides == (4, 8)
    assert settings.scale_ranges == ((1, 48), (24, 448))
    assert settings.num_grids == (38, 18)
    assert settings.level_shares == (1.0, 0.0)
    assert settings.level_counts == (40, 0)
    assert any("level 1 owns 0.0%" in note for note in settings.notes)


def test_large_images_are_capped_at_max_size():
    # 1024 px images, 64 px objects: native 1024, budget 640; the floor 8 * 1024 / 64 = 128 does
    # not bind. At 640 px the objects are 40 px: b = nice(40) = 48, ranges (1, 96), (48, 640).
    settings = suggest_settings(squares(1024, [64] * 20))
    assert settings.input_size == 640
    assert settings.size_choice.budget == 640
    assert settings.scale_ranges == ((1, 96), (48, 640))
    assert settings.num_grids == (26, 14)  # 2 * 640 / 48 = 26.7, 2 * 640 / 96 = 13.3
    assert settings.notes == (
        "level 1 owns 0.0% of the objects; kept (at least 2 levels, or a level between used ones).",
    )


def test_small_objects_raise_the_input_above_max_size():
    # 10 px objects in 1024 px images need 8 * 1024 / 10 = 819.2 -> 832 px (<= native 1024).
    settings = suggest_settings(squares(1024, [10] * 20), max_size=640)
    assert settings.input_size == 832
    assert settings.size_choice.small_object_px == pytest.approx(10 * 832 / 1024)
    assert "input raised from 640 to 832 px" in settings.notes[0]


def test_objects_too_small_even_at_native_size_are_reported():
    settings = suggest_settings(squares(256, [6] * 20))
    assert settings.input_size == 256  # never upscaled
    assert any("under 8 px" in note for note in settings.notes)


def test_two_sizes_give_two_levels_and_the_grid_cap():
    # Half 16 px, half 64 px in 512 px images: lo 16, hi 64, 2 octaves -> 2 levels centred on
    # 2 ** (5 - 0.5) = 22.6 -> b = 24. Level 0 owns 16 (log2(16/24) = -0.58), level 1 owns 64.
    settings = suggest_settings(squares(512, [16] * 20 + [64] * 20))
    assert settings.input_size == 512
    assert settings.scale_ranges == ((1, 48), (24, 512))
    assert settings.num_grids == (40, 22)  # 2 * 512 / 24 = 42.7 -> capped; 21.3 -> 22
    assert settings.level_shares == (0.5, 0.5)
    assert settings.level_counts == (20, 20)  # 16 px in (1, 48), 64 px in (24, 512)
    assert any("capped at 40" in note for note in settings.notes)


@pytest.mark.parametrize(
    "sides, ranges",
    [
        # 10% at 8 px, 90% at 32 px: b = 12 (2 ** 3.5 = 11.3), shares 10% / 90%; with
        # min_share 0.2 the bottom level goes (b doubles to 24), one level is added on top.
        ([8] * 10 + [32] * 90, ((1, 48), (24, 256))),
        # 90% at 8 px, 10% at 32 px: the top level goes; one is added back on top.
        ([8] * 90 + [32] * 10, ((1, 24), (12, 256))),
    ],
)
def test_end_levels_owning_too_few_objects_are_dropped(sides, ranges):
    settings = suggest_settings(squares(256, sides), min_share=0.2)
    assert settings.scale_ranges == ranges


def test_centre_collisions_count_objects_sharing_a_cell():
    # Three 20 px objects in one 256 px image; grids (24, 12) at b = 24 (2 * 256 / 24 = 21.3 ->
    # 22, then 10.7 -> 10). Cells of level 0 are 256 / 22 = 11.6 px: centres at x = 10, 12
    # (cells 0 and 1) and 60 (cell 5), y = 10 (cell 0).
    boxes = [(0, 0, 20, 20), (2, 0, 22, 20), (50, 0, 70, 20)]
    stats = stats_from_objects([(256, 256)], [0, 0, 0], [400] * 3, boxes)
    settings = suggest_settings(stats)
    assert settings.num_grids == (22, 10)
    assert settings.centre_collisions == (0.0, 0.0)
    boxes[1] = (1, 0, 21, 20)  # centre x = 11 -> cell 0, as the first object's
    settings = suggest_settings(stats_from_objects([(256, 256)], [0, 0, 0], [400] * 3, boxes))
    assert settings.centre_collisions == (pytest.approx(2 / 3), 0.0)


def test_crowd_objects_are_left_out_and_no_object_is_an_error():
    stats = squares(448, [20] * 10 + [200], crowd=[False] * 10 + [True])
    settings = suggest_settings(stats)
    assert settings.level_counts == (10, 0)
    assert any("1 crowd object(s)" in note for note in settings.notes)
    with pytest.raises(ValueError, match="no \\(non-crowd\\) object"):
        suggest_settings(squares(448, [20], crowd=[True]))
    with pytest.raises(ValueError, match="min_levels must be 1..5"):
        suggest_settings(stats, min_levels=6)


def test_demo_split():
    """The demo data: 256 px images, box sizes p5 11.5 and p95 74.3 px (2.7 octaves)."""
    settings = suggest_settings(analyze_split(REPO / "data" / "demo" / "train"))
    assert settings.input_size == 256
    assert settings.base_size == 16  # 2 ** (log2(sqrt(11.5 * 74.3)) - 1) = 14.6 -> 16
    assert settings.strides == (4, 8, 16)
    assert settings.scale_ranges == ((1, 32), (16, 64), (32, 256))
    assert settings.num_grids == (32, 16, 8)
    assert settings.level_counts == (474, 772, 487)
    assert settings.level_shares == pytest.approx((257 / 958, 447 / 958, 254 / 958))
    assert settings.notes == ()


@hypothesis_settings(max_examples=60, deadline=None)
@given(
    image_side=st.integers(64, 3000),
    sides=st.lists(st.floats(1, 400), min_size=1, max_size=60),
    max_size=st.integers(128, 1024),
    min_levels=st.integers(1, 5),
)
def test_every_suggestion_is_consistent(image_side, sides, max_size, min_levels):
    """Any sizes: every object of >= 1 px in some range, grids in 4..40 and non-increasing."""
    sides = [min(s, image_side) for s in sides]
    result = suggest_settings(squares(image_side, sides), max_size, min_levels=min_levels)
    size = result.input_size
    assert size % 32 == 0 and size >= 128
    levels = result.num_levels
    assert max(min_levels, 1) <= levels <= 5
    assert result.strides == (4, 8, 16, 32, 64)[:levels]
    assert len(result.scale_ranges) == len(result.num_grids) == levels
    assert result.scale_ranges[0][0] == 1 and result.scale_ranges[-1][1] >= size
    for (_, high), (next_low, _) in zip(result.scale_ranges, result.scale_ranges[1:]):
        assert next_low <= high  # ranges overlap: no size falls between two levels
    assert all(4 <= g <= 40 for g in result.num_grids)
    assert list(result.num_grids) == sorted(result.num_grids, reverse=True)
    assert sum(result.level_shares) == pytest.approx(1.0)
    scaled = np.asarray(sides) * size / image_side
    scaled = scaled[scaled >= 1]  # under a pixel at the input, a mask is gone anyway
    in_some_range = [any(lo <= s <= hi for lo, hi in result.scale_ranges) for s in scaled]
    assert all(in_some_range)


def test_detection_limits_by_hand():
    # 1.5 x the most objects, rounded up to 50, at least mmdet's 100; candidates twice that,
    # at least 500.
    assert detection_limits(40) == (100, 500)
    assert detection_limits(66) == (100, 500)  # 99 -> 100
    assert detection_limits(67) == (150, 500)  # 100.5 -> 150
    assert detection_limits(195) == (300, 600)  # 292.5 -> 300
    assert detection_limits(400) == (600, 1200)


def test_dense_images_raise_the_detection_cap():
    # 190 objects in one image: mmdet's 100 detections would cap its recall at 53%.
    dense = squares(2048, [10] * 190, per_image=190)
    settings = suggest_settings(dense)
    assert (settings.max_per_img, settings.nms_pre) == (300, 600)
    assert settings.cfg_options()["model.test_cfg.max_per_img"] == 300
    assert settings.cfg_options()["model.test_cfg.nms_pre"] == 600
    assert any("up to 190 objects" in note and "53%" in note for note in settings.notes)
    assert "up to 300 detections an image (600 candidates)" in settings.header_lines()
    sparse = suggest_settings(squares(448, [20] * 40))
    assert (sparse.max_per_img, sparse.nms_pre) == (100, 500)
    assert not any("max_per_img" in note for note in sparse.notes)
    # mmdet's defaults suffice: no keys, so a config's own test settings stay.
    assert sparse.test_options() == {} and "model.test_cfg.nms_pre" not in sparse.cfg_options()
