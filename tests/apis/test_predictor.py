"""``SOLOv2Predictor`` on a checkpoint trained here, and mmdet's inference APIs on the same."""

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose

from solov2_plugin.apis import (
    SOLOv2Predictor,
    UnreadableImageError,
    det_inferencer_config,
    read_image,
)
from solov2_plugin.apis.predictor import as_bgr, check_resizable, in_memory_test_pipeline
from solov2_plugin.structures import masks_to_boxes

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / "configs" / "solov2_demo.py"
DEMO_CLASSES = ("disc", "block", "triangle", "ring", "rod")
VAL = [REPO / "data" / "demo" / "val" / "images" / f"val_{index:04d}.jpg" for index in range(3)]


def assert_same_instances(first, second, score_atol: float = 1e-5) -> None:
    """Same masks, labels and boxes; scores within ``score_atol`` (batching changes the sums)."""
    assert first.masks.shape == second.masks.shape
    assert np.array_equal(first.masks, second.masks)
    assert np.array_equal(first.labels, second.labels)
    np.testing.assert_allclose(first.scores, second.scores, atol=score_atol)
    np.testing.assert_array_equal(first.bboxes, second.bboxes)


def test_prediction_shapes_and_types(predictor: SOLOv2Predictor) -> None:
    result = predictor(VAL[0])
    assert predictor.class_names == DEMO_CLASSES
    assert predictor.palette is not None and len(predictor.palette) == len(DEMO_CLASSES)
    assert predictor.test_cfg["max_per_img"] == 8
    assert result.masks.shape == (8, 256, 256) and result.masks.dtype == bool
    assert result.labels.dtype == np.int64 and result.labels.shape == (8,)
    assert set(result.labels.tolist()) <= set(range(len(DEMO_CLASSES)))
    assert result.scores.dtype == np.float32
    assert np.all(np.diff(result.scores) <= 0), "scores come best first"
    assert result.masks.any(axis=(1, 2)).all(), "no empty mask survives the area filter"
    # Boxes are the masks' tight boxes, max corner exclusive.
    np.testing.assert_array_equal(
        result.bboxes, masks_to_boxes(torch.from_numpy(result.masks)).numpy()
    )


def test_batched_equals_single(predictor: SOLOv2Predictor) -> None:
    narrow = read_image(VAL[1])[:, :160]  # pads to another input size: its own batch
    inputs = [VAL[0], narrow, VAL[2], str(VAL[1])]
    singles = [predictor(image) for image in inputs]
    batched = predictor(inputs, batch_size=4)
    assert isinstance(batched, list) and len(batched) == 4
    assert batched[3].masks.shape[1:] == (256, 256) and batched[1].masks.shape[1:] == (256, 160)
    for single, batch in zip(singles, batched):
        assert_same_instances(single, batch)


def test_arrays_rgb_by_default_bgr_on_request(predictor: SOLOv2Predictor) -> None:
    from_file = predictor(VAL[0])
    rgb = read_image(VAL[0])
    bgr = cv2.imread(str(VAL[0]))
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])
    assert_same_instances(predictor(rgb), from_file, score_atol=0)
    assert_same_instances(predictor(bgr, channel_order="bgr"), from_file, score_atol=0)


def test_mask_out_stride_two_gives_half_size_masks(tiny_checkpoint: Path, keep_all: dict) -> None:
    half = SOLOv2Predictor(
        DEMO_CONFIG, tiny_checkpoint, device="cpu", mask_out_stride=2, **keep_all
    )
    result = half(read_image(VAL[0])[:255, :201])
    assert result.masks.shape == (8, 128, 101)
    assert result.bboxes[:, 2].max() <= 201 and result.bboxes[:, 3].max() <= 255


def test_unknown_test_cfg_key_raises(tiny_checkpoint: Path) -> None:
    with pytest.raises(ValueError, match=r"score_th'\].*valid keys are .*'score_thr'"):
        SOLOv2Predictor(DEMO_CONFIG, tiny_checkpoint, device="cpu", score_th=0.3)


