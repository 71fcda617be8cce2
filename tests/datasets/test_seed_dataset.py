"""SeedInstanceDataset: classes, data infos, filtering, warnings and bad input."""

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from mmdet.utils import register_all_modules
from PIL import Image
from pycocotools import mask as mask_utils
from seed_samples import CLASSES, blocks_label_map, mark_crowd, seed_dataset, write_sample

from solov2_plugin.datasets import (
    SeedBoxMismatchWarning,
    SeedFormatError,
    SeedImageDepthWarning,
    SeedInstanceDataset,
    SeedSemanticMapWarning,
    write_seed_sample,
)

META = dict(classes=CLASSES)


def test_data_infos_carry_paths_ids_and_rle_instances(seed_split):
    root = seed_split()
    dataset = seed_dataset(root)
    assert len(dataset) == 3
    infos = [dataset.get_data_info(i) for i in range(3)]
    assert [i["img_id"] for i in infos] == [1, 2, 3]
    assert [Path(i["img_path"]).name for i in infos] == ["a.png", "b.png", "c.png"]
    assert Path(infos[1]["label_map_path"]) == root / "labels" / "b.png"
    assert infos[2]["instances"] == []
    label_map = blocks_label_map(64, 96, (3, 7, 12))
    for k, (instance, label_id) in enumerate(zip(infos[0]["instances"], (3, 7, 12))):
        truth = label_map == label_id
        rows, cols = np.nonzero(truth)
        assert instance["label_id"] == label_id
        assert instance["bbox_label"] == k % 3
        assert instance["ignore_flag"] == 0
        assert instance["bbox"] == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
        assert instance["area"] == truth.sum()
        assert isinstance(instance["mask"]["counts"], str)
        assert np.array_equal(mask_utils.decode(instance["mask"]), truth)


def test_classes_from_cls_ind_dict_or_json_drop_background(seed_split, tmp_path):
    root = seed_split()
    cls_ind = {"background": 0, "triangle": 5, "disc": 1, "block": 2}
    path = tmp_path / "classes.json"
    path.write_text(json.dumps(cls_ind))
    for source in (cls_ind, str(path)):
        dataset = SeedInstanceDataset(data_root=str(root), cls_ind=source)
        assert dataset.metainfo["classes"] == CLASSES
        assert dataset.category_ids == [1, 2, 5]
        assert len(dataset.metainfo["palette"]) == 3
    agreeing = SeedInstanceDataset(data_root=str(root), cls_ind=cls_ind, metainfo=META)
    assert agreeing.metainfo["classes"] == CLASSES


def test_class_order_sets_labels(seed_split):
    root = seed_split()
    dataset = seed_dataset(root, metainfo=dict(classes=("triangle", "block", "disc")))
    labels = [i["bbox_label"] for i in dataset.get_data_info(0)["instances"]]
    assert labels == [2, 1, 0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(metainfo=None), "needs its classes"),
        (dict(cls_ind={"background": 0, "block": 1, "disc": 2, "triangle": 3}), "disagree"),
        (dict(ann_file="annotations/train.json"), "takes no ann_file"),
        (dict(filter_cfg=dict(filter_empty=True)), "filter_cfg keys"),
        (dict(data_prefix=dict(img_path="images")), "data_prefix keys"),
        (dict(metainfo=dict(classes=CLASSES, palette=[(1, 2, 3)])), "palette"),
    ],
)
def test_configuration_errors_are_value_errors(seed_split, kwargs, message):
    root = seed_split()
    with pytest.raises(ValueError, match=message):
        seed_dataset(root, **kwargs)


def test_images_without_instances_are_kept_unless_filtered(seed_split):
    root = seed_split()
    assert len(seed_dataset(root)) == 3
    filtered = seed_dataset(root, filter_cfg=dict(filter_empty_gt=True, min_size=32))
    stems = [Path(filtered.get_data_info(i)["img_path"]).stem for i in range(len(filtered))]
    assert stems == ["a", "b"]
    with pytest.raises(ValueError, match="removes all 3 images"):
        seed_dataset(root, filter_cfg=dict(min_size=65))
    assert len(seed_dataset(root, filter_cfg=dict(filter_empty_gt=True), test_mode=True)) == 3


def test_custom_sub_folder_names(seed_split):
    root = seed_split()
    for old, new in (("images", "rgb"), ("labels", "ids"), ("annotations", "json")):
        (root / old).rename(root / new)
    dataset = seed_dataset(root, data_prefix=dict(img="rgb", seg="ids", ann="json"))
    assert len(dataset) == 3


