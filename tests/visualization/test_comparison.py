"""Ground truth | prediction pairs and the overview sheet."""

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from solov2_plugin.visualization import (
    draw_gt_pred,
    ground_truth_masks,
    overview_sheet,
    side_by_side,
    write_overview,
)

NAMES = ("disc", "block")
PALETTE = ((200, 30, 30), (30, 60, 220))
GREY = 100


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _rect(y0, y1, x0, x1, shape=(64, 96)):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _blend(colour):
    return np.rint(np.float32(GREY) * 0.5 + np.float32(colour) * 0.5).astype(np.uint8)


def test_ground_truth_masks_from_rle_and_polygons():
    first = _rect(8, 40, 4, 40)
    instances = [
        dict(mask=_rle(first), bbox_label=1, ignore_flag=0),
        dict(mask=[[50.0, 10.0, 80.0, 10.0, 80.0, 30.0, 50.0, 30.0]], bbox_label=0),
        dict(bbox=[0, 0, 1, 1], bbox_label=0),  # no mask: left out
    ]
    masks, labels = ground_truth_masks(instances, 64, 96)
    assert masks.shape == (2, 64, 96) and masks.dtype == bool
    np.testing.assert_array_equal(masks[0], first)
    assert masks[1, 20, 60] and not masks[1, 40, 60] and not masks[1, 20, 40]
    np.testing.assert_array_equal(labels, [1, 0])
    empty, none = ground_truth_masks([], 5, 7)
    assert empty.shape == (0, 5, 7) and none.shape == (0,)
    with pytest.raises(ValueError, match="no 'bbox_label'"):
        ground_truth_masks([dict(mask=_rle(first))], 64, 96)


def test_side_by_side_and_overview_sheet_layout():
    red = np.zeros((4, 3, 3), np.uint8)
    red[..., 0] = 255
    pair = side_by_side(red, np.zeros((4, 5, 3), np.uint8), gap=2)
    assert pair.shape == (4, 3 + 2 + 5, 3)
    assert (pair[:, 3:5] == 255).all() and (pair[:, 5:] == 0).all()
    with pytest.raises(ValueError, match="equal height"):
        side_by_side(red, np.zeros((3, 3, 3), np.uint8))

    pictures = [np.full((4, 6, 3), value, np.uint8) for value in (10, 20, 30)]
    sheet = overview_sheet(pictures, columns=2, gap=8)
    assert sheet.shape == (2 * 4, 2 * 6 + 8, 3)
    assert (sheet[:4, :6] == 10).all() and (sheet[:4, 14:] == 20).all()
    assert (sheet[4:, :6] == 30).all()
    assert (sheet[:, 6:14] == 255).all() and (sheet[4:, 14:] == 255).all()  # gap, empty cell
    # Pictures of other sizes sit at the top left of cells of the largest size.
    mixed = overview_sheet([np.zeros((2, 3, 3), np.uint8), np.zeros((4, 6, 3), np.uint8)], 1, 0)
    assert mixed.shape == (8, 6, 3)
    assert (mixed[:2, :3] == 0).all() and (mixed[2:4] == 255).all() and (mixed[4:] == 0).all()
    with pytest.raises(ValueError, match="at least one picture"):
        overview_sheet([])


def test_write_overview_round_trip(tmp_path):
    paths = []
    for value in (40, 80, 120, 160, 200):
        path = tmp_path / f"{value}.png"
        cv2.imwrite(str(path), np.full((10, 20, 3), value, np.uint8))
        paths.append(str(path))
    out = write_overview(paths[:4], str(tmp_path / "overview.png"))
    sheet = cv2.imread(out)
    assert sheet.shape == (2 * 10, 2 * 20 + 8, 3)
    assert sheet[0, 0, 0] == 40 and sheet[0, 39, 0] == 80 and sheet[19, 47, 0] == 160
    with pytest.raises(ValueError, match="Cannot read the picture 'nowhere.png'"):
        write_overview(["nowhere.png"], str(tmp_path / "x.png"))


def test_draw_gt_pred_panels_and_score_threshold():
    image = np.full((64, 96, 3), GREY, np.uint8)
    gt = [dict(mask=_rle(_rect(8, 40, 4, 40)), bbox_label=1)]
    pred = InstanceData(
        masks=torch.from_numpy(np.stack([_rect(10, 40, 6, 40), _rect(44, 60, 60, 90)])),
        labels=torch.tensor([0, 1]),
        scores=torch.tensor([0.9, 0.2]),
    )
    picture = draw_gt_pred(image, gt, pred, NAMES, PALETTE, score_thr=0.3, gap=4)
    assert picture.shape == (64, 96 + 4 + 96, 3)
    left, right = picture[:, :96], picture[:, 100:]
    assert (picture[:, 96:100] == 255).all()
    # Ground truth (block) on the left, the confident prediction (disc) on the right.
    assert (left[12:16, 8:12] == _blend(PALETTE[1])).all()
    assert (right[12:16, 8:12] == _blend(PALETTE[0])).all()
    # The prediction scoring 0.2 is not drawn; nothing is drawn there on the left either.
    assert (right[44:64, 56:96] == GREY).all() and (left[44:64, 56:96] == GREY).all()
    # Predicted masks of another size (e.g. mask_out_stride=2) are resized to the image.
    half = InstanceData(
        masks=torch.from_numpy(_rect(5, 20, 3, 20, shape=(32, 48))[None]),
        labels=torch.tensor([0]),
        scores=torch.tensor([0.9]),
    )
    resized = draw_gt_pred(image, [], half, NAMES, PALETTE)[:, 100:]
    assert (resized[12:16, 8:12] == _blend(PALETTE[0])).all()
    assert (
        draw_gt_pred(image, [], None, NAMES, PALETTE)
        == np.concatenate([image, np.full((64, 4, 3), 255, np.uint8), image], axis=1)
    ).all()