def test_missing_files_are_named(tmp_path: Path, tiny_checkpoint: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        SOLOv2Predictor(DEMO_CONFIG, tmp_path / "nowhere.pth")
    with pytest.raises(FileNotFoundError, match="nowhere.py"):
        SOLOv2Predictor(tmp_path / "nowhere.py", tiny_checkpoint)


def test_checkpoint_of_another_model_is_refused(tmp_path: Path, tiny_checkpoint: Path) -> None:
    from mmengine.config import Config

    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.model.mask_head.stacked_convs = 3  # a layer the checkpoint lacks
    with pytest.raises(ValueError, match="does not fit the model"):
        SOLOv2Predictor(cfg, tiny_checkpoint, device="cpu")


def test_test_pipeline_drops_loading_and_ground_truth() -> None:
    from mmengine.config import Config

    steps = in_memory_test_pipeline(Config.fromfile(str(DEMO_CONFIG)))
    assert [step["type"] for step in steps] == ["Resize", "PackDetInputs"]
    assert "instances" not in steps[-1]["meta_keys"] and "img_shape" in steps[-1]["meta_keys"]


@pytest.mark.parametrize(
    "write, expected",
    [
        # 16-bit: scaled by the image's maximum (1000 -> 255, 500 -> 128).
        (lambda p: cv2.imwrite(p, np.array([[0, 500, 1000]], np.uint16)), [0, 128, 255]),
        # greyscale: replicated to three channels.
        (lambda p: cv2.imwrite(p, np.array([[7, 8, 9]], np.uint8)), [7, 8, 9]),
    ],
    ids=["16-bit", "greyscale"],
)
def test_read_image_depths(tmp_path: Path, write, expected) -> None:
    path = str(tmp_path / "image.png")
    write(path)
    image = read_image(path)
    assert image.shape == (1, 3, 3) and image.dtype == np.uint8
    np.testing.assert_array_equal(image[0], np.repeat(np.array(expected)[:, None], 3, axis=1))


def test_read_image_rgba_drops_alpha_and_is_rgb(tmp_path: Path) -> None:
    path = str(tmp_path / "rgba.png")
    bgra = np.array([[[10, 20, 30, 0], [40, 50, 60, 255]]], np.uint8)
    cv2.imwrite(path, bgra)
    np.testing.assert_array_equal(read_image(path), [[[30, 20, 10], [60, 50, 40]]])


def test_unreadable_image_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(UnreadableImageError, match=r"broken\.png: The image cannot be decoded"):
        read_image(broken)
    with pytest.raises(UnreadableImageError, match=r"missing\.png: The file does not exist"):
        read_image(tmp_path / "missing.png")


def test_as_bgr_checks_arrays() -> None:
    grey = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(as_bgr(grey), np.repeat(grey[..., None], 3, axis=2))
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    assert as_bgr(rgba)[0, 0].tolist() == [0, 0, 200]
    with pytest.raises(ValueError, match="uint8"):
        as_bgr(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\)"):
        as_bgr(np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="channel_order='hsv'"):
        as_bgr(grey, channel_order="hsv")


def test_mmdet_init_detector_and_inference_detector(
    predictor: SOLOv2Predictor, tiny_checkpoint: Path, keep_all: dict
) -> None:
    from mmdet.apis import inference_detector, init_detector

    options = {f"model.test_cfg.{key}": value for key, value in keep_all.items()}
    # mmdet's default device is cuda:0: on a CPU machine device='cpu' must be given.
    model = init_detector(str(DEMO_CONFIG), str(tiny_checkpoint), device="cpu", cfg_options=options)
    assert tuple(model.dataset_meta["classes"]) == DEMO_CLASSES
    samples = inference_detector(model, [str(path) for path in VAL[:2]])
    for sample, path in zip(samples, VAL[:2]):
        instances = sample.pred_instances.cpu().numpy()
        instances.masks = instances.masks.astype(bool)
        assert_same_instances(instances, predictor(path), score_atol=0)


def test_mmdet_det_inferencer_clean_call(
    predictor: SOLOv2Predictor, tiny_checkpoint: Path, keep_all: dict, tmp_path: Path
) -> None:
    from mmdet.apis import DetInferencer

    cfg = det_inferencer_config(DEMO_CONFIG)
    cfg.model.test_cfg.update(keep_all)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inferencer = DetInferencer(cfg, str(tiny_checkpoint), device="cpu", show_progress=False)
        output = inferencer(str(VAL[0]), return_datasamples=True, out_dir=str(tmp_path))
    messages = [str(warning.message) for warning in caught]
    assert not [m for m in messages if "VisBackend" in m or "scope" in m], messages
    instances = output["predictions"][0].pred_instances.cpu().numpy()
    instances.masks = instances.masks.astype(bool)
    assert_same_instances(instances, predictor(VAL[0]), score_atol=0)
    assert (tmp_path / "vis" / "val_0000.jpg").is_file()


def test_class_names_from_checkpoint_then_config() -> None:
    from mmengine.config import Config

    from solov2_plugin.apis.predictor import class_names_from

    cfg = Config.fromfile(str(DEMO_CONFIG))
    meta = {"dataset_meta": {"CLASSES": ("a", "b", "c", "d", "e")}}
    assert class_names_from(meta, cfg, 5) == ("a", "b", "c", "d", "e")
    assert class_names_from({}, cfg, 5) == DEMO_CLASSES
    assert class_names_from({}, Config({}), 2) == ("class_0", "class_1")
    with pytest.raises(ValueError, match="names 5 classes .* predicts 3"):
        class_names_from({}, cfg, 3)


@pytest.mark.parametrize(
    "shape, scale, keep_ratio, refused",
    [
        ((1, 600), (256, 256), True, True),  # 600 -> 256: 1 * 0.427 rounds to 0 px
        ((2, 1000), (256, 256), True, False),  # 2 * 0.256 = 0.512 rounds to 1 px
        ((1, 600), (256, 256), False, False),  # a fixed size never shrinks to 0
    ],
)
def test_check_resizable_refuses_images_resized_to_nothing(shape, scale, keep_ratio, refused):
    pipeline = Compose([dict(type="mmdet.Resize", scale=scale, keep_ratio=keep_ratio)])
    if not refused:
        check_resizable(pipeline, shape, "strip.png")
        return
    expected = r"strip.png: an image of shape \(1, 600\) becomes 0 x 256"
    with pytest.raises(ValueError, match=expected):
        check_resizable(pipeline, shape, "strip.png")


def test_empty_array_is_refused_with_its_own_shape():
    with pytest.raises(ValueError, match=r"at least 1 x 1 pixel, got the empty shape \(0, 0\)"):
        as_bgr(np.zeros((0, 0), np.uint8))
