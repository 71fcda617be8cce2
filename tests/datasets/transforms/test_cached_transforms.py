"""CachedTransforms: the same output as the plain pipeline, each image decoded once."""

import numpy as np
import pytest
from mmdet.datasets.transforms import Resize as MMDetResize
from mmdet.utils import register_all_modules
from seed_samples import seed_dataset

from solov2_plugin.datasets.transforms import CachedTransforms, LoadSeedInstanceMasks
from solov2_plugin.datasets.transforms.caching import result_nbytes

HEAD = [
    dict(type="LoadSeedImage"),
    dict(type="LoadSeedInstanceMasks"),
    dict(type="Resize", scale=(48, 48), keep_ratio=True),
]
TAIL = [dict(type="RandomFlip", prob=1.0, direction="vertical")]


@pytest.fixture(autouse=True)
def mmdet_scope():
    register_all_modules(init_default_scope=True)


def _datasets(root, **cache_args):
    plain = seed_dataset(root, pipeline=HEAD + TAIL)
    cached = seed_dataset(
        root, pipeline=[dict(type="CachedTransforms", transforms=HEAD, **cache_args)] + TAIL
    )
    return plain, cached


def _assert_same(a: dict, b: dict) -> None:
    assert np.array_equal(a["img"], b["img"])
    assert np.array_equal(a["gt_masks"].masks, b["gt_masks"].masks)
    assert np.array_equal(a["gt_bboxes"].tensor.numpy(), b["gt_bboxes"].tensor.numpy())
    assert np.array_equal(a["gt_bboxes_labels"], b["gt_bboxes_labels"])
    assert a["img_shape"] == b["img_shape"] and a["scale_factor"] == b["scale_factor"]


def test_cached_pipeline_gives_the_plain_pipelines_output_every_time(seed_split, monkeypatch):
    root = seed_split()
    plain, cached = _datasets(root)
    reads = []
    original = LoadSeedInstanceMasks.transform
    monkeypatch.setattr(
        LoadSeedInstanceMasks,
        "transform",
        lambda self, results: reads.append(results["img_path"]) or original(self, results),
    )
    for _ in range(3):
        for index in range(len(plain)):
            _assert_same(plain[index], cached[index])
    # The plain dataset read each of the 3 label maps 3 times, the cached one once.
    assert len(reads) == 3 * 3 + 3
    assert len(set(reads)) == 3
    cache = cached.pipeline.transforms[0]
    assert len(cache._cache) == 3
    assert type(cache.transforms.transforms[2]) is MMDetResize  # resizes the masks too


def test_served_copies_never_share_memory_with_the_cache(seed_split):
    root = seed_split({"a": dict(ids=(3, 7))})
    _, cached = _datasets(root)
    first = cached[0]
    first["img"][:] = 0  # a later transform writing in place must not reach the cache
    first["gt_masks"].masks[:] = 1
    second = cached[0]
    assert second["img"].any() and not second["gt_masks"].masks.all()
    stored = cached.pipeline.transforms[0]._cache[first["img_path"]]
    assert not np.shares_memory(second["img"], stored["img"])
    assert not np.shares_memory(second["gt_masks"].masks, stored["gt_masks"].masks)


def test_memory_cap_counts_the_arrays_and_stops_caching(seed_split):
    root = seed_split({"a": dict(ids=(3, 7)), "b": dict(ids=(5,))})
    plain, _ = _datasets(root)
    head = seed_dataset(root, pipeline=HEAD)
    sizes = [result_nbytes(head[i]) for i in range(2)]
    # 64 x 96 resized into 48 x 48: 32 x 48; image 3 bytes a pixel, one byte a mask pixel;
    # an instance 4 float32 box corners, an int64 label, a bool ignore flag (25 bytes);
    # Resize's 3 x 3 float32 homography matrix (36 bytes).
    assert sizes == [32 * 48 * (3 + 2) + 2 * 25 + 36, 32 * 48 * (3 + 1) + 25 + 36]
    _, cached = _datasets(root, max_bytes=sizes[0])
    for index in range(2):
        _assert_same(plain[index], cached[index])
    cache = cached.pipeline.transforms[0]
    assert cache.cached_bytes == sizes[0] and len(cache._cache) == 1
    _, nothing = _datasets(root, max_bytes=0)
    _assert_same(plain[0], nothing[0])
    assert nothing.pipeline.transforms[0]._cache == {}


def test_random_transforms_are_refused_by_name():
    with pytest.raises(ValueError, match="RandomFlip draws random numbers.*after the Cached"):
        CachedTransforms([dict(type="LoadSeedImage"), dict(type="RandomFlip", prob=0.5)])
    with pytest.raises(ValueError, match="max_bytes must be >= 0"):
        CachedTransforms([dict(type="LoadSeedImage")], max_bytes=-1)


def test_a_sample_without_its_key_is_named():
    with pytest.raises(KeyError, match="no 'img_path'.*set key="):
        CachedTransforms([dict(type="LoadSeedImage")])(dict(img_id=1))