def test_lazy_init_reads_nothing_until_needed(seed_split):
    root = seed_split()
    shutil.rmtree(root / "labels")
    dataset = seed_dataset(root, lazy_init=True)
    assert dataset.metainfo["classes"] == CLASSES
    with pytest.raises(SeedFormatError, match="labels folder does not exist"):
        dataset.full_init()


def test_box_mismatch_warns_once_per_file_and_masks_win(seed_split):
    root = seed_split()
    ann = root / "annotations" / "a.json"
    content = json.loads(ann.read_text())
    truth = list(content["7"]["bbox"])
    content["7"]["bbox"][0] += 5
    content["12"]["bbox"][2] -= 4
    content["3"]["bbox"][1] += 2
    ann.write_text(json.dumps(content))
    with pytest.warns(SeedBoxMismatchWarning) as record:
        dataset = seed_dataset(root)
    assert len(record) == 1
    assert str(ann) in str(record[0].message) and "[7, 12]" in str(record[0].message)
    assert dataset.get_data_info(0)["instances"][1]["bbox"] == truth
    content["7"]["bbox"], content["12"]["bbox"] = truth, None
    ann.write_text(json.dumps(content).replace("null", "[0, 0, 1, 1]"))
    with pytest.warns(SeedBoxMismatchWarning):
        seed_dataset(root)
    del content["12"]["bbox"]
    ann.write_text(json.dumps(content))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_dataset(root)


def test_crowd_entries_become_ignored_instances(seed_split):
    root = seed_split()
    mark_crowd(root, "a", 12)
    flags = [i["ignore_flag"] for i in seed_dataset(root).get_data_info(0)["instances"]]
    assert flags == [0, 0, 1]


def _semantic_sample(root: Path, stem: str, class_of: dict) -> None:
    """Two classes painted as IDs 1 and 2: five separate discs and two separate blocks."""
    label_map = np.zeros((40, 60), np.int64)
    for y, x in ((2, 2), (2, 20), (2, 40), (20, 2), (20, 20)):
        label_map[y : y + 6, x : x + 6] = 1
    for y, x in ((20, 40), (32, 50)):
        label_map[y : y + 5, x : x + 5] = 2
    image = np.zeros((40, 60, 3), np.uint8)
    write_seed_sample(root, stem, image, label_map, class_of)


def test_semantic_label_maps_are_warned_about_once(tmp_path):
    root = tmp_path / "split"
    _semantic_sample(root, "a", {1: "disc", 2: "block"})
    _semantic_sample(root, "b", {1: "block", 2: "disc"})
    with pytest.warns(SeedSemanticMapWarning) as record:
        seed_dataset(root)
    assert len(record) == 1
    message = str(record[0].message)
    assert message.startswith(f"2 of 2 label maps of {root} look like semantic (class) maps")
    assert f"{root / 'labels' / 'a.png'} (ID 1 covers 5 separate regions)" in message
    assert "scipy.ndimage.label" in message


