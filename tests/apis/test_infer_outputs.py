"""Writers of ``tools/infer.py``: label PNG, overlay, crops, COCO files (no model needed)."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from solov2_plugin.apis.infer_outputs import (
    BACKGROUND_COLOUR,
    CocoWriter,
    _column_rle,
    crop_objects,
    draw_overlay,
    object_boxes,
    write_image,
    write_label_png,
)

CLASSES = ("disc", "block")
PALETTE = [(255, 0, 0), (0, 0, 255)]


def scene() -> np.ndarray:
    """A 20 x 30 label image: 1 = square at the top-left corner, 2 = bar on the right edge,
    3 = ring (a hole in it), touching nothing."""
    label_image = np.zeros((20, 30), np.int32)
    label_image[0:5, 0:5] = 1
    label_image[3:18, 27:30] = 2
    label_image[8:15, 8:15] = 3
    label_image[10:13, 10:13] = 0
    return label_image


def test_label_png_is_16_bit_and_exact(tmp_path: Path) -> None:
    label_image = scene()
    label_image[19, 0] = 40000  # beyond 8 bits
    path = write_label_png(tmp_path / "labels" / "a.png", label_image)
    read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint16
    np.testing.assert_array_equal(read, label_image)
    with pytest.raises(ValueError, match="65535"):
        write_label_png(tmp_path / "b.png", np.full((2, 2), 70000, np.int32))


def test_column_rle_equals_pycocotools_encoding() -> None:
    label_image = scene()
    label_image[0, 29] = 4  # top-right pixel: a run at the very end of a column
    label_image[19, 29] = 5  # last pixel of the image
    for index, box in enumerate(object_boxes(label_image)):
        mask = np.asfortranarray((label_image == index + 1).astype(np.uint8))
        expected = mask_utils.encode(mask)
        got = _column_rle(label_image, index + 1, box)
        assert got["counts"] == expected["counts"].decode("ascii"), index + 1
        assert got["size"] == [20, 30]
        np.testing.assert_array_equal(mask_utils.decode(got), mask)


def test_coco_files_load_with_pycocotools(tmp_path: Path) -> None:
    writer = CocoWriter(CLASSES, polygons=True)
    assert writer.add_image("a.png", scene(), labels=[0, 1, 0], scores=[0.9, 0.8, 0.7]) == 1
    assert writer.add_image("b.png", scene()[:, :20], labels=[1, 0, 1], scores=[0.5, 0.4, 0.3]) == 2
    writer.write(tmp_path)
    results = json.loads((tmp_path / "coco_results.json").read_text())
    assert [r["id"] for r in results] == [1, 2, 3, 4, 5]  # unique across the run
    assert [r["image_id"] for r in results] == [1, 1, 1, 2, 2]  # b.png: the bar is cut off
    assert results[1]["bbox"] == [27, 3, 3, 15] and results[1]["category_id"] == 2
    assert results[2]["area"] == 49 - 9
    coco = COCO(str(tmp_path / "coco_images.json"))
    predictions = coco.loadRes(str(tmp_path / "coco_results.json"))
    assert len(predictions.getAnnIds(imgIds=[1])) == 3
    assert predictions.loadAnns(4)[0]["area"] == 25
    polygons = COCO(str(tmp_path / "coco_polygons.json"))
    square = polygons.loadAnns(1)[0]
    assert square["segmentation"] == [[0, 0, 0, 4, 4, 4, 4, 0]]  # outer pixel centres
    assert square["bbox"] == [0, 0, 5, 5] and square["iscrowd"] == 0
    # The ring's polygon is its outer contour: holes are not kept.
    assert polygons.annToMask(polygons.loadAnns(3)[0])[11, 11] == 1


def test_crops_paint_the_other_objects() -> None:
    label_image = scene()
    label_image[4:8, 4:8] = 3  # object 3 now reaches into object 1's box
    image = np.full((20, 30, 3), 7, np.uint8)
    crops = crop_objects(image, label_image)
    assert sorted(crops) == [1, 2, 3]
    square = crops[1]
    assert square.shape == (5, 5, 3)
    assert square[4, 4].tolist() == list(BACKGROUND_COLOUR)  # object 3's pixel
    assert square[0, 0].tolist() == [7, 7, 7]
    assert crops[3].shape == (11, 11, 3)


def test_overlay_colours_outlines_and_scale(tmp_path: Path) -> None:
    image = np.zeros((20, 30, 3), np.uint8)
    overlay = draw_overlay(image, scene(), [0, 1, 0], None, CLASSES, PALETTE, alpha=0.5)
    assert overlay.shape == (20, 30, 3)
    assert overlay[0, 0].tolist() == [255, 0, 0]  # outline: full class colour
    assert overlay[10, 28].tolist() == [0, 0, 128]  # inside the bar: half-blended blue
    assert overlay[19, 20].tolist() == [0, 0, 0]  # background untouched
    half = draw_overlay(image, scene(), [0, 1, 0], [0.9, 0.8, 0.7], CLASSES, PALETTE, scale=0.5)
    assert half.shape == (10, 15, 3)
    path = write_image(tmp_path / "o" / "x.png", half)
    np.testing.assert_array_equal(cv2.imread(str(path))[..., ::-1], half)
    with pytest.raises(ValueError, match="scale"):
        draw_overlay(image, scene(), [0, 1, 0], None, CLASSES, scale=2)


def test_outputs_of_a_picture_without_objects(tmp_path: Path) -> None:
    image = np.full((8, 9, 3), 50, np.uint8)
    empty = np.zeros((8, 9), np.int32)
    no_labels = np.zeros(0, np.int64)
    np.testing.assert_array_equal(draw_overlay(image, empty, no_labels, [], CLASSES), image)
    assert crop_objects(image, empty) == {}
    writer = CocoWriter(CLASSES)
    assert writer.add_image("empty.png", empty, no_labels, []) == 1
    writer.write(tmp_path)
    assert json.loads((tmp_path / "coco_results.json").read_text()) == []


def test_overlay_tags_are_drawn_on_large_objects() -> None:
    label_image = np.zeros((200, 200), np.int32)
    label_image[20:180, 20:180] = 1
    image = np.zeros((200, 200, 3), np.uint8)
    plain = draw_overlay(image, label_image, [1], [0.5], CLASSES, PALETTE, alpha=0.0)
    # alpha 0: only the outline and the tag (a filled box of the class colour) are coloured.
    coloured = (plain != 0).any(axis=2)
    assert coloured[100, 100], "the tag sits at the object's centre"
    assert coloured.sum() > 4 * 159 + 50


def test_inference_docs_list_every_csv_column() -> None:
    from solov2_plugin.apis.measure import COLUMNS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "inference.md").read_text()
    for name, (unit, meaning) in COLUMNS.items():
        assert f"| `{name}` | {unit} | {meaning} |" in docs, name


def fake_predict_fn(masks: np.ndarray, labels, scores):
    """A predictor returning fixed instances whatever the image."""
    from mmengine.structures import InstanceData

    def predict_fn(image: np.ndarray) -> InstanceData:
        result = InstanceData()
        result.masks = masks.copy()
        result.labels = np.asarray(labels, np.int64)
        result.scores = np.asarray(scores, np.float32)
        return result

    return predict_fn


def test_segment_image_fuses_cleans_and_drops_edges(tmp_path: Path) -> None:
    from solov2_plugin.apis.infer_run import InferOptions, segment_image

    masks = np.zeros((3, 20, 30), bool)
    masks[0, 8:15, 8:15] = True  # inside, class 1, score 0.5
    masks[1, 0:5, 0:5] = True  # on the top-left corner, class 0, score 0.9
    masks[2, 10:12, 10:20] = True  # overlaps mask 0 with a higher score; 2 rows high
    predict_fn = fake_predict_fn(masks, [1, 0, 0], [0.5, 0.9, 0.7])
    image = np.zeros((20, 30, 3), np.uint8)
    options = InferOptions(out_dir=tmp_path, min_box_side=3)
    result = segment_image(image, predict_fn, options, CLASSES, "x.png")
    # Mask 2 wins its overlap, then is dropped (box 2 px high < 3); the others are renumbered
    # in instance order: mask 0 -> 1, mask 1 -> 2.
    assert result.labels.tolist() == [1, 0]
    np.testing.assert_allclose(result.scores, [0.5, 0.9])
    assert (result.label_image == 1).sum() == 49 - 2 * 5  # its rows 10..11, cols 10..14 lost
    assert [r["touches_edge"] for r in result.records] == [False, True]
    assert [r["class"] for r in result.records] == ["block", "disc"]
    dropped = segment_image(image, predict_fn, InferOptions(tmp_path, drop_edge=True), CLASSES, "x")
    assert dropped.labels.tolist() == [1, 0] and [r["id"] for r in dropped.records] == [1, 2]
    margin = InferOptions(tmp_path, min_box_side=3, drop_edge=True, edge_margin=8)
    assert segment_image(image, predict_fn, margin, CLASSES, "x").records == []
    none = fake_predict_fn(np.zeros((0, 20, 30), bool), [], [])
    assert segment_image(image, none, options, CLASSES, "x").records == []


def test_full_size_restores_half_size_masks() -> None:
    from solov2_plugin.apis.infer_run import full_size

    half = np.zeros((1, 3, 4), bool)
    half[0, 1, 2] = True
    predict_fn = full_size(fake_predict_fn(half, [0], [0.5]))
    masks = predict_fn(np.zeros((5, 7, 3), np.uint8)).masks
    assert masks.shape == (1, 5, 7)
    assert np.argwhere(masks[0]).tolist() == [[2, 4], [2, 5], [3, 4], [3, 5]]


def test_list_inputs_and_output_names(tmp_path: Path) -> None:
    from solov2_plugin.apis.infer_run import list_inputs, output_names

    for name in ("b.png", "a.JPG", "notes.txt", "sub/c.png", "sub/a.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    files, problems = list_inputs([str(tmp_path)])
    assert [p.name for p in files] == ["a.JPG", "b.png"] and problems == []
    files, _ = list_inputs([str(tmp_path)], recursive=True)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "a.JPG",
        "b.png",
        "sub/a.png",
        "sub/c.png",
    ]
    files, problems = list_inputs(
        [str(tmp_path / "*.png"), str(tmp_path / "b.png"), str(tmp_path / "none.png")]
    )
    assert [p.name for p in files] == ["b.png"]
    assert problems == [f"{tmp_path / 'none.png'}: no such file or folder"]
    names = output_names([Path("x/a.png"), Path("y/a.png"), Path("y/a.tif"), Path("b.png")])
    assert names == ["x_a", "y_a", "y_a_2", "b"]
