"""analyze_split on a split written here: hand-known areas, boxes and image sizes."""

import numpy as np
import pytest
from PIL import Image
from skimage.measure import regionprops

from solov2_plugin.analysis import analyze_split, stats_from_objects
from solov2_plugin.datasets import write_seed_sample


def write_split(root):
    """Two valid samples and one whose annotation is broken."""
    first = np.zeros((40, 60), np.int64)
    first[2:6, 3:9] = 5  # 4 x 6 rectangle: area 24, box 6 wide, 4 high
    first[10:30, 20:30] = 9  # 20 x 10: area 200
    first[10, 40] = 2  # one pixel
    second = np.zeros((50, 30), np.int64)
    second[0:7, 0:7] = 1
    second[5, 6] = 0  # a 7 x 7 square with a hole: area 48, box 7 x 7
    image = np.zeros((40, 60, 3), np.uint8)
    write_seed_sample(root, "a", image, first, {5: "disc", 9: "rod", 2: "disc"}, crowd_ids=(2,))
    write_seed_sample(root, "b", np.zeros((50, 30, 3), np.uint8), second, {1: "rod"})
    write_seed_sample(root, "c", np.zeros((8, 8, 3), np.uint8), second[:8, :8], {1: "rod"})
    (root / "annotations" / "c.json").write_text("{not json")


def test_analyze_split_measures_every_valid_object(tmp_path):
    write_split(tmp_path)
    stats = analyze_split(tmp_path)
    assert stats.image_sizes.tolist() == [[40, 60], [50, 30]]
    assert stats.objects_per_image.tolist() == [3, 1]
    # IDs in ascending order within an image: 2, 5, 9, then image b's 1.
    assert stats.object_image.tolist() == [0, 0, 0, 1]
    assert stats.areas.tolist() == [1, 24, 200, 48]
    assert stats.box_sizes.tolist() == [[1, 1], [6, 4], [10, 20], [7, 7]]
    assert stats.box_centres.tolist() == [[40.5, 10.5], [6, 4], [25, 20], [3.5, 3.5]]
    np.testing.assert_allclose(stats.box_scales, [1, np.sqrt(24), np.sqrt(200), 7])
    assert stats.short_sides.tolist() == [1, 4, 10, 7]
    assert stats.crowd.tolist() == [True, False, False, False]
    assert stats.long_sides.tolist() == [60, 50]
    assert stats.object_long_sides.tolist() == [60, 60, 60, 50]
    assert stats.class_counts == {"disc": 2, "rod": 2}
    assert len(stats.skipped) == 1 and "c.json" in stats.skipped[0]


def test_measurements_equal_skimage_regionprops(tmp_path):
    rng = np.random.default_rng(0)
    label_map = np.zeros((48, 64), np.int64)
    for label_id in range(1, 9):  # overlapping random rectangles, later ones on top
        y, x = rng.integers(0, 40), rng.integers(0, 56)
        label_map[y : y + rng.integers(1, 20), x : x + rng.integers(1, 20)] = label_id
    ids = sorted(set(np.unique(label_map)) - {0})
    image = np.zeros((48, 64, 3), np.uint8)
    write_seed_sample(tmp_path, "a", image, label_map, {int(i): "c" for i in ids})
    stats = analyze_split(tmp_path)
    stored = np.asarray(Image.open(tmp_path / "labels" / "a.png"))
    regions = regionprops(stored.astype(np.int64))
    assert [r.label for r in regions] == ids
    assert stats.areas.tolist() == [r.area for r in regions]
    # regionprops: (min_row, min_col, max_row, max_col), maximum exclusive.
    assert stats.boxes.tolist() == [[r.bbox[1], r.bbox[0], r.bbox[3], r.bbox[2]] for r in regions]


def test_a_split_without_valid_samples_names_the_folder_and_the_check(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    (tmp_path / "annotations").mkdir()
    with pytest.raises(ValueError, match="no valid sample") as raised:
        analyze_split(tmp_path)
    assert str(tmp_path) in str(raised.value)
    assert "tools/check_dataset.py" in str(raised.value)


def test_stats_from_objects_checks_lengths_and_indices():
    stats = stats_from_objects([(10, 20)], [0, 0], [4, 9], [(0, 0, 2, 2), (1, 1, 4, 4)])
    assert stats.num_objects == 2 and stats.num_images == 1
    assert stats.sqrt_areas.tolist() == [2, 3]
    with pytest.raises(ValueError, match="one entry per object"):
        stats_from_objects([(10, 20)], [0], [4, 9], [(0, 0, 2, 2)])
    with pytest.raises(ValueError, match="must index the 1 image_sizes"):
        stats_from_objects([(10, 20)], [1], [4], [(0, 0, 2, 2)])
