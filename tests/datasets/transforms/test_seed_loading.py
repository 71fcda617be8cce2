"""LoadSeedInstanceMasks: exact masks for every label-map format, mmdet transforms after it."""

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmdet.utils import register_all_modules
from PIL import Image
from seed_samples import blocks_label_map, mark_crowd, seed_dataset, write_sample

from solov2_plugin.datasets import LoadSeedInstanceMasks, SeedFormatError


def after_image(*steps: dict) -> list:
    """A pipeline loading the image, then ``steps``."""
    return [dict(type="LoadImageFromFile"), *steps]


LOAD = after_image(dict(type="LoadSeedInstanceMasks"))
PACK = dict(
    type="PackDetInputs",
    meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
)


@pytest.fixture(autouse=True)
def mmdet_scope():
    register_all_modules(init_default_scope=True)


# Must show: each lossless format with non-consecutive IDs loads to exactly the right masks.
FORMATS = {
    "png8": dict(ids=(7, 130, 255), label_ext=".png", label_bits=8),
    "png16": dict(ids=(7, 300, 65000), label_ext=".png", label_bits=16),
    "bmp8": dict(ids=(7, 40, 200), label_ext=".bmp"),
    "tif32": dict(ids=(7, 300, 65000, 70000), label_ext=".tif"),
}


def test_every_format_loads_exact_masks_boxes_and_classes(tmp_path):
    root = tmp_path / "split"
    for stem, spec in FORMATS.items():
        write_sample(root, stem, **spec)
    dataset = seed_dataset(root, pipeline=LOAD)
    assert len(dataset) == len(FORMATS)
    for index in range(len(dataset)):
        results = dataset[index]
        stem = results["img_path"].rsplit("/", 1)[-1].split(".")[0]
        ids = FORMATS[stem]["ids"]
        label_map = blocks_label_map(64, 96, ids)
        masks = results["gt_masks"]
        assert isinstance(masks, BitmapMasks) and masks.masks.dtype == np.uint8
        assert masks.masks.shape == (len(ids), 64, 96)
        for k, label_id in enumerate(ids):
            truth = label_map == label_id
            assert np.array_equal(masks.masks[k], truth), (stem, label_id)
            rows, cols = np.nonzero(truth)
            box = [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
            assert results["gt_bboxes"].tensor[k].tolist() == box
        assert isinstance(results["gt_bboxes"], HorizontalBoxes)
        assert results["gt_bboxes_labels"].dtype == np.int64
        assert results["gt_bboxes_labels"].tolist() == [k % 3 for k in range(len(ids))]
        assert results["gt_ignore_flags"].dtype == bool and not results["gt_ignore_flags"].any()


@pytest.mark.parametrize(
    "augment",
    [
        [dict(type="Resize", scale=(80, 48), keep_ratio=True), dict(type="RandomFlip", prob=1.0)],
        [dict(type="RandomCrop", crop_size=(40, 40), allow_negative_crop=True)],
        [
            dict(type="RandomChoiceResize", scales=[(64, 40), (96, 64)], keep_ratio=True),
            dict(type="Pad", size_divisor=32),
        ],
    ],
    ids=["resize-flip", "crop", "multiscale-pad"],
)
def test_mmdet_transforms_work_unchanged_including_empty_images(seed_split, augment):
    root = seed_split()
    pipeline = LOAD + augment + [PACK]
    dataset = seed_dataset(root, pipeline=pipeline)
    for index in range(len(dataset)):
        packed = dataset[index]
        sample = packed["data_samples"]
        assert isinstance(sample, DetDataSample)
        gt = sample.gt_instances
        height, width = packed["inputs"].shape[1:]
        assert gt.masks.masks.shape[1:] == (height, width)
        assert len(gt.masks) == len(gt.bboxes) == len(gt.labels)
        assert gt.labels.dtype == torch.int64
        assert sample.metainfo["instances"] == dataset.get_data_info(index)["instances"]
    assert len(dataset[2]["data_samples"].gt_instances) == 0


def test_crowd_ids_become_ignore_flags(seed_split):
    root = seed_split()
    mark_crowd(root, "a", 7)
    dataset = seed_dataset(root, pipeline=LOAD)
    assert dataset[0]["gt_ignore_flags"].tolist() == [False, True, False]


def test_plain_array_boxes_when_box_type_is_none(seed_split):
    root = seed_split()
    dataset = seed_dataset(
        root, pipeline=after_image(dict(type="LoadSeedInstanceMasks", box_type=None))
    )
    boxes = dataset[0]["gt_bboxes"]
    assert isinstance(boxes, np.ndarray) and boxes.shape == (3, 4) and boxes.dtype == np.float32


def test_label_map_changed_after_build_names_the_file(seed_split):
    root = seed_split()
    dataset = seed_dataset(root, pipeline=LOAD)
    path = root / "labels" / "a.png"
    Image.fromarray(blocks_label_map(64, 96, (3, 7)).astype(np.uint8)).save(path)
    with pytest.raises(SeedFormatError, match="annotation listed 3") as info:
        dataset[0]
    assert str(info.value).startswith(str(path))


def test_misplaced_or_foreign_use_is_explained(seed_split):
    root = seed_split()
    misplaced = after_image(dict(type="Resize", scale=(48, 32)), dict(type="LoadSeedInstanceMasks"))
    dataset = seed_dataset(root, pipeline=misplaced)
    with pytest.raises(ValueError, match="right after the image loading step"):
        dataset[0]
    with pytest.raises(ValueError, match="LoadAnnotations instead"):
        LoadSeedInstanceMasks()(dict(img_path="x.png", instances=[]))
