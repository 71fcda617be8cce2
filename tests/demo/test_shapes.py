"""Tests of solov2_plugin.demo.shapes: geometry, rasterization, pasting."""

import math

import numpy as np
import pytest

from solov2_plugin.demo.shapes import CLASSES, Shape, log_uniform, paste, rasterize, sample_shape


def box_shape():
    """A 4 x 2 px rectangle (u across 4 px, v across 2 px)."""
    return Shape("block", lambda u, v: (np.abs(u) <= 2) & (np.abs(v) <= 1), 3.0, 1.5)


def test_rasterize_a_pixel_aligned_rectangle():
    x0, y0, coverage = rasterize(box_shape(), (10.0, 10.0), 0.0)
    # Box: centre -/+ (radius + 1), floored / ceiled: [6, 14) on both axes.
    assert (x0, y0) == (6, 6) and coverage.shape == (8, 8)
    expected = np.zeros((8, 8), np.float32)
    expected[9 - 6 : 11 - 6, 8 - 6 : 12 - 6] = 1.0  # rows 9..10, columns 8..11
    np.testing.assert_array_equal(coverage, expected)


def test_rasterize_rotates_about_the_centre():
    _, _, coverage = rasterize(box_shape(), (10.0, 10.0), math.pi / 2)
    expected = np.zeros((8, 8), np.float32)
    expected[8 - 6 : 12 - 6, 9 - 6 : 11 - 6] = 1.0  # rows 8..11, columns 9..10
    np.testing.assert_array_equal(coverage, expected)


def test_rasterize_gives_partial_coverage_on_half_pixels():
    # Centre 10.5: the rectangle spans x in [8.5, 12.5], so columns 8 and 12 are half covered.
    _, _, coverage = rasterize(box_shape(), (10.5, 10.0), 0.0)
    assert coverage.sum() == pytest.approx(8.0)
    assert sorted(set(coverage[3].tolist())) == [0.0, 0.5, 1.0]


def test_paste_crops_what_lies_outside():
    coverage = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    full = paste(coverage, -1, 3, 4)
    expected = np.zeros((4, 4), np.float32)
    expected[3, 0] = 2.0
    np.testing.assert_array_equal(full, expected)
    np.testing.assert_array_equal(paste(coverage, 4, 0, 4), np.zeros((4, 4), np.float32))
    np.testing.assert_array_equal(paste(coverage, 1, 1, 4)[1:3, 1:3], coverage)


def test_sampled_shapes_are_sized_by_extent():
    rng = np.random.default_rng(0)
    disc = sample_shape(rng, "disc", 20.0, 1.0)
    assert disc.radius == 10.0 and 9.0 <= disc.mean_radius <= 10.0
    assert disc.inside(np.array([9.9]), np.array([0.0]))[0]
    assert not disc.inside(np.array([10.1]), np.array([0.0]))[0]
    for cls in CLASSES:
        shape = sample_shape(rng, cls, 30.0, 1.0)
        assert shape.cls == cls
        _, _, coverage = rasterize(shape, (50.0, 50.0), 0.3)
        # The whole shape lies inside its box: the border rows and columns are empty.
        assert coverage.sum() > 20
        assert coverage[0].sum() == coverage[-1].sum() == 0
        assert coverage[:, 0].sum() == coverage[:, -1].sum() == 0


def test_unknown_class_is_refused():
    with pytest.raises(ValueError, match="unknown demo class 'star'"):
        sample_shape(np.random.default_rng(0), "star", 10.0, 1.0)


def test_log_uniform_stays_in_range():
    rng = np.random.default_rng(0)
    values = np.array([log_uniform(rng, 2.0, 8.0) for _ in range(2000)])
    assert values.min() >= 2.0 and values.max() <= 8.0
    # Log-uniform: half the values lie below the geometric mean 4.
    assert abs(np.mean(values < 4.0) - 0.5) < 0.05
