"""Seed <-> COCO conversion: RLE equal to pycocotools', lossless round trips, overlaps."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pycocotools import mask as mask_utils
from seed_samples import CLASSES, write_sample

from solov2_plugin.datasets import SeedInstanceDataset, read_label_map, write_seed_sample
from solov2_plugin.datasets.coco_convert import (
    coco_to_seed,
    decode_segmentation,
    encode_instance_rles,
    seed_to_coco,
)
from solov2_plugin.datasets.instance_maps import index_label_map


@settings(max_examples=20, deadline=None)
@given(
    st.tuples(st.integers(1, 12), st.integers(1, 12)).flatmap(
        lambda shape: arrays(np.int64, shape, elements=st.sampled_from([0, 0, 1, 5, 300, 70000]))
    )
)
def test_rles_equal_pycocotools_encode(label_map):
    ids, index_map = index_label_map(label_map)
    rles = encode_instance_rles(index_map, len(ids))
    for rle, label_id in zip(rles, ids.tolist()):
        expected = mask_utils.encode(np.asfortranarray((label_map == label_id).astype(np.uint8)))
        assert rle == {"size": list(label_map.shape), "counts": expected["counts"].decode()}


def test_decode_segmentation_accepts_polygons_and_both_rles():
    polygon = [[2.0, 2.0, 12.0, 2.0, 12.0, 9.0, 2.0, 9.0]]
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygon, 16, 20)))
    assert np.array_equal(decode_segmentation(polygon, 16, 20), expected.astype(bool))
    compressed = mask_utils.encode(np.asfortranarray(expected))
    assert np.array_equal(decode_segmentation(compressed, 16, 20), expected.astype(bool))
    uncompressed = {"size": [16, 20], "counts": [34, 7, 9, 7, 16 * 20 - 57]}
    decoded = decode_segmentation(uncompressed, 16, 20)
    assert decoded.sum() == 14 and decoded[2:9, 2].all() and decoded[2:9, 3].all()
    assert not decode_segmentation([[1.0, 2.0]], 16, 20).any()
    with pytest.raises(ValueError, match="size"):
        decode_segmentation(compressed, 20, 16)
    with pytest.raises(ValueError, match="polygons or an RLE"):
        decode_segmentation("oops", 16, 20)


def _data_list(root, **kwargs):
    dataset = SeedInstanceDataset(data_root=str(root), **kwargs)
    return dataset, [dataset.get_data_info(i) for i in range(len(dataset))]


def test_seed_to_coco_to_seed_gives_identical_label_maps(tmp_path):
    root = tmp_path / "split"
    write_sample(root, "a", (7, 300, 65000, 70000))
    write_sample(root, "b", (3, 9), crowd_ids=(9,))
    write_sample(root, "c", ())
    cls_ind = {"background": 0, "disc": 2, "block": 5, "triangle": 7}
    dataset, infos = _data_list(root, cls_ind=cls_ind)
    coco = seed_to_coco(infos, dataset.metainfo["classes"], dataset.category_ids)
    assert [c["id"] for c in coco["categories"]] == [2, 5, 7]
    assert [i["file_name"] for i in coco["images"]] == ["a.png", "b.png", "c.png"]
    first = coco["annotations"][0]
    assert first["area"] == infos[0]["instances"][0]["area"]
    assert first["bbox"][2:] == [23.0, 18.0] and first["seed_label_id"] == 7
    assert [a["iscrowd"] for a in coco["annotations"]] == [0, 0, 0, 0, 0, 1]
    converted = list(coco_to_seed(coco))
    for item, info in zip(converted, infos):
        assert np.array_equal(item.label_map, read_label_map(info["label_map_path"]))
        names = {i["label_id"]: CLASSES[i["bbox_label"]] for i in info["instances"]}
        assert item.classes_by_id == names
        assert item.lost == [] and item.overlap_pixels == 0
    assert converted[1].crowd_ids == (9,)


def test_coco_polygons_to_seed_and_back_keep_the_masks(tmp_path):
    polygons = [
        [[4.0, 4.0, 30.0, 4.0, 30.0, 20.0, 4.0, 20.0]],
        [[40.0, 10.0, 60.0, 30.0, 40.0, 40.0]],
        [[5.5, 30.2, 20.7, 28.1, 25.0, 45.9, 8.3, 44.0]],
    ]
    coco = dict(
        images=[dict(id=11, file_name="sub/x.jpg", height=48, width=64)],
        annotations=[
            dict(id=k + 1, image_id=11, category_id=3, segmentation=p, iscrowd=0)
            for k, p in enumerate(polygons)
        ],
        categories=[dict(id=3, name="disc")],
    )
    (item,) = coco_to_seed(coco)
    assert sorted(item.classes_by_id) == [1, 2, 3]
    write_seed_sample(
        tmp_path / "split",
        "x",
        np.zeros((48, 64, 3), np.uint8),
        item.label_map,
        item.classes_by_id,
    )
    dataset, infos = _data_list(tmp_path / "split", metainfo=dict(classes=("disc",)))
    back = seed_to_coco(infos, ("disc",), [3])
    for ann, polygon in zip(back["annotations"], polygons):
        assert np.array_equal(
            decode_segmentation(ann["segmentation"], 48, 64), decode_segmentation(polygon, 48, 64)
        )


def test_overlaps_keep_small_objects_on_top_and_report_losses():
    square = np.zeros((20, 20), np.uint8)
    big, small, crowd = (square.copy() for _ in range(3))
    big[2:14, 2:14] = 1
    small[8:12, 8:12] = 1
    crowd[0:20, 0:5] = 1
    duplicate = small.copy()
    segs = [mask_utils.encode(np.asfortranarray(m)) for m in (crowd, big, small, duplicate)]
    coco = dict(
        images=[dict(id=1, file_name="a.png", height=20, width=20)],
        annotations=[
            dict(id=10 + k, image_id=1, category_id=1, segmentation=s, iscrowd=int(k == 0))
            for k, s in enumerate(segs)
        ],
        categories=[dict(id=1, name="disc")],
    )
    (item,) = coco_to_seed(coco)
    assert item.lost == [12]
    assert item.crowd_ids == (1,)
    assert item.label_map[18, 2] == 1 and item.label_map[5, 3] == 2 and item.label_map[9, 9] == 4
    assert sorted(item.classes_by_id) == [1, 2, 4]
    assert item.overlap_pixels == int(((crowd + big + small + duplicate) > 1).sum())


def test_category_ids_must_match_the_classes():
    with pytest.raises(ValueError, match="one distinct ID per class"):
        seed_to_coco([], ("a", "b"), [1, 1])
