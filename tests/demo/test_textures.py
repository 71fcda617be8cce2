"""Tests of solov2_plugin.demo.textures: HSV colours, smooth noise, backgrounds, textures."""

import numpy as np
import pytest

from solov2_plugin.demo.textures import background, hsv_to_rgb, object_texture, smooth_noise


@pytest.mark.parametrize(
    ("hsv", "rgb"),
    [
        ((0.0, 1.0, 1.0), (255.0, 0.0, 0.0)),
        ((360.0, 1.0, 1.0), (255.0, 0.0, 0.0)),
        ((120.0, 1.0, 1.0), (0.0, 255.0, 0.0)),
        ((240.0, 1.0, 1.0), (0.0, 0.0, 255.0)),
        ((30.0, 1.0, 1.0), (255.0, 127.5, 0.0)),
        ((300.0, 1.0, 0.5), (127.5, 0.0, 127.5)),
        ((200.0, 0.0, 0.5), (127.5, 127.5, 127.5)),
    ],
)
def test_hsv_to_rgb(hsv, rgb):
    out = hsv_to_rgb(*(np.float32(value) for value in hsv))
    assert out.shape == (3,) and out.dtype == np.float32
    np.testing.assert_allclose(out, rgb, atol=1e-4)


def test_hsv_to_rgb_is_elementwise():
    hue = np.array([[0.0, 120.0], [240.0, 60.0]], np.float32)
    out = hsv_to_rgb(hue, np.ones_like(hue), np.ones_like(hue))
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[1, 1], (255.0, 255.0, 0.0), atol=1e-4)


def test_smooth_noise_is_smooth_and_seeded():
    noise = smooth_noise(np.random.default_rng(0), 40, 60, 10.0)
    assert noise.shape == (40, 60) and noise.dtype == np.float64
    np.testing.assert_array_equal(noise, smooth_noise(np.random.default_rng(0), 40, 60, 10.0))
    # Bilinear over a 10 px grid: neighbours differ by at most a tenth of the grid's range.
    grid_range = 2 * np.abs(noise).max()
    assert np.abs(np.diff(noise, axis=1)).max() <= grid_range / 10 + 1e-5
    assert 0.2 < noise.std() < 2.0


def test_background_and_texture_shapes():
    rng = np.random.default_rng(1)
    image = background(rng, 64)
    assert image.shape == (64, 64, 3) and image.dtype == np.float64
    assert 0.0 < image.mean() < 255.0
    colour = object_texture(rng, "disc", 64, (32.0, 32.0), 20.0)
    assert colour.shape == (64, 64, 3)
    # Discs are red-hued: red dominates green and blue on average.
    mean = colour.reshape(-1, 3).mean(0)
    assert mean[0] > mean[1] and mean[0] > mean[2]
