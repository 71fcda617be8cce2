"""configs/solov2_custom.py and the recipes compared with it (solov2_plugin.apis.recipes)."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from solov2_plugin.analysis import analyze_split, suggest_settings
from solov2_plugin.apis import load_config
from solov2_plugin.apis.budget_training import budget_config, cache_fill_iters, train_for_budget
from solov2_plugin.apis.config import config_path
from solov2_plugin.apis.recipes import (
    custom_config,
    mmdet_light_config,
    recipe_config,
    set_iteration_schedule,
)
from solov2_plugin.datasets import SeedInstanceDataset, write_cls_ind, write_seed_sample

CUSTOM = config_path("solov2_custom.py")


def _discs(root: Path, images: int = 3, size=(96, 128), radius: int = 7, seed: int = 0) -> Path:
    """A one-class split: bright discs of ``radius`` px on noise, 6 per image."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: size[0], : size[1]]
    for index in range(images):
        label_map = np.zeros(size, np.int64)
        for k in range(6):
            cy, cx = 16 + 32 * (k // 3) + index, 20 + 40 * (k % 3) + index
            label_map[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2] = k + 1
        image = rng.integers(0, 60, (*size, 3)).astype(np.uint8)
        image[label_map > 0] = 200
        write_seed_sample(root, f"im{index}", image, label_map, {k + 1: "cell" for k in range(6)})
    return root


@pytest.fixture
def disc_data(tmp_path) -> Path:
    """``data_root`` with train/ (3 images) and val/ (2 images)."""
    root = tmp_path / "discs"
    _discs(root / "train", 3)
    _discs(root / "val", 2, seed=1)
    write_cls_ind(root / "classes.json", {"background": 0, "cell": 1})
    return root


def test_data_root_and_classes_are_the_only_required_overrides():
    cfg = load_config(CUSTOM, cfg_options={"data_root": "data/hela/", "classes": ["nucleus"]})
    assert cfg.train_dataloader.dataset.data_root == "data/hela/train"
    assert cfg.val_dataloader.dataset.data_root == "data/hela/val"
    assert cfg.test_dataloader.dataset.data_root == "data/hela/val"
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert tuple(cfg[loader].dataset.metainfo.classes) == ("nucleus",)
    assert cfg.model.mask_head.num_classes == 1


def test_the_recipe_pieces():
    cfg = Config.fromfile(CUSTOM)
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [step["type"] for step in pipeline] == [
        "CachedTransforms",
        "RandomFlip",
        "PackDetInputs",
    ]
    assert [step["type"] for step in pipeline[0].transforms] == [
        "LoadSeedImage",
        "LoadSeedInstanceMasks",
        "Resize",
    ]
    assert pipeline[0].max_bytes == 2 << 30
    assert pipeline[1]["direction"] == ["horizontal", "vertical"]
    # The cache lives in the process that runs the pipeline: the training process itself,
    # with a sampler that never ends (no loader restarted at each epoch).
    assert cfg.train_dataloader.num_workers == 0
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.train_dataloader.sampler.type == "InfiniteSampler"
    assert cfg.model.test_cfg.points_nms is False
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        assert evaluator.type == "CrowdedCocoMetric"
        assert tuple(evaluator.proposal_nums) == (100, 300, 1000)
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.train_cfg.type == "IterBasedTrainLoop" and cfg.train_cfg.max_iters == 900
    warmup, cosine = cfg.param_scheduler
    assert (warmup["type"], warmup["end"]) == ("LinearLR", 50)
    assert (cosine["type"], cosine["begin"], cosine["end"], cosine["T_max"]) == (
        "CosineAnnealingLR",
        50,
        900,
        850,
    )
    ema = [hook for hook in cfg.custom_hooks if hook["type"] == "EMAHook"]
    assert ema and ema[0]["ema_type"] == "ExpMomentumEMA"
    assert cfg.default_hooks.checkpoint.save_best == "coco/segm_mAP"


def test_set_iteration_schedule_maps_warmup_cosine_and_steps():
    cfg = set_iteration_schedule(Config.fromfile(CUSTOM), 200, warmup_iters=20)
    warmup, cosine = cfg.param_scheduler
    assert cfg.train_cfg.max_iters == 200 and warmup["end"] == 20
    assert (cosine["begin"], cosine["end"], cosine["T_max"]) == (20, 200, 180)
    light = mmdet_light_config("data/x", ["a"], 400)
    set_iteration_schedule(light, 800)
    assert light.param_scheduler[1]["milestones"] == [600, 734]
    assert light.param_scheduler[1]["end"] == 800
    with pytest.raises(ValueError, match="max_iters"):
        set_iteration_schedule(cfg, 0)
    with pytest.raises(ValueError, match="IterBasedTrainLoop"):
        set_iteration_schedule(Config.fromfile(config_path("solov2_demo.py")), 10)


def test_mmdet_light_config_swaps_only_the_data():
    cfg = mmdet_light_config("data/hela", ["nucleus"], 400)
    assert cfg.val_evaluator["type"] == cfg.test_evaluator["type"] == "CrowdedCocoMetric"
    train = cfg.train_dataloader
    assert train.batch_size == 2 and train.dataset.type == "SeedInstanceDataset"
    assert train.dataset.data_root == "data/hela/train"
    assert [s["type"] for s in train.dataset.pipeline] == [
        "LoadSeedImage",
        "LoadSeedInstanceMasks",
        "RandomChoiceResize",
        "RandomFlip",
        "PackDetInputs",
    ]
    test_steps = cfg.val_dataloader.dataset.pipeline
    assert [s["type"] for s in test_steps] == ["LoadSeedImage", "Resize", "PackDetInputs"]
    assert tuple(test_steps[1]["scale"]) == (448, 768)  # mmdet's light test size
    assert "instances" in test_steps[2]["meta_keys"]
    assert cfg.model.mask_head.num_classes == 1
    assert cfg.model.backbone.depth == 18 and cfg.model.backbone.init_cfg is None
    assert cfg.optim_wrapper.optimizer.type == "SGD" and cfg.optim_wrapper.optimizer.lr == 0.01
    warmup, steps = cfg.param_scheduler
    assert (warmup["end"], steps["milestones"], steps["gamma"]) == (40, [300, 367], 0.1)
    with pytest.raises(ValueError, match="recipe"):
        recipe_config("mask-rcnn", "data/x", ["a"], 10)


def test_custom_config_applies_the_measured_settings(disc_data):
    cfg = custom_config(str(disc_data), ["cell"])
    expected = suggest_settings(analyze_split(str(disc_data / "train")))
    # 128 px wide images: the input is their own size (and the analysis' floor of 128).
    assert expected.input_size == 128
    assert tuple(cfg.input_size) == (128, 128)
    assert tuple(cfg.train_dataloader.dataset.pipeline[0].transforms[2].scale) == (128, 128)
    assert tuple(cfg.val_dataloader.dataset.pipeline[1].scale) == (128, 128)
    assert tuple(map(tuple, cfg.model.mask_head.scale_ranges)) == tuple(
        map(tuple, expected.scale_ranges)
    )
    assert tuple(cfg.model.mask_head.num_grids) == tuple(expected.num_grids)
    with pytest.raises(FileNotFoundError, match="train/ and val/"):
        custom_config(str(disc_data / "nowhere"), ["cell"])


def test_train_pipeline_and_loss_on_a_seed_sample(disc_data):
    init_default_scope("mmdet")
    cfg = custom_config(str(disc_data), ["cell"])
    dataset = SeedInstanceDataset(
        data_root=str(disc_data / "train"),
        metainfo=dict(classes=("cell",)),
        pipeline=[],
    )
    torch.manual_seed(0)
    np.random.seed(0)
    pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
    packed = [pipeline(dataset.get_data_info(i)) for i in range(2)]
    for sample in packed:
        image = sample["inputs"]
        gt = sample["data_samples"].gt_instances
        assert image.shape[0] == 3 and max(image.shape[1:]) <= 128 * 1.2 + 1
        assert gt.masks.masks.shape[1:] == tuple(image.shape[1:])
        assert len(gt.masks) == len(gt.bboxes) == len(gt.labels) >= 1
    model = MODELS.build(cfg.model)
    model.init_weights()
    batch = model.data_preprocessor(
        {
            "inputs": [p["inputs"] for p in packed],
            "data_samples": [p["data_samples"] for p in packed],
        },
        True,
    )
    losses = model(**batch, mode="loss")
    assert set(losses) == {"loss_mask", "loss_cls"}
    assert all(torch.isfinite(value) and value > 0 for value in losses.values())


@pytest.mark.slow
def test_a_budgeted_run_stops_at_its_budget_with_a_final_point(disc_data, tmp_path):
    cfg = recipe_config("custom", str(disc_data), ["cell"], 1000, work_dir=str(tmp_path / "run"))
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.persistent_workers = False
    budget_config(cfg, budget_minutes=0.05, val_interval=500)
    points = train_for_budget(cfg)
    # Stopped by the 3-second budget, long before the 1000-iteration schedule; the hook
    # validated the last iteration itself (the loop's next validation was at 500).
    assert len(points) == 1
    assert 1 <= points[0].iteration < 500
    assert points[0].train_minutes >= 0.05
    # -1 when an untrained model detects nothing (the evaluator then returns no metric).
    assert points[0].ap == -1.0 or 0.0 <= points[0].ap <= 1.0
    assert (tmp_path / "run" / "budget_curve.json").is_file()


def test_ablations_change_one_thing_each(disc_data):
    full = recipe_config("custom", str(disc_data), ["cell"], 100)
    small = recipe_config("256px", str(disc_data), ["cell"], 100)
    plain = recipe_config("plain", str(disc_data), ["cell"], 100)
    assert tuple(small.input_size) == (256, 256)
    assert tuple(small.train_dataloader.dataset.pipeline[0].transforms[2].scale) == (256, 256)
    assert tuple(small.model.mask_head.num_grids) == (32, 24, 16, 12, 8)
    assert small.custom_hooks == full.custom_hooks  # EMA kept
    steps = plain.train_dataloader.dataset.pipeline
    assert [s["type"] for s in steps] == ["CachedTransforms", "RandomFlip", "PackDetInputs"]
    assert steps[1]["direction"] == "horizontal"
    assert tuple(steps[0]["transforms"][2]["scale"]) == tuple(full.input_size) == (128, 128)
    assert "EMAHook" not in [hook["type"] for hook in plain.custom_hooks]
    assert plain.model.mask_head.num_grids == full.model.mask_head.num_grids
    for cfg in (full, small, plain):
        assert cfg.train_cfg.max_iters == 100 and cfg.param_scheduler[0]["end"] == 10


def _differing_keys(a: dict, b: dict, prefix: str = "") -> set:
    """Dotted keys whose values differ between two nested config dicts."""
    keys = set()
    for key in set(a) | set(b):
        left, right = a.get(key), b.get(key)
        if isinstance(left, dict) and isinstance(right, dict):
            keys |= _differing_keys(left, right, f"{prefix}{key}.")
        elif left != right:
            keys.add(f"{prefix}{key}")
    return keys


@pytest.mark.parametrize(
    "recipe, changed",
    [
        ("no-ema", {"custom_hooks"}),
        ("no-augment", {"train_dataloader.dataset.pipeline"}),
        ("full-augment", {"train_dataloader.dataset.pipeline"}),
        ("batch-4", {"train_dataloader.batch_size"}),
        ("constant-lr", {"param_scheduler"}),
    ],
)
def test_each_one_change_ablation_changes_only_its_key(disc_data, recipe, changed):
    full = recipe_config("custom", str(disc_data), ["cell"], 100).to_dict()
    variant = recipe_config(recipe, str(disc_data), ["cell"], 100).to_dict()
    assert _differing_keys(full, variant) == changed
    if recipe == "no-ema":
        assert [h["type"] for h in variant["custom_hooks"]] == [
            h["type"] for h in full["custom_hooks"] if h["type"] != "EMAHook"
        ]
    steps = variant["train_dataloader"]["dataset"]["pipeline"]
    if recipe == "no-augment":
        assert steps[:1] == full["train_dataloader"]["dataset"]["pipeline"][:1]
        assert steps[1]["direction"] == "horizontal"
    if recipe == "full-augment":
        assert [s["type"] for s in steps][1:5] == [
            "RandomCrop",
            "RandomResize",
            "RandomFlip",
            "PhotoMetricDistortion",
        ]
        # Decoding is cached; everything random comes after.
        assert [s["type"] for s in steps[0]["transforms"]] == [
            "LoadSeedImage",
            "LoadSeedInstanceMasks",
        ]
        assert tuple(steps[2]["scale"]) == (128, 128)  # the measured input size
    if recipe == "constant-lr":
        assert [s["type"] for s in variant["param_scheduler"]] == ["LinearLR"]
        assert variant["param_scheduler"][0]["end"] == 10  # the warm-up fitted to 100 iterations


def test_both_recipes_get_the_data_s_detection_cap(tmp_path):
    # 120 discs (12 x 10) in one image: mmdet's 100 detections could not find them all.
    yy, xx = np.mgrid[:256, :512]
    label_map = np.zeros((256, 512), np.int64)
    for k in range(120):
        cy, cx = 12 + 24 * (k // 12), 16 + 40 * (k % 12)
        label_map[(yy - cy) ** 2 + (xx - cx) ** 2 <= 16] = k + 1
    image = np.where(label_map[..., None] > 0, 200, 30).astype(np.uint8).repeat(3, axis=2)
    names = {k + 1: "cell" for k in range(120)}
    write_seed_sample(tmp_path / "dense" / "train", "frame", image, label_map, names)
    root = str(tmp_path / "dense")
    assert int(analyze_split(root + "/train").objects_per_image.max()) == 120
    for recipe in ("custom", "mmdet-light"):
        test_cfg = recipe_config(recipe, root, ["cell"], 100).model.test_cfg
        assert (test_cfg.max_per_img, test_cfg.nms_pre) == (200, 500), recipe
    kept = recipe_config("mmdet-light", root, ["cell"], 100, analyze=False).model.test_cfg
    assert (kept.max_per_img, kept.nms_pre) == (100, 500)


def test_the_schedule_probe_skips_the_epoch_that_fills_the_cache(disc_data):
    cfg = recipe_config("custom", str(disc_data), ["cell"], 100)
    images = len(list((disc_data / "train" / "images").iterdir()))
    assert cache_fill_iters(cfg) == math.ceil(images / 2) > 0  # batch 2
    steps = cfg.train_dataloader.dataset.pipeline
    cfg.train_dataloader.dataset.pipeline = list(steps[0].transforms) + list(steps[1:])
    assert cache_fill_iters(cfg) == 0  # the same steps without CachedTransforms
