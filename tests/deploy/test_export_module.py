"""The export module's static post-processing against the eager head's (no export here)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from solov2_plugin.deploy.export_module import SOLOv2ExportModule, coord_channels, linspace_unit
from solov2_plugin.deploy.onnx_export import example_input
from solov2_plugin.models.layers.coord import append_coord_channels
from solov2_plugin.models.layers.matrix_nms import matrix_nms
from solov2_plugin.models.layers.solo_postprocess import select_top_candidates

VAL_IMAGES = Path(__file__).resolve().parents[2] / "data" / "demo" / "val" / "images"


@pytest.fixture(scope="module")
def module(predictor):
    return SOLOv2ExportModule(predictor.model).eval()


def test_linspace_unit_is_torch_linspace_to_one_ulp():
    like = torch.zeros(1)
    assert linspace_unit(1, like).tolist() == [-1.0]
    assert linspace_unit(5, like).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    for length in range(2, 300):
        values = linspace_unit(length, like)
        assert values[0] == -1 and values[-1] == 1
        assert (values - torch.linspace(-1, 1, length)).abs().max() <= 2**-24


def test_coord_channels_layout():
    x = torch.randn(2, 3, 7, 5)
    out = coord_channels(x)
    assert out.shape == (2, 5, 7, 5)
    assert torch.equal(out[:, :3], x)
    assert torch.allclose(out, append_coord_channels(x), atol=2**-24, rtol=0)


def test_grid_sizes_are_the_heads(module):
    head = module.head
    assert head.keep_aspect_grids  # the demo config's seed layout
    for size in [(64, 64), (48, 64), (64, 17), (5, 80), (1, 1)]:
        assert module.grid_sizes(*size) == head.grid_sizes(size)


def _crop(path, height, width):
    from solov2_plugin.apis import read_image

    return np.ascontiguousarray(read_image(path)[:height, :width])


@pytest.mark.parametrize("shape", [(200, 256), (256, 150)])
def test_eager_module_equals_predictor(module, predictor, shape):
    sample = _crop(VAL_IMAGES / "val_0001.jpg", *shape)  # non-square: padded, aspect grids
    inputs = example_input(predictor, sample)
    with torch.no_grad():
        masks, labels, scores = module(*inputs)
    expected = predictor(sample)
    assert len(expected) == 8  # keep_all: max_per_img detections
    assert labels.tolist() == expected.labels.tolist()
    np.testing.assert_allclose(scores.numpy(), expected.scores, rtol=0, atol=1e-6)
    assert np.array_equal(masks.numpy(), expected.masks)


def test_eager_module_without_points_nms_equals_predictor(predictor):
    head = predictor.model.mask_head
    saved = head.test_cfg
    head.test_cfg = {**(saved or {}), "points_nms": False}
    try:
        module = SOLOv2ExportModule(predictor.model).eval()
        sample = _crop(VAL_IMAGES / "val_0001.jpg", 200, 256)
        with torch.no_grad():
            masks, labels, scores = module(*example_input(predictor, sample))
        expected = predictor(sample)
    finally:
        head.test_cfg = saved
    assert not module.points_nms and len(expected) == 8
    assert labels.tolist() == expected.labels.tolist()
    np.testing.assert_allclose(scores.numpy(), expected.scores, rtol=0, atol=1e-6)
    assert np.array_equal(masks.numpy(), expected.masks)


def test_candidates_are_select_top_candidates(module):
    generator = torch.Generator().manual_seed(0)
    cells, classes, nms_pre = 40, 3, 12
    cls_scores = torch.rand(cells, classes, generator=generator)
    strides = torch.full((cells,), 2.0)
    logits = torch.randn(cells, 6, 6, generator=generator) * 2
    probs = logits.sigmoid().flatten(1)
    module.nms_pre, module.score_thr, module.mask_thr = nms_pre, 0.6, 0.5
    try:
        top = select_top_candidates(
            cls_scores,
            strides,
            lambda index: logits[index],
            score_thr=0.6,
            mask_thr=0.5,
            nms_pre=nms_pre,
            chunk_size=7,
        )
        got_cells, got_labels, got_scores, valid = module.select_candidates(
            cls_scores, strides, probs
        )
    finally:
        module.nms_pre, module.score_thr, module.mask_thr = 500, 0.0, 0.5
    assert int(valid.sum()) == len(top.cells) == nms_pre
    assert got_cells.tolist() == top.cells.tolist()
    assert got_labels.tolist() == top.labels.tolist()
    torch.testing.assert_close(got_scores, top.scores, rtol=0, atol=1e-7)


def test_candidates_pad_when_few(module):
    cls_scores = torch.tensor([[0.9, 0.0], [0.0, 0.7], [0.0, 0.0]])
    strides = torch.zeros(3)
    probs = torch.tensor([[0.8, 0.6, 0.1], [0.9, 0.1, 0.1], [0.9, 0.9, 0.9]])
    module.score_thr = 0.5
    try:
        cells, labels, scores, valid = module.select_candidates(cls_scores, strides, probs)
    finally:
        module.score_thr = 0.0
    # maskness: cell 0 (0.8 + 0.6) / 2 = 0.7, cell 1 0.9 / 1: scores 0.63 and 0.63 - tie
    # broken by the lower (cell, class) index, as the eager stable sort does.
    assert valid.tolist()[:3] == [True, True, False] and valid.shape == (500,)
    assert cells[:2].tolist() == [0, 1] and labels[:2].tolist() == [0, 1]
    torch.testing.assert_close(scores[:3], torch.tensor([0.63, 0.63, 0.0]))


@pytest.mark.parametrize("kernel", ["gaussian", "linear"])
def test_matrix_nms_is_the_function(module, kernel):
    generator = torch.Generator().manual_seed(1)
    num, pad = 10, 4
    masks = torch.rand(num + pad, 8, 8, generator=generator) > 0.4
    labels = torch.randint(0, 2, (num + pad,), generator=generator)
    scores = torch.sort(torch.rand(num, generator=generator), descending=True).values
    valid = torch.arange(num + pad) < num
    padded_scores = torch.cat([scores, torch.zeros(pad)])
    module.kernel, module.filter_thr = kernel, 0.3
    try:
        decayed, keep = module.matrix_nms(masks.flatten(1), labels, padded_scores, valid)
    finally:
        module.kernel, module.filter_thr = "gaussian", 0.0
    ref_scores, ref_labels, _, ref_keep = matrix_nms(
        masks[:num], labels[:num], scores, kernel=kernel, sigma=2.0, filter_thr=0.3
    )
    assert not keep[num:].any()
    kept = torch.nonzero(keep).flatten()
    order = torch.sort(decayed[kept], descending=True, stable=True).indices
    assert kept[order].tolist() == ref_keep.tolist()
    torch.testing.assert_close(decayed[kept][order], ref_scores, rtol=0, atol=1e-7)


def test_refuses_a_graph_without_static_sizes(predictor):
    head = predictor.model.mask_head
    saved = head.test_cfg
    head.test_cfg = {**saved, "nms_pre": -1}
    try:
        with pytest.raises(ValueError, match="nms_pre > 0"):
            SOLOv2ExportModule(predictor.model)
    finally:
        head.test_cfg = saved
    with pytest.raises(ValueError, match="SOLOv2DynamicHead"):
        SOLOv2ExportModule(torch.nn.Linear(2, 2))


def test_mmdet_layout_head_matches_predict():
    """mmdet's layout (level_resize='mmdet', square grids, mask stride 4) on a shrunk model."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope

    from solov2_plugin.apis import config_path
    from solov2_plugin.benchmark.models import model_config

    init_default_scope("mmdet")
    cfg = model_config(config_path("solov2_r50_fpn_1x_coco.py"), shrink=True)
    cfg.mask_head.num_classes = 3
    cfg.test_cfg = dict(score_thr=0.0, filter_thr=0.0, max_per_img=5, nms_pre=50)
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    image = torch.randint(0, 256, (1, 3, 96, 130), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(96, 130), ori_shape=(96, 130)))
    module = SOLOv2ExportModule(model).eval()
    with torch.no_grad():
        data = model.data_preprocessor({"inputs": [image[0]], "data_samples": [sample]})
        expected = model.predict(data["inputs"], data["data_samples"])[0].pred_instances
        masks, labels, scores = module(image, torch.tensor([96, 130]))
    assert len(expected) == 5
    assert labels.tolist() == expected.labels.tolist()
    torch.testing.assert_close(scores, expected.scores, rtol=0, atol=1e-6)
    assert torch.equal(masks, expected.masks)
