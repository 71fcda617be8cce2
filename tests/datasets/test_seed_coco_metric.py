"""mmdet's CocoMetric on the seed format equals CocoMetric on the converted COCO JSON."""

import copy
import json

import numpy as np
import torch
from mmdet.evaluation import CocoMetric
from mmdet.utils import register_all_modules
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils
from seed_samples import CLASSES, write_sample

from solov2_plugin.datasets import SeedInstanceDataset, seed_to_coco
from solov2_plugin.datasets.instance_maps import index_label_map, instance_boxes

# Evaluation pipeline: no mask loading needed, the ground truth travels in `instances`.
TEST_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="Resize", scale=(48, 32), keep_ratio=True),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
    ),
]
KEYS = [f"coco/{kind}_{name}" for kind in ("bbox", "segm") for name in ("mAP", "mAP_50", "mAP_75")]


def fake_predictions(instances: list, height: int, width: int, rng) -> InstanceData:
    """Shifted, relabelled, dropped and invented masks with random scores."""
    masks = []
    for instance in instances:
        if rng.random() < 0.15:
            continue
        mask = mask_utils.decode(instance["mask"]).astype(bool)
        shift = rng.integers(-3, 4, size=2)
        masks.append((np.roll(mask, tuple(shift), axis=(0, 1)), instance["bbox_label"]))
    for _ in range(2):
        mask = np.zeros((height, width), bool)
        y, x = rng.integers(0, height - 10), rng.integers(0, width - 10)
        mask[y : y + 10, x : x + rng.integers(4, 10)] = True
        masks.append((mask, int(rng.integers(0, len(CLASSES)))))
    stack = np.stack([m for m, _ in masks])
    labels = [label if rng.random() > 0.2 else (label + 1) % len(CLASSES) for _, label in masks]
    label_map = np.zeros((height, width), np.int64)
    boxes = np.zeros((len(masks), 4), np.float32)
    for k, mask in enumerate(stack):
        label_map[:] = mask
        boxes[k] = instance_boxes(index_label_map(label_map)[1], 1)[0]
    return InstanceData(
        masks=torch.from_numpy(stack),
        bboxes=torch.from_numpy(boxes),
        scores=torch.from_numpy(rng.uniform(0.05, 1.0, len(masks)).astype(np.float32)),
        labels=torch.tensor(labels, dtype=torch.int64),
    )


def test_metric_without_ann_file_equals_metric_on_converted_json(tmp_path):
    register_all_modules(init_default_scope=True)
    root = tmp_path / "split"
    write_sample(root, "a", (3, 7, 12, 15, 20, 21))
    write_sample(root, "b", (300, 65000, 5, 9), label_bits=16)
    write_sample(root, "c", ())
    write_sample(root, "d", tuple(range(1, 11)), crowd_ids=(10,))
    dataset = SeedInstanceDataset(
        data_root=str(root), metainfo=dict(classes=CLASSES), pipeline=TEST_PIPELINE, test_mode=True
    )
    rng = np.random.default_rng(0)
    samples = []
    for index in range(len(dataset)):
        sample = dataset[index]["data_samples"]
        height, width = sample.ori_shape
        sample.pred_instances = fake_predictions(sample.instances, height, width, rng)
        samples.append(sample.to_dict())

    from_samples = CocoMetric(metric=["bbox", "segm"])
    from_samples.dataset_meta = dataset.metainfo
    from_samples.process({}, copy.deepcopy(samples))
    seed_results = from_samples.evaluate(len(samples))

    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    ann_file = tmp_path / "coco.json"
    ann_file.write_text(json.dumps(seed_to_coco(infos, CLASSES)))
    from_json = CocoMetric(ann_file=str(ann_file), metric=["bbox", "segm"])
    from_json.dataset_meta = dataset.metainfo
    from_json.process({}, copy.deepcopy(samples))
    json_results = from_json.evaluate(len(samples))

    for key in KEYS:
        assert 0.05 < seed_results[key] < 0.95, (key, seed_results[key])
        assert seed_results[key] == json_results[key], key
