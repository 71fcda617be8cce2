"""Regressions found by fuzzing the seed readers (tests/fuzz): each input once raised an
unrelated exception (DecompressionBombError, cv2.error, OverflowError, RecursionError),
silently dropped an annotation entry, or refused a readable file."""

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from seed_samples import seed_dataset

from solov2_plugin.datasets import LoadSeedImage, LoadSeedInstanceMasks, SeedFormatError
from solov2_plugin.datasets.seed_readers import (
    decode_image_bgr,
    read_annotation,
    read_image_info,
    read_label_map,
)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """An 8-bit RGB PNG header claiming ``width`` x ``height`` with almost no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("width, height", [(100000, 100000), (23000, 23000), (2**31 - 1, 1)])
def test_huge_png_headers_are_refused_by_every_reader(tmp_path: Path, width, height) -> None:
    """PIL raised DecompressionBombError (not a SeedFormatError); OpenCV raised cv2.error
    above 2**30 pixels and allocated the image below it before finding no data."""
    path = tmp_path / "huge.png"
    path.write_bytes(png_claiming(width, height))
    readers = [
        lambda: read_image_info(path),
        lambda: read_image_info(path, verify=True),
        lambda: read_label_map(path),
        lambda: decode_image_bgr(path.read_bytes(), path),
    ]
    for read in readers:
        with pytest.raises(SeedFormatError, match="claims too many pixels") as info:
            read()
        assert info.value.path == str(path) and str(path) in str(info.value)
        assert "tiles" in info.value.fix


def test_huge_image_stops_the_dataset_naming_it(seed_split) -> None:
    root = seed_split({"a": dict(ids=(3,))})
    image = next((root / "images").iterdir())
    image.write_bytes(png_claiming(100000, 100000))
    with pytest.raises(SeedFormatError, match="claims too many pixels") as info:
        seed_dataset(root)
    assert info.value.path == str(image)


def test_one_bit_label_map_holds_ids_0_and_1(tmp_path: Path, seed_split) -> None:
    """A 1-bit PNG (PIL mode '1') was refused as "a '1' image", though it is an integer map."""
    mask = np.zeros((64, 96), bool)
    mask[5:20, 7:30] = True
    path = tmp_path / "bits.png"
    Image.fromarray(mask).save(path)
    assert Image.open(path).mode == "1"
    label_map = read_label_map(path)
    assert label_map.dtype == np.uint8
    np.testing.assert_array_equal(label_map, mask.astype(np.uint8))

    root = seed_split({"a": dict(ids=(1,))})
    Image.fromarray(mask).save(root / "labels" / "a.png")
    (root / "annotations" / "a.json").write_text(json.dumps({"1": {"class": "disc"}}))
    dataset = seed_dataset(root, pipeline=[LoadSeedImage(), LoadSeedInstanceMasks()])
    results = dataset[0]
    np.testing.assert_array_equal(results["gt_masks"].masks, mask[None].astype(np.uint8))
    assert results["gt_bboxes"].tensor.tolist() == [[7.0, 5.0, 30.0, 20.0]]


@pytest.mark.parametrize(
    "text, message",
    [
        # OverflowError: math.isfinite(10**400)
        ('{"1": {"class": "a", "bbox": [0, 0, ' + "9" * 400 + ", 1]}}", "not 4 numbers"),
        # RecursionError in json.loads
        ("[" * 100000 + "]" * 100000, "nests arrays or objects too deeply"),
        # json.loads kept the last of two entries of ID 1: the first was dropped silently
        ('{"1": {"class": "a"}, "1": {"class": "b"}}', 'repeats the key "1"'),
        ('{"1": {"class": "a"}, " 1": {"class": "b"}}', "repeats label ID 1"),
        ('{"1": {"class": "a", "class": "b"}}', 'repeats the key "class"'),
    ],
)
def test_annotations_that_raised_or_dropped_entries_name_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "a.json"
    path.write_text(text)
    with pytest.raises(SeedFormatError, match=message) as info:
        read_annotation(path)
    assert info.value.path == str(path)
    assert len(str(info.value)) < 400, "long values are cut in the message"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    """Windows editors write a BOM; it was refused as "Unexpected UTF-8 BOM"."""
    path = tmp_path / "a.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"4": {"class": "crème"}}).encode())
    assert read_annotation(path) == {4: {"class": "crème", "bbox": None, "iscrowd": False}}


def test_opencv_errors_become_seed_format_errors(tmp_path: Path) -> None:
    """A format PIL does not know (Radiance HDR) whose header claims 10**10 pixels gave
    cv2.error from OpenCV's size assertion."""
    path = tmp_path / "huge.hdr"
    path.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 100000 +X 100000\n" + bytes(16))
    with pytest.raises(SeedFormatError, match="CV_IO_MAX_IMAGE_PIXELS") as error:
        decode_image_bgr(path.read_bytes(), path)
    assert error.value.path == str(path)
    assert "OpenCV(" not in str(error.value), "OpenCV's source location is left out"
