"""Tiled prediction with an oracle model: the stitched label image equals the untiled one."""

import json
import subprocess
import sys

import numpy as np
import pytest
from mmengine.structures import InstanceData

from solov2_plugin.apis.label_image import clean_label_image, instances_to_label_image
from solov2_plugin.apis.tiles import predict_tiled, window_starts
from solov2_plugin.testing.id_oracle import encode_ids, oracle_predict, shapes_scene


def _same_up_to_relabelling(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two label images hold the same objects (a bijection of labels, 0 <-> 0)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    if ((pairs[0] == 0) != (pairs[1] == 0)).any():
        return False
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def _untiled(image, **clean):
    label_image, _, _ = instances_to_label_image(oracle_predict(image))
    return clean_label_image(label_image, **clean)[0]


def test_window_starts_cover_the_side_and_end_on_it():
    assert window_starts(300, 128, 48) == [0, 80, 160, 172]
    assert window_starts(100, 128, 48) == [0]
    assert window_starts(208, 128, 48) == [0, 80]


def test_small_objects_tiled_equal_untiled():
    ids = shapes_scene(np.random.default_rng(0), 300, 260, 48)  # shapes under 40 px < overlap
    image = encode_ids(ids)
    tiled, records = predict_tiled(image, oracle_predict, tile=128, overlap=48)
    assert tiled.dtype == np.int32
    assert _same_up_to_relabelling(tiled, _untiled(image))
    assert len(records) == 48 == tiled.max()
    # Records follow their objects: the class and score of the oracle's id.
    for record in records:
        (object_id,) = np.unique(ids[tiled == record["id"]])
        assert record["class"] == object_id % 3
        assert record["score"] == pytest.approx(0.5 + (object_id % 5) / 10)
        assert record["area"] == (ids == object_id).sum()


def test_objects_larger_than_the_overlap_are_reassembled():
    ids = shapes_scene(np.random.default_rng(1), 330, 300, 6, sides=(0.7, 0.95))  # ~100-150 px
    image = encode_ids(ids)
    tiled, records = predict_tiled(image, oracle_predict, tile=96, overlap=16)
    assert _same_up_to_relabelling(tiled, _untiled(image))
    assert sorted(r["area"] for r in records) == sorted(np.bincount(ids.ravel())[1:])


def test_cleaning_runs_after_stitching():
    ids = np.zeros((120, 120), np.int32)
    ids[50:70, 10:110] = 1  # a 20 x 100 bar cut by every vertical window border
    ids[5:8, 5:8] = 2  # 3 x 3: dropped by min_box_side=4
    image = encode_ids(ids)
    tiled, records = predict_tiled(image, oracle_predict, tile=40, overlap=8, min_box_side=4)
    assert [r["area"] for r in records] == [2000]
    np.testing.assert_array_equal(tiled, (ids == 1).astype(np.int32))
    assert records[0]["bbox"] == (10, 50, 110, 70)


@pytest.mark.parametrize(
    "columns, grown_call, grown_from, grown_to",
    [
        # Object x 26..35: 4 px from window 0's right border, 10 px from window 1's left one.
        # Window 0 (call 0) sees it one column too wide (x 26..36): window 1's view wins.
        ((26, 36), 0, 35, 36),
        # Object x 20..29: 10 px from window 0's border, 4 px from window 1's. Window 1
        # (call 1, x 16..55) sees it one column too wide (x 19..29): window 0's view stays.
        ((20, 30), 1, 20 - 16, 19 - 16),
    ],
)
def test_a_duplicate_from_the_overlap_keeps_the_view_farthest_from_a_border(
    columns, grown_call, grown_from, grown_to
):
    ids = np.zeros((40, 56), np.int32)
    ids[10:30, columns[0] : columns[1]] = 1
    calls = []

    def predict(image):
        instances = oracle_predict(image)
        calls.append(image.shape)
        if len(calls) - 1 == grown_call:  # copy one edge column of the mask one pixel outwards
            masks = instances.masks.copy()
            masks[:, :, grown_to] = masks[:, :, grown_from]
            instances = InstanceData(masks=masks, labels=instances.labels, scores=instances.scores)
        return instances

    tiled, records = predict_tiled(encode_ids(ids), predict, tile=40, overlap=24)
    assert calls == [(40, 40, 3), (40, 40, 3)]
    assert len(records) == 1
    assert records[0]["area"] == 200  # the exact view, not the union (220) of both views
    np.testing.assert_array_equal(tiled, ids)


def test_bad_arguments():
    with pytest.raises(ValueError, match="overlap < tile"):
        predict_tiled(np.zeros((8, 8, 3), np.uint8), oracle_predict, tile=8, overlap=8)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        predict_tiled(np.zeros((8, 8), np.uint8), oracle_predict)


@pytest.mark.slow
def test_6000x4000_with_2000_objects_stays_under_4_gib():
    result = subprocess.run(
        [sys.executable, "-m", "solov2_plugin.testing.id_oracle"],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    figures = json.loads(result.stdout)
    assert figures["objects"] == 2000
    assert figures["peak_rss_mib"] < 4096
