"""CrowdedCocoMetric: COCO's mAP without its hidden cap of 100 detections an image."""

import copy

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric
from mmdet.utils import register_all_modules
from mmengine.structures import InstanceData

from solov2_plugin.datasets import SeedInstanceDataset, write_seed_sample
from solov2_plugin.evaluation import CrowdedCocoMetric

PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
    ),
]


def _grid_sample(root, stem: str, rows: int, cols: int) -> None:
    """rows x cols separate 4x4 squares, one instance each."""
    label_map = np.zeros((rows * 6, cols * 6), np.int64)
    for k in range(rows * cols):
        row, col = divmod(k, cols)
        label_map[row * 6 + 1 : row * 6 + 5, col * 6 + 1 : col * 6 + 5] = k + 1
    image = np.zeros((*label_map.shape, 3), np.uint8)
    write_seed_sample(root, stem, image, label_map, {k + 1: "cell" for k in range(rows * cols)})


def _evaluate(metric_type, root, **kwargs) -> dict:
    dataset = SeedInstanceDataset(
        data_root=str(root), metainfo=dict(classes=("cell",)), pipeline=PIPELINE, test_mode=True
    )
    samples = []
    for index in range(len(dataset)):
        sample = dataset[index]["data_samples"]
        boxes = torch.tensor([inst["bbox"] for inst in sample.instances], dtype=torch.float32)
        height, width = sample.ori_shape
        masks = torch.zeros((len(boxes), height, width), dtype=torch.bool)
        for k, (x0, y0, x1, y1) in enumerate(boxes.long().tolist()):
            masks[k, y0:y1, x0:x1] = True
        # Perfect masks, scores falling with the index.
        sample.pred_instances = InstanceData(
            masks=masks,
            bboxes=boxes,
            scores=torch.linspace(1.0, 0.5, len(boxes)),
            labels=torch.zeros(len(boxes), dtype=torch.int64),
        )
        samples.append(sample.to_dict())
    metric = metric_type(metric=["segm"], **kwargs)
    metric.dataset_meta = dataset.metainfo
    metric.process({}, copy.deepcopy(samples))
    return metric.evaluate(len(samples))


@pytest.fixture(autouse=True)
def mmdet_scope():
    register_all_modules(init_default_scope=True)


def test_150_perfect_masks_score_1_not_cocos_capped_value(tmp_path):
    _grid_sample(tmp_path / "split", "crowded", 10, 15)
    coco = _evaluate(CocoMetric, tmp_path / "split")
    crowded = _evaluate(CrowdedCocoMetric, tmp_path / "split")
    # COCO counts the 100 best of 150: precision 1 up to recall 2/3, i.e. 67 of the 101
    # recall points; its own AP50 counts 1000 detections.
    assert coco["coco/segm_mAP"] == round(67 / 101, 3) == 0.663
    assert coco["coco/segm_mAP_50"] == 1.0
    assert crowded["coco/segm_mAP"] == crowded["coco/segm_mAP_50"] == 1.0
    capped = _evaluate(CrowdedCocoMetric, tmp_path / "split", proposal_nums=(10, 50, 100))
    assert capped["coco/segm_mAP"] == 0.663


def test_at_most_100_objects_both_metrics_agree(tmp_path):
    _grid_sample(tmp_path / "split", "sparse", 5, 8)
    assert _evaluate(CocoMetric, tmp_path / "split") == _evaluate(
        CrowdedCocoMetric, tmp_path / "split"
    )


def test_multiprocess_evaluation_is_refused():
    with pytest.raises(ValueError, match="use_mp_eval"):
        CrowdedCocoMetric(metric=["segm"], use_mp_eval=True)
