"""Measurements of hand-made shapes (disc, rectangles, a 45-degree bar), in pixels and mm."""

import csv
import math

import numpy as np
import pytest

from solov2_plugin.apis.measure import (
    COLUMNS,
    csv_columns,
    measure_instances,
    orientation_degrees,
    write_measurements_csv,
)


def _rectangle(height, width, y0=20, x0=10, size=(50, 60), label=1):
    image = np.zeros(size, np.int32)
    image[y0 : y0 + height, x0 : x0 + width] = label
    return image


def _disc(radius, centre=30, size=61):
    yy, xx = np.mgrid[:size, :size]
    return (((yy - centre) ** 2 + (xx - centre) ** 2) <= radius**2).astype(np.int32)


def test_rectangle_moments_box_and_centroid_are_exact():
    width, height = 30, 10
    (record,) = measure_instances(_rectangle(height, width, label=3))
    assert record["id"] == 3
    assert record["area"] == 300
    assert record["bbox"] == (10, 20, 40, 30)
    assert record["centroid_x"] == pytest.approx(10 + (width - 1) / 2)
    assert record["centroid_y"] == pytest.approx(20 + (height - 1) / 2)
    # Variance of 0..w-1 is (w^2 - 1) / 12; an axis length is 4 standard deviations.
    assert record["major_axis_length"] == pytest.approx(4 * math.sqrt((width**2 - 1) / 12), 1e-9)
    assert record["minor_axis_length"] == pytest.approx(4 * math.sqrt((height**2 - 1) / 12), 1e-9)
    assert record["orientation"] == pytest.approx(0.0)
    assert record["solidity"] == pytest.approx(1.0)
    assert record["max_inscribed_radius"] == pytest.approx(5.0)  # half the 10-pixel height
    assert record["perimeter"] == pytest.approx(2 * (width - 1 + height - 1))
    diagonal = math.hypot(width, height)
    assert math.hypot(width - 1, height - 1) <= record["feret_diameter_max"] <= diagonal
    assert record["equivalent_diameter"] == pytest.approx(2 * math.sqrt(300 / math.pi))
    assert record["touches_edge"] is False
    assert record["class"] is None and record["score"] is None


def test_orientation_convention_vertical_and_diagonals():
    (vertical,) = measure_instances(_rectangle(30, 6))
    assert vertical["orientation"] == pytest.approx(90.0)
    rising = np.zeros((40, 40), np.int32)
    falling = np.zeros((40, 40), np.int32)
    for t in range(25):
        rising[32 - t, 5 + t : 7 + t] = 1  # rises to the right as displayed
        falling[5 + t, 5 + t : 7 + t] = 1
    assert measure_instances(rising)[0]["orientation"] == pytest.approx(45.0, abs=0.5)
    assert measure_instances(falling)[0]["orientation"] == pytest.approx(-45.0, abs=0.5)
    # regionprops' extremes map into (-90, 90]: row axis -> 90, column axis -> 0.
    assert orientation_degrees(0.0) == 90.0
    assert orientation_degrees(math.pi / 2) == 0.0
    assert orientation_degrees(-math.pi / 2) == 0.0


def test_disc_area_and_diameters():
    radius = 20
    (record,) = measure_instances(_disc(radius))
    assert record["area"] == pytest.approx(math.pi * radius**2, rel=0.01)
    assert record["equivalent_diameter"] == pytest.approx(2 * radius, rel=0.01)
    assert 2 * radius <= record["feret_diameter_max"] <= 2 * radius + 1.5
    assert record["major_axis_length"] == pytest.approx(2 * radius, rel=0.01)
    assert record["minor_axis_length"] == pytest.approx(2 * radius, rel=0.01)
    assert record["max_inscribed_radius"] == pytest.approx(radius, abs=0.5)
    assert record["centroid_x"] == pytest.approx(30.0) and record["centroid_y"] == 30.0


def test_pixel_size_gives_mm_columns():
    (px,) = measure_instances(_disc(20))
    (mm,) = measure_instances(_disc(20), pixel_size=0.5)
    assert mm["area_mm2"] == pytest.approx(px["area"] * 0.25)
    for name in ("major_axis_length", "feret_diameter_max", "equivalent_diameter", "perimeter"):
        assert mm[f"{name}_mm"] == pytest.approx(px[name] * 0.5)
    assert mm["max_inscribed_radius_mm"] == pytest.approx(px["max_inscribed_radius"] * 0.5)
    assert "area_mm2" not in px
    assert set(mm) <= set(COLUMNS)
    with pytest.raises(ValueError, match="positive"):
        measure_instances(_disc(5), pixel_size=0)


def test_tables_classes_scores_origin_and_edges():
    image = np.zeros((20, 20), np.int32)
    image[0:4, 0:4] = 1
    image[10:12, 10:15] = 3
    records = measure_instances(
        image,
        labels=[1, 0, 0],
        scores=[0.9, 0.1, 0.4],
        class_names=["sand", "gravel"],
        image_name="a.png",
        origin=(100, 1000),
    )
    assert [r["id"] for r in records] == [1, 3]
    assert [r["class"] for r in records] == ["gravel", "sand"]
    assert [r["score"] for r in records] == pytest.approx([0.9, 0.4])
    assert [r["touches_edge"] for r in records] == [True, False]
    assert records[1]["bbox"] == (110, 1010, 115, 1012)
    assert records[1]["centroid_x"] == pytest.approx(112.0)
    assert records[0]["image"] == "a.png"
    assert measure_instances(image, labels=[1, 0, 0])[0]["class"] == 1
    with pytest.raises(ValueError, match="one entry per label"):
        measure_instances(image, scores=[0.5])
    with pytest.raises(ValueError, match="has no name"):
        measure_instances(image, labels=[5, 0, 0], class_names=["sand"])


def test_empty_image_has_no_records():
    assert measure_instances(np.zeros((5, 5), np.int32)) == []


def test_csv_splits_the_box_and_keeps_column_order(tmp_path):
    records = measure_instances(_rectangle(10, 30), pixel_size=0.1, image_name="x")
    records[0]["extra"] = 7
    header = csv_columns(records)
    assert header[:2] == ["image", "id"]
    assert header[-1] == "extra"
    assert header.index("bbox_x0") + 3 == header.index("bbox_y1")
    path = write_measurements_csv(tmp_path / "m.csv", records)
    with path.open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["bbox_x0"], row["bbox_y0"], row["bbox_x1"], row["bbox_y1"]) == (
        "10",
        "20",
        "40",
        "30",
    )
    assert float(row["area_mm2"]) == pytest.approx(3.0)
