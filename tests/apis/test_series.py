"""Frame series with an oracle model: each belt object reported once, whole, in belt terms."""

import numpy as np
import pytest
from mmengine.structures import InstanceData

from solov2_plugin.apis.series import predict_series
from solov2_plugin.testing.id_oracle import encode_ids, oracle_predict, shapes_scene

FRAME_H, WIDTH = 80, 100


def _cut(belt: np.ndarray, frame_h: int, overlap: int):
    """Frames of ``frame_h`` rows, each starting ``frame_h - overlap`` rows below the last."""
    step = frame_h - overlap
    count = (belt.shape[0] - overlap) // step
    assert count * step + overlap == belt.shape[0], "belt must split into whole frames"
    return [belt[k * step : k * step + frame_h] for k in range(count)]


def _truth(ids: np.ndarray):
    """Per id: (bbox x0, y0, x1, y1), area, touches the belt's border."""
    truth = {}
    for object_id in np.unique(ids)[1:]:
        rows, cols = np.nonzero(ids == object_id)
        box = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        edge = box[0] == 0 or box[1] == 0 or box[2] == ids.shape[1] or box[3] == ids.shape[0]
        truth[tuple(int(v) for v in box)] = (len(rows), bool(edge))
    return truth


def _special_belt() -> np.ndarray:
    """240 x 100 belt (3 frames of 80 rows) with the cases a seam must get right."""
    ids = np.zeros((240, WIDTH), np.int32)
    yy, xx = np.mgrid[:240, :WIDTH]
    ids[(yy - 80) ** 2 + (xx - 15) ** 2 <= 81] = 1  # disc crossing cut 0 (rows 71..89)
    ids[30:200, 40:46] = 2  # rod taller than a frame: both edges of frame 1
    ids[100:120, 0:8] = 3  # on the left side, inside frame 1
    ids[0:10, 60:70] = 4  # on the top of the belt
    ids[228:240, 60:70] = 5  # on the bottom of the belt
    ids[20:40, 60:80] = 6  # inside frame 0
    ids[80:95, 85:95] = 7  # starts on frame 1's first row
    ids[65:80, 85:95] = 8  # ends on frame 0's last row
    ids[150:170, 90:100] = 9  # crosses cut 1 on the right side
    ids[100:130, 55:75] = 10  # inside frame 1
    return ids


@pytest.mark.parametrize("overlap", [0, 12])
def test_special_cases_each_reported_once_whole(overlap):
    ids = _special_belt()
    frame_h = (ids.shape[0] + 2 * overlap) // 3  # 3 frames: 80 rows, or 88 sharing 12
    frames = _cut(encode_ids(ids), frame_h, overlap)
    records = predict_series(frames, oracle_predict, overlap=overlap)
    truth = _truth(ids)
    got = {r["bbox"]: (r["area"], not r["complete"]) for r in records}
    assert len(records) == len(truth)
    assert got == truth
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    rod = next(r for r in records if r["bbox"] == (40, 30, 46, 200))
    assert rod["frame"] == 0 and rod["source"] == "seam" and rod["complete"]
    assert rod["major_axis_length"] == pytest.approx(4 * np.sqrt((170**2 - 1) / 12))


@pytest.mark.parametrize("overlap", [0, 10])
def test_random_belt_cut_objects_keep_their_whole_area(overlap):
    frame_h, count = 90, 4
    height = count * frame_h - (count - 1) * overlap
    ids = shapes_scene(np.random.default_rng(3), height, 160, 40, sides=(0.4, 0.95))
    records = predict_series(_cut(encode_ids(ids), frame_h, overlap), oracle_predict, overlap)
    truth = _truth(ids)
    assert len(records) == len(truth) == 40
    for record in records:
        area, on_edge = truth[record["bbox"]]
        assert record["area"] == pytest.approx(area, rel=0.01)
        assert record["complete"] is not on_edge
        assert record["touches_edge"] is on_edge
    assert {r["source"] for r in records} == {"frame", "seam"}


def test_seam_band_grows_when_frames_see_too_little_of_a_cut_object():
    """Frames see only the 3 rows of a cut object next to the cut: the first band is too short."""
    ids = _special_belt()
    frames = _cut(encode_ids(ids), FRAME_H, 0)
    seam_heights = []

    def short_sighted(image):
        instances = oracle_predict(image)
        if not any(image.shape == f.shape and np.array_equal(image, f) for f in frames):
            seam_heights.append(image.shape[0])
            return instances
        masks = instances.masks.copy()
        for mask in masks:
            if mask[0].any():
                mask[3:] = False
            elif mask[-1].any():
                mask[:-3] = False
        return InstanceData(masks=masks, labels=instances.labels, scores=instances.scores)

    records = predict_series(frames, short_sighted)
    cut = {r["bbox"]: r["area"] for r in records if r["source"] == "seam"}
    truth = _truth(ids)
    for box in [(6, 71, 25, 90), (40, 30, 46, 200), (85, 80, 95, 95), (85, 65, 95, 80)]:
        assert cut[box] == truth[box][0]
    # Seam 0: first band rows 61..99 (3 + 16 rows each side), then grown to both frames.
    assert seam_heights[:2] == [38, 160]


def test_seam_images_are_not_resized_and_reported_to_the_callback():
    ids = _special_belt()
    frames = _cut(encode_ids(ids), FRAME_H, 0)
    seams = []
    predict_series(frames, oracle_predict, seam_callback=lambda k, im: seams.append((k, im)))
    assert [k for k, _ in seams] == [0, 1]
    for _, image in seams:
        assert image.dtype == np.uint8 and image.shape[1] == WIDTH
    # Seam 0 runs down to frame 1's bottom (the rod touches it): belt rows a..160.
    k0 = seams[0][1]
    np.testing.assert_array_equal(k0, encode_ids(ids)[160 - k0.shape[0] : 160])


def test_min_sizes_and_mm_columns_apply_to_whole_objects():
    ids = _special_belt()
    frames = _cut(encode_ids(ids), FRAME_H, 0)
    records = predict_series(frames, oracle_predict, min_box_side=11, pixel_size=0.2)
    boxes = {r["bbox"] for r in records}
    assert boxes == {(6, 71, 25, 90), (60, 20, 80, 40), (55, 100, 75, 130)}
    disc = next(r for r in records if r["bbox"][0] == 6)
    assert disc["area_mm2"] == pytest.approx(disc["area"] * 0.04)
    assert all(min(r["bbox"][2] - r["bbox"][0], r["bbox"][3] - r["bbox"][1]) >= 11 for r in records)


def test_bad_frames():
    frame = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="empty"):
        predict_series([], oracle_predict)
    with pytest.raises(ValueError, match="one width"):
        predict_series([frame, np.zeros((10, 12, 3), np.uint8)], oracle_predict)
    with pytest.raises(ValueError, match="overlap=10"):
        predict_series([frame, frame], oracle_predict, overlap=10)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        predict_series([frame[..., 0]], oracle_predict)


def test_object_spanning_five_frames_is_joined_across_three_seams():
    ids = np.zeros((200, 60), np.int32)
    ids[10:190, 20:26] = 1  # crosses all four cuts of 40-row frames
    ids[35:45, 40:50] = 2  # crosses cut 0 beside it
    records = predict_series(_cut(encode_ids(ids), 40, 0), oracle_predict)
    assert [(r["bbox"], r["area"], r["complete"], r["frame"]) for r in records] == [
        ((20, 10, 26, 190), 180 * 6, True, 0),
        ((40, 35, 50, 45), 100, True, 0),
    ]
