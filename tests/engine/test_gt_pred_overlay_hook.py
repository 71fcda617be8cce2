"""``GTPredOverlayHook`` draws ground truth beside prediction for each test image."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

import solov2_plugin  # noqa: F401  (registers the hook)
from solov2_plugin.engine import GTPredOverlayHook
from solov2_plugin.visualization import place_labels

NAMES = ("disc", "block")
PALETTE = [(220, 40, 40), (40, 80, 220)]
GREY = 100
HEIGHT, WIDTH = 64, 96


def _rect(y0, y1, x0, x1):
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def _rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _blend(colour):
    return np.rint(np.float32(GREY) * 0.5 + np.float32(colour) * 0.5).astype(np.uint8)


def _interior(mask):
    """Mask pixels at least 2 px from its edge (the outline is 1 px wide)."""
    return cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


GT_MASKS = [_rect(8, 40, 4, 40), _rect(20, 56, 50, 90)]
GT_LABELS = [0, 1]
PRED_MASKS = [_rect(10, 38, 6, 40), _rect(22, 56, 52, 90), _rect(44, 62, 6, 30)]


@pytest.fixture
def scene(tmp_path):
    image_path = tmp_path / "val_0007.png"
    cv2.imwrite(str(image_path), np.full((HEIGHT, WIDTH, 3), GREY, np.uint8))
    instances = [
        dict(bbox=[0, 0, 1, 1], bbox_label=label, ignore_flag=0, mask=_rle(mask))
        for mask, label in zip(GT_MASKS, GT_LABELS)
    ]
    sample = DetDataSample(
        metainfo=dict(img_path=str(image_path), ori_shape=(HEIGHT, WIDTH), instances=instances)
    )
    sample.pred_instances = InstanceData(
        masks=torch.from_numpy(np.stack(PRED_MASKS)),
        labels=torch.tensor([1, 0, 0]),
        scores=torch.tensor([0.9, 0.6, 0.1]),  # the last one is below the threshold
        bboxes=torch.zeros(3, 4),
    )
    dataset = SimpleNamespace(metainfo=dict(classes=NAMES, palette=PALETTE))
    runner = SimpleNamespace(
        work_dir=str(tmp_path / "work"),
        timestamp="20240101_000000",
        test_dataloader=SimpleNamespace(dataset=dataset),
    )
    return runner, sample, instances


def _run(hook, runner, sample):
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, data_batch=None, outputs=[sample])
    assert len(hook.written) == 1
    picture = cv2.imread(hook.written[0])
    assert picture is not None
    return picture[..., ::-1]


def test_hook_draws_ground_truth_left_and_confident_predictions_right(scene):
    runner, sample, _ = scene
    hook = HOOKS.build(dict(type="GTPredOverlayHook", out_dir="show", score_thr=0.3))
    assert isinstance(hook, GTPredOverlayHook)
    picture = _run(hook, runner, sample)
    assert hook.written[0].endswith("work/20240101_000000/show/val_0007.png")
    assert picture.shape == (HEIGHT, 2 * WIDTH + 4, 3)
    left, right = picture[:, :WIDTH], picture[:, WIDTH + 4 :]
    assert (picture[:, WIDTH : WIDTH + 4] == 255).all()
    for panel, masks, labels, texts, scores in (
        (left, GT_MASKS, GT_LABELS, ["disc", "block"], None),
        (right, PRED_MASKS[:2], [1, 0], ["block 0.90", "disc 0.60"], np.array([0.9, 0.6])),
    ):
        tags = np.zeros((HEIGHT, WIDTH), bool)
        for box in place_labels(np.stack(masks), texts, 0.35, scores):
            tags[box.y0 : box.y1, box.x0 : box.x1] = True
        for mask, label in zip(masks, labels):
            # The fill colour covers the mask's interior but for the label tags.
            assert (panel[_interior(mask) & ~tags] == _blend(PALETTE[label])).all()
            assert (_interior(mask) & ~tags).sum() > 200
    # Outside every mask (and tag) the image is untouched: the GT panel shows no prediction,
    # the prediction panel shows no prediction below the threshold (score 0.1).
    below = _interior(PRED_MASKS[2])
    assert (left[below] == GREY).all() and (right[below] == GREY).all()


def test_hook_takes_ground_truth_from_the_dataset_without_the_meta_key(scene, tmp_path):
    runner, sample, instances = scene
    bare = DetDataSample(metainfo=dict(img_path=sample.img_path, ori_shape=(HEIGHT, WIDTH)))
    bare.pred_instances = sample.pred_instances
    infos = [
        dict(img_path="other.png", instances=[]),
        dict(img_path=sample.img_path, instances=instances),
    ]
    runner.test_dataloader.dataset = _Dataset(infos)
    hook = GTPredOverlayHook(out_dir=str(tmp_path / "absolute"), score_thr=0.95)
    picture = _run(hook, runner, bare)
    assert hook.written[0] == str(tmp_path / "absolute" / "val_0007.png")
    left, right = picture[:, :WIDTH], picture[:, WIDTH + 4 :]
    filled = (left[_interior(GT_MASKS[1])] == _blend(PALETTE[1])).all(axis=-1)
    assert filled.mean() > 0.5
    assert (right == GREY).all()  # no prediction scores above 0.95


class _Dataset:
    metainfo = dict(classes=NAMES, palette=PALETTE)

    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, index):
        return self.infos[index]


def test_hook_rejects_a_bad_threshold_and_a_dataset_without_classes(scene):
    with pytest.raises(ValueError, match="score_thr must lie in \\[0, 1\\], got 1.5"):
        GTPredOverlayHook(score_thr=1.5)
    runner, _, _ = scene
    runner.test_dataloader.dataset = SimpleNamespace(metainfo={})
    with pytest.raises(ValueError, match="metainfo=dict\\(classes="):
        GTPredOverlayHook().before_test(runner)
