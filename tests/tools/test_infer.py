"""``tools/infer.py`` end to end (subprocess) on demo images, with a checkpoint trained here."""

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
VAL_IMAGES = REPO / "data" / "demo" / "val" / "images"
# The barely trained model scores every candidate low: keep them all, at most 8 per image.
KEEP_ALL = ["--score-thr", "0", "--filter-thr", "0", "--max-instances", "8", "--no-progress"]


@pytest.fixture(scope="module")
def checkpoint(tiny_checkpoint: Path) -> Path:
    """One training iteration of the demo config (tests/conftest.py)."""
    return tiny_checkpoint


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )


def infer(checkpoint: Path, *args: str) -> subprocess.CompletedProcess:
    return run("tools/infer.py", str(DEMO_CONFIG), str(checkpoint), *args)


def read_csv(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_three_images_every_output(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pattern = str(VAL_IMAGES / "val_000[0-2].jpg")
    options = ["--crops", "--polygons", "--pixel-size", "0.5", "--overlay-scale", "0.5"]
    result = infer(checkpoint, pattern, "--out-dir", str(out), *KEEP_ALL, *options)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "segmented 3 image(s)" in result.stdout
    rows = read_csv(out / "measurements.csv")
    assert rows, "the kept candidates give objects"
    results = json.loads((out / "coco_results.json").read_text())
    assert len(results) == len(rows)
    assert len({r["id"] for r in results}) == len(results)
    for index, name in enumerate(["val_0000", "val_0001", "val_0002"]):
        label_image = cv2.imread(str(out / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        assert label_image.dtype == np.uint16 and label_image.shape == (256, 256)
        image_rows = [row for row in rows if row["image"] == f"{name}.jpg"]
        ids = sorted(int(row["id"]) for row in image_rows)
        assert ids == list(range(1, len(ids) + 1))
        assert sorted(set(np.unique(label_image).tolist()) - {0}) == ids
        for row in image_rows:  # areas and boxes in the CSV are those of the PNG's labels
            ys, xs = np.nonzero(label_image == int(row["id"]))
            assert int(row["area"]) == len(ys)
            assert [int(row[f"bbox_{k}"]) for k in ("x0", "y0", "x1", "y1")] == [
                xs.min(),
                ys.min(),
                xs.max() + 1,
                ys.max() + 1,
            ]
            assert float(row["area_mm2"]) == pytest.approx(len(ys) * 0.25)
            crop = cv2.imread(str(out / "crops" / row["crop"]))
            assert crop.shape[:2] == (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
        overlay = cv2.imread(str(out / "overlays" / f"{name}.png"))
        assert overlay.shape == (128, 128, 3)
        image_results = [r for r in results if r["image_id"] == index + 1]
        assert len(image_results) == len(image_rows)
    coco = COCO(str(out / "coco_images.json"))
    predictions = coco.loadRes(str(out / "coco_results.json"))
    assert [image["file_name"] for image in coco.dataset["images"]] == [
        "val_0000.jpg",
        "val_0001.jpg",
        "val_0002.jpg",
    ]
    assert len(predictions.getAnnIds()) == len(rows)
    first = predictions.loadAnns(predictions.getAnnIds(imgIds=[1]))[0]
    mask = predictions.annToMask(first)
    label_image = cv2.imread(str(out / "labels" / "val_0000.png"), cv2.IMREAD_UNCHANGED)
    assert any(np.array_equal(mask, label_image == label) for label in range(1, 9))
    polygons = COCO(str(out / "coco_polygons.json"))
    assert len(polygons.getAnnIds()) == len(rows)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exit_status"] == 0 and sum(summary["objects_per_class"].values()) == len(rows)


def test_bad_inputs_are_skipped_and_named(checkpoint: Path, tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    bgr = cv2.imread(str(VAL_IMAGES / "val_0003.jpg"))
    bgr[0, 0] = 255  # the 16-bit copy's maximum, 65535, then scales back to 255
    cv2.imwrite(str(folder / "a_plain.png"), bgr)
    cv2.imwrite(str(folder / "b_sixteen.png"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "c_grey.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(folder / "d_rgba.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
    (folder / "e_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    (folder / "notes.txt").write_text("not an image: not listed")
    out = tmp_path / "out"
    options = ["--drop-edge", "--edge-margin", "2"]
    result = infer(checkpoint, str(folder), "--out-dir", str(out), *KEEP_ALL, *options)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "segmented 4 image(s)" in result.stdout
    assert "FAILED 1 input(s)" in result.stdout and "e_corrupt.png" in result.stdout
    assert "cannot be decoded" in result.stdout
    written = sorted(path.stem for path in (out / "labels").iterdir())
    assert written == ["a_plain", "b_sixteen", "c_grey", "d_rgba"]
    # 16-bit (x 257) reads back as the same 8-bit picture: the same objects.
    plain = cv2.imread(str(out / "labels" / "a_plain.png"), cv2.IMREAD_UNCHANGED)
    sixteen = cv2.imread(str(out / "labels" / "b_sixteen.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(plain, sixteen)
    rows = read_csv(out / "measurements.csv")
    assert all(row["touches_edge"] == "False" for row in rows)
    for row in rows:  # dropped: nothing within 2 px of an edge
        assert int(row["bbox_x0"]) > 2 and int(row["bbox_y0"]) > 2
        assert int(row["bbox_x1"]) < 254 and int(row["bbox_y1"]) < 254
    summary = json.loads((out / "summary.json").read_text())
    assert [item["input"] for item in summary["failed"]] == [str(folder / "e_corrupt.png")]


def test_usage_errors_exit_2(checkpoint: Path, tmp_path: Path) -> None:
    result = infer(checkpoint, str(tmp_path / "nothing*.png"), "--out-dir", str(tmp_path))
    assert result.returncode == 2 and "no input image found" in result.stderr
    result = run(
        "tools/infer.py", str(DEMO_CONFIG), str(tmp_path / "missing.pth"), str(VAL_IMAGES),
        "--out-dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2 and "missing.pth does not exist" in result.stderr
    result = infer(
        checkpoint, str(VAL_IMAGES), "--out-dir", str(tmp_path), "--series", "--tile", "64"
    )
    assert result.returncode == 2 and "cannot be combined" in result.stderr


def test_series_of_frames_cut_from_one_image(checkpoint: Path, tmp_path: Path) -> None:
    bgr = cv2.imread(str(VAL_IMAGES / "val_0004.jpg"))
    frames = tmp_path / "frames"
    frames.mkdir()
    for index, top in enumerate((0, 96, 192)):
        cv2.imwrite(str(frames / f"frame_{index}.png"), bgr[top : top + 96])
    out = tmp_path / "out"
    result = infer(checkpoint, str(frames), "--out-dir", str(out), "--series", *KEEP_ALL)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "segmented 3 image(s)" in result.stdout
    rows = read_csv(out / "measurements.csv")
    assert rows and {"frame", "source", "complete"} <= set(rows[0])
    assert {row["image"] for row in rows} <= {"frame_0.png", "frame_1.png", "frame_2.png"}
    assert [int(row["id"]) for row in rows] == list(range(1, len(rows) + 1))
    for row in rows:  # belt coordinates: 256 wide, 96 + 96 + 64 rows
        assert 0 <= int(row["bbox_y0"]) < int(row["bbox_y1"]) <= 256
    seams = sorted(path.name for path in (out / "seams").iterdir())
    # Large junk masks reach the frames' cut edges: the seams are re-predicted and saved.
    assert seams and set(seams) <= {"OVERLAP_0-1.png", "OVERLAP_1-2.png"}
    assert cv2.imread(str(out / "seams" / seams[0])).shape[1] == 256


def test_tiles(checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    image = str(VAL_IMAGES / "val_0006.jpg")
    result = infer(
        checkpoint, image, "--out-dir", str(out), "--tile", "128", "--overlap", "32", *KEEP_ALL
    )
    assert result.returncode == 0, result.stderr[-3000:]
    label_image = cv2.imread(str(out / "labels" / "val_0006.png"), cv2.IMREAD_UNCHANGED)
    assert label_image.shape == (256, 256)
    rows = read_csv(out / "measurements.csv")
    assert sorted(int(row["id"]) for row in rows) == sorted(set(np.unique(label_image)) - {0})
