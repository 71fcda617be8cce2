"""Reading label maps, images and annotations: refusals name the file and the fix."""

import cv2
import numpy as np
import pytest
from PIL import Image

from solov2_plugin.datasets.errors import SeedFormatError
from solov2_plugin.datasets.seed_readers import (
    ImageInfo,
    decode_image_bgr,
    read_annotation,
    read_image_info,
    read_label_map,
)


def test_lossy_label_map_is_refused_before_decoding(tmp_path):
    path = tmp_path / "x.jpg"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(path)
    with pytest.raises(SeedFormatError, match="lossy") as info:
        read_label_map(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "array, mode_word",
    [
        (np.zeros((4, 4, 3), np.uint8), "'RGB'"),
        (np.zeros((4, 4), np.float32), "float"),
    ],
)
def test_rgb_and_float_label_maps_are_refused(tmp_path, array, mode_word):
    path = tmp_path / "x.tif"
    Image.fromarray(array).save(path)
    with pytest.raises(SeedFormatError, match=mode_word) as info:
        read_label_map(path)
    assert str(path) in str(info.value) and "single-channel integer" in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"1": {"class": "a", "bbox": [0, 0, 1, 1]', "not valid JSON"),
        ("[1, 2]", "JSON list, not an object"),
        ('{"x": {"class": "a"}}', "positive integer label ID"),
        ('{"0": {"class": "a"}}', "positive integer label ID"),
        ('{"1": ["a"]}', "is not an object"),
        ('{"1": {"bbox": [0, 0, 1, 1]}}', 'no "class"'),
        ('{"1": {"class": ""}}', 'empty "class"'),
        ('{"1": {"class": ["disc"]}}', "got the list \\['disc'\\]"),
        ('{"1": {"class": "a", "bbox": [0, 0, 1]}}', "not 4 numbers"),
        ('{"1": {"class": "a", "iscrowd": 2}}', "not 0 or 1"),
    ],
)
def test_malformed_annotations_name_the_file(tmp_path, text, message):
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(SeedFormatError, match=message) as info:
        read_annotation(path)
    assert str(info.value).startswith(str(path))


def test_missing_file_is_a_seed_format_error(tmp_path):
    with pytest.raises(SeedFormatError, match="does not exist"):
        read_annotation(tmp_path / "none.json")


def test_integer_class_is_named_as_such_with_the_known_names(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"1": {"class": "disc"}, "2": {"class": 2}}')
    with pytest.raises(SeedFormatError) as info:
        read_annotation(path)
    assert info.value.problem == (
        'Entry "2": "class" must be a class name string, got the integer 2 '
        "(use the name, e.g. 'cat')."
    )
    with pytest.raises(SeedFormatError) as info:
        read_annotation(path, classes=("disc", "block"))
    assert "got the integer 2 (use the name, one of 'disc', 'block')" in str(info.value)


def _write_png16(path, array):
    assert cv2.imwrite(str(path), array)
    return path


@pytest.mark.parametrize(
    "array, mode, bits, grey, kind",
    [
        (np.zeros((5, 7, 3), np.uint8), "RGB", 8, False, "8-bit RGB"),
        (np.zeros((5, 7, 4), np.uint8), "RGBA", 8, False, "8-bit RGBA"),
        (np.zeros((5, 7), np.uint8), "L", 8, True, "8-bit greyscale"),
        (np.full((5, 7), 1728, np.uint16), "I;16", 16, True, "16-bit greyscale"),
        (np.full((5, 7, 3), 1728, np.uint16), "RGB", 16, False, "16-bit RGB"),
    ],
)
def test_image_info_reports_depth_and_channels(tmp_path, array, mode, bits, grey, kind):
    path = _write_png16(tmp_path / "x.png", array)
    info = read_image_info(path)
    assert info == ImageInfo(5, 7, mode, bits, grey)
    assert info.describe() == kind


def test_16_bit_images_scale_by_their_maximum_or_a_fixed_range(tmp_path):
    grey = np.array([[0, 864, 1728], [1, 7, 100]], np.uint16)
    path = _write_png16(tmp_path / "g.png", grey)
    image = decode_image_bgr(path.read_bytes(), path)
    expected = np.array([[0, 128, 255], [0, 1, 15]], np.uint8)  # floor(v * 255 / 1728 + 0.5)
    assert image.dtype == np.uint8 and image.shape == (2, 3, 3)
    assert all(np.array_equal(image[..., c], expected) for c in range(3))
    fixed = decode_image_bgr(path.read_bytes(), path, max_value=4095)
    assert fixed[..., 0].tolist() == [[0, 54, 108], [0, 0, 6]]  # floor(v * 255 / 4095 + 0.5)
    black = _write_png16(tmp_path / "b.png", np.zeros((2, 2), np.uint16))
    assert not decode_image_bgr(black.read_bytes(), black).any()


def test_16_bit_colour_keeps_its_channel_order(tmp_path):
    bgr = np.zeros((2, 2, 3), np.uint16)
    bgr[..., 0], bgr[..., 1], bgr[..., 2] = 65535, 257, 0
    path = _write_png16(tmp_path / "c.png", bgr)
    image = decode_image_bgr(path.read_bytes(), path, max_value=65535)
    assert image[0, 0].tolist() == [255, 1, 0]


def test_undecodable_and_float_images_name_the_file(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"not an image")
    with pytest.raises(SeedFormatError, match="cannot be decoded") as info:
        decode_image_bgr(path.read_bytes(), path)
    assert str(info.value).startswith(str(path))
    tif = tmp_path / "f.tif"
    assert cv2.imwrite(str(tif), np.ones((3, 3, 3), np.float32))
    with pytest.raises(SeedFormatError, match="float32 values") as info:
        decode_image_bgr(tif.read_bytes(), tif)
    assert str(info.value).startswith(str(tif))
