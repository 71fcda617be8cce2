"""The one table of label-map formats gives the documented depths, limits and defaults."""

import numpy as np
import pytest

from solov2_plugin.datasets.label_formats import (
    LABEL_EXTENSIONS,
    default_label_extension,
    describe_label_formats,
    label_depth,
)


def test_table_holds_the_documented_formats():
    assert LABEL_EXTENSIONS == (".png", ".bmp", ".tif", ".tiff")
    assert describe_label_formats() == "PNG (8 or 16 bits), BMP (8 bits) or TIFF (32 bits)"


@pytest.mark.parametrize(
    "ext, highest, bits, dtype",
    [
        (".png", 255, None, np.uint8),
        (".png", 256, None, np.uint16),
        (".png", 7, 16, np.uint16),
        (".bmp", 255, None, np.uint8),
        (".TIF", 7, None, np.int32),
        (".tiff", 2**31 - 1, 32, np.int32),
    ],
)
def test_depth_is_the_fewest_bits_holding_the_ids(ext, highest, bits, dtype):
    assert label_depth(ext, highest, bits).dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "ext, highest, bits, message",
    [
        (".bmp", 256, None, "stores IDs up to 255"),
        (".png", 65536, None, "stores IDs up to 65535"),
        (".png", 300, 8, "label_bits=8 cannot hold ID 300"),
        (".png", 7, 32, "label_bits=32 cannot hold"),
        (".jpg", 7, None, "lossless"),
    ],
)
def test_depths_that_lose_ids_are_refused(ext, highest, bits, message):
    with pytest.raises(ValueError, match=message):
        label_depth(ext, highest, bits)


def test_default_extension_is_the_first_format_holding_the_ids():
    assert [default_label_extension(i) for i in (0, 65535, 65536)] == [".png", ".png", ".tif"]
    assert default_label_extension(7, bits=32) == ".tif"
    with pytest.raises(ValueError, match="label_bits=8 cannot hold ID 300"):
        default_label_extension(300, bits=8)