def test_ids_equal_to_class_indices_with_split_regions_are_warned_about(tmp_path):
    root = tmp_path / "split"
    label_map = np.zeros((20, 30), np.int64)
    label_map[2:8, 2:8] = label_map[2:8, 20:26] = 1
    label_map[12:18, 12:18] = 2
    names = {1: "disc", 2: "block"}
    write_seed_sample(root, "a", np.zeros((20, 30, 3), np.uint8), label_map, names)
    with pytest.warns(SeedSemanticMapWarning, match="every ID equals its class's index"):
        seed_dataset(root)
    swapped = {"background": 0, "block": 1, "disc": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SeedInstanceDataset(data_root=str(root), cls_ind=swapped)


def test_16_bit_images_read_by_load_image_from_file_are_warned_about(tmp_path):
    register_all_modules(init_default_scope=True)
    root = tmp_path / "split"
    write_sample(root, "a", (3, 7))
    image = np.linspace(0, 1728, 64 * 96).astype(np.uint16).reshape(64, 96)
    Image.fromarray(image).save(root / "images" / "a.png")
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadSeedInstanceMasks")]
    with pytest.warns(SeedImageDepthWarning) as record:
        seed_dataset(root, pipeline=pipeline)
    assert str(record[0].message).startswith(
        f"1 of 1 images of {root} have more than 8 bits per channel: "
        f"{root / 'images' / 'a.png'} (16-bit greyscale)."
    )
    assert "dict(type='LoadSeedImage')" in str(record[0].message)
    pipeline[0] = dict(type="LoadSeedImage")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        seed_dataset(root, pipeline=pipeline)


# --- bad input: every case names the file at fault ---------------------------------------


def _edit_json(path: Path, edit) -> None:
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def _replace_label_map(root: Path, name: str, array: np.ndarray) -> Path:
    (root / "labels" / "a.png").unlink()
    path = root / "labels" / name
    Image.fromarray(array).save(path)
    return path


def case_image_without_label_map(root):
    (root / "labels" / "a.png").unlink()
    return root / "images" / "a.png", "has no labels/a"


def case_image_without_annotation(root):
    (root / "annotations" / "a.json").unlink()
    return root / "images" / "a.png", "has no annotations/a.json"


def case_label_map_without_image(root):
    write_sample(root / "tmp", "z", (1,))
    shutil.move(root / "tmp" / "labels" / "z.png", root / "labels" / "z.png")
    return root / "labels" / "z.png", "has no image"


def case_annotation_without_image(root):
    (root / "annotations" / "z.json").write_text("{}")
    return root / "annotations" / "z.json", "has no image"


def case_lossy_label_map(root):
    path = _replace_label_map(root, "a.jpg", blocks_label_map(64, 96, (3, 7, 12)).astype(np.uint8))
    return path, "lossy"


def case_rgb_label_map(root):
    return _replace_label_map(root, "a.png", np.zeros((64, 96, 3), np.uint8)), "'RGB'"


def case_float_label_map(root):
    return _replace_label_map(root, "a.tif", np.zeros((64, 96), np.float32)), "float"


def case_label_map_size_differs(root):
    path = root / "labels" / "a.png"
    Image.fromarray(blocks_label_map(48, 96, (3, 7, 12)).astype(np.uint8)).save(path)
    return path, r"48x96 \(HxW\) but its image a.png is 64x96"


def case_id_in_map_not_in_json(root):
    path = root / "annotations" / "a.json"
    _edit_json(path, lambda c: c.pop("7"))
    return path, r"Label ID\(s\) 7 of a.png have no entry"


def case_id_in_json_not_in_map(root):
    path = root / "annotations" / "a.json"
    _edit_json(path, lambda c: c.update({"99": {"class": "disc", "bbox": [0, 0, 1, 1]}}))
    return path, r"Label ID\(s\) 99 of the annotation do not occur in a.png"


def case_unknown_class(root):
    path = root / "annotations" / "b.json"
    _edit_json(path, lambda c: c["300"].update({"class": "sphere"}))
    return path, "'sphere' are not among the dataset's classes"


def case_class_given_as_an_integer(root):
    path = root / "annotations" / "b.json"
    _edit_json(path, lambda c: c["300"].update({"class": 2}))
    return path, ("got the integer 2 \\(use the name, one of 'disc', 'block', 'triangle'\\)")


def case_malformed_json(root):
    path = root / "annotations" / "b.json"
    path.write_text(path.read_text()[:-5])
    return path, "not valid JSON"


def case_unreadable_image(root):
    path = root / "images" / "b.png"
    path.write_bytes(b"definitely not a png")
    return path, "cannot be decoded"


def case_truncated_image(root):
    path = root / "images" / "b.png"
    path.write_bytes(path.read_bytes()[:-200])
    return path, "truncated"


def case_empty_images_folder(root):
    for folder in ("images", "labels", "annotations"):
        shutil.rmtree(root / folder)
        (root / folder).mkdir()
    return root / "images", "holds no image"


def case_missing_folder(root):
    shutil.rmtree(root / "annotations")
    return root / "annotations", "annotations folder does not exist"


def case_missing_data_root(root):
    shutil.rmtree(root)
    return root / "images", "images folder does not exist"


def case_two_images_share_a_stem(root):
    Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(root / "images" / "a.jpg")
    return root / "images" / "a.png", "share the base name 'a'"


BAD_INPUT = [
    case_image_without_label_map,
    case_image_without_annotation,
    case_label_map_without_image,
    case_annotation_without_image,
    case_lossy_label_map,
    case_rgb_label_map,
    case_float_label_map,
    case_label_map_size_differs,
    case_id_in_map_not_in_json,
    case_id_in_json_not_in_map,
    case_unknown_class,
    case_class_given_as_an_integer,
    case_malformed_json,
    case_unreadable_image,
    case_truncated_image,
    case_empty_images_folder,
    case_missing_folder,
    case_missing_data_root,
    case_two_images_share_a_stem,
]


@pytest.mark.parametrize("case", BAD_INPUT, ids=lambda c: c.__name__[5:])
def test_bad_input_raises_an_error_naming_the_file(seed_split, case):
    root = seed_split()
    path, phrase = case(root)
    with pytest.raises(SeedFormatError, match=phrase) as info:
        seed_dataset(root, verify_images=True)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert info.value.fix and info.value.fix in message
