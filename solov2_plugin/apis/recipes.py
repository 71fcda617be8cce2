"""The recipes compared on small custom data: ours (``configs/solov2_custom.py``) with the
settings measured from the data, and mmdet's SOLOv2-light R18 recipe with the data swapped in.

- :func:`custom_config`: the custom recipe for a data folder, input size, scale ranges and
  grids taken from :func:`solov2_plugin.analysis.suggest_settings` on its training split
  (what ``tools/analyze_dataset.py`` prints as ``--cfg-options`` for ``tools/train.py``);
- :func:`mmdet_light_config`: ``configs/solov2-light_r18_fpn_ms-3x_coco.py`` (mmdet's
  SOLOv2-light R18: ResNet-18 + FPN, multi-scale 352-512 px training, 448 px testing, SGD
  0.01, warm-up then steps at 27/36 and 33/36 of the schedule) from scratch, on seed-format
  data at batch 2, its epochs turned into iterations;
- :func:`set_iteration_schedule`: stretch or shrink an iteration schedule (loop, warm-up,
  cosine or step milestones) to another length.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence

from mmengine.config import Config

from .config import config_path
from .data_overrides import merge_cfg_options
from .runner_config import load_config

if TYPE_CHECKING:
    from ..analysis import SuggestedSettings

CUSTOM_CONFIG = "solov2_custom.py"
MMDET_LIGHT_CONFIG = "solov2-light_r18_fpn_ms-3x_coco.py"
#: mmdet's 3x schedule: 36 epochs, steps after epochs 27 and 33, 500 warm-up iterations.
MMDET_STEPS = (27 / 36, 33 / 36)
MMDET_WARMUP = 500


#: The custom recipe's hooks less its EMAHook.
_HOOKS_WITHOUT_EMA = [
    dict(type="ClassCountCheckHook"),
    dict(type="RecordBatchImagesHook"),
    dict(type="RandomStateCheckpointHook"),
    dict(type="PortableCheckpointHook"),
]

#: The evaluator of both recipes: on images of more than 100 objects COCO's mAP counts only
#: the 100 best detections (its AP50 counts 1000); ``CrowdedCocoMetric`` counts 1000 in both.
CROWDED_EVALUATOR = dict(
    type="CrowdedCocoMetric", metric=["bbox", "segm"], proposal_nums=(100, 300, 1000)
)

#: One-change variants of the custom recipe, measured in docs/results.md (each is merged
#: after the measured settings; ``analyze`` False keeps the config's levels).
ABLATIONS: Dict[str, Dict[str, Any]] = {
    # The demo's input size and head (256 px, 5 levels scaled from the seed), all else equal.
    "256px": dict(
        analyze=False,
        options={
            "input_size": (256, 256),
            "train_dataloader.dataset.pipeline.0.transforms.2.scale": (256, 256),
            "val_dataloader.dataset.pipeline.1.scale": (256, 256),
            "test_dataloader.dataset.pipeline.1.scale": (256, 256),
            "model.mask_head.scale_ranges": ((1, 32), (16, 64), (32, 128), (64, 256), (128, 512)),
            "model.mask_head.num_grids": (32, 24, 16, 12, 8),
        },
    ),
    # No EMA of the weights: validation uses the trained weights themselves.
    "no-ema": dict(
        analyze=True,
        options={"custom_hooks": _HOOKS_WITHOUT_EMA},
    ),
    # Horizontal flips only (no vertical flip).
    "no-augment": dict(
        analyze=True,
        options={"train_dataloader.dataset.pipeline.1.direction": "horizontal"},
    ),
    # The heavier augmentation the recipe had first: random crop of 75-100 % of each side,
    # +-20 % multi-scale resize, flips, photometric distortion.
    "full-augment": dict(
        analyze=True,
        options={
            "train_dataloader.dataset.pipeline": [
                dict(
                    type="CachedTransforms",
                    transforms=[dict(type="LoadSeedImage"), dict(type="LoadSeedInstanceMasks")],
                ),
                dict(type="RandomCrop", crop_type="relative_range", crop_size=(0.75, 0.75)),
                dict(
                    type="RandomResize", scale="INPUT_SIZE", ratio_range=(0.8, 1.2), keep_ratio=True
                ),
                dict(type="RandomFlip", prob=0.5, direction=["horizontal", "vertical"]),
                dict(type="PhotoMetricDistortion"),
                dict(type="PackDetInputs"),
            ],
        },
    ),
    # Batch 4 instead of 2, same learning rate (half as many updates in the time).
    "batch-4": dict(analyze=True, options={"train_dataloader.batch_size": 4}),
    # Warm-up, then a constant rate (no cosine decay).
    "constant-lr": dict(
        analyze=True,
        options={
            "param_scheduler": [
                dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=50)
            ]
        },
    ),
    # Both of no-ema and no-augment: resize + horizontal flip, no EMA.
    "plain": dict(
        analyze=True,
        options={
            "custom_hooks": _HOOKS_WITHOUT_EMA,
            "train_dataloader.dataset.pipeline.1.direction": "horizontal",
        },
    ),
}


def _data_options(data_root: str, classes: Sequence[str]) -> Dict[str, Any]:
    """``data_root`` (with a trailing slash) and ``classes`` as config options."""
    root = str(data_root)
    return {"data_root": root if root.endswith("/") else root + "/", "classes": list(classes)}


def _suggestion(data_root: str, max_size: int) -> SuggestedSettings:
    """The analysis' settings for ``<data_root>/train``.

    Raises:
        FileNotFoundError: The training split is missing.
    """
    from ..analysis import analyze_split, suggest_settings

    train_dir = Path(data_root) / "train"
    if not train_dir.is_dir():
        raise FileNotFoundError(
            f"{train_dir} not found: data_root must hold train/ and val/ in the seed "
            "format (tools/check_dataset.py checks a split)."
        )
    return suggest_settings(analyze_split(str(train_dir)), max_size=max_size)


def custom_config(
    data_root: str,
    classes: Sequence[str],
    analyze: bool = True,
    max_size: int = 640,
    cfg_options: Optional[Mapping[str, Any]] = None,
    config: Optional[str] = None,
) -> Config:
    """The custom recipe for a seed-format data folder.

    Args:
        data_root: Folder holding ``train/`` and ``val/``.
        classes: Class names (as in the annotations).
        analyze: Apply the settings suggested from ``<data_root>/train``'s object sizes
            (input size, head levels, scale ranges, grids).
        max_size: The analysis' cap on the input side (its CPU budget).
        cfg_options: Further overrides, merged last (dotted keys).
        config: Another base config; ``configs/solov2_custom.py`` when None.

    Returns:
        Config: Ready for ``Runner.from_cfg`` (after a work dir is set).

    Raises:
        FileNotFoundError: The config or the training split is missing.
    """
    cfg = load_config(
        config or config_path(CUSTOM_CONFIG), cfg_options=_data_options(data_root, classes)
    )
    if analyze:
        merge_cfg_options(cfg, _suggestion(data_root, max_size).cfg_options(cfg))
    merge_cfg_options(cfg, cfg_options)
    return cfg


def set_iteration_schedule(
    cfg: Config, max_iters: int, warmup_iters: Optional[int] = None
) -> Config:
    """Give an iteration schedule another length, in place.

    ``train_cfg.max_iters`` becomes ``max_iters``; every scheduler by iteration is mapped:
    a scheduler ending at the old length ends at the new one, a warm-up (``LinearLR`` from
    0) ends at ``warmup_iters`` (kept when None), a cosine's ``begin``/``T_max`` follow,
    step ``milestones`` keep their share of the schedule.

    Args:
        cfg: A config with ``train_cfg.max_iters`` and schedulers by iteration.
        max_iters: The new length (>= 1).
        warmup_iters: The new warm-up length.

    Returns:
        Config: ``cfg``.

    Raises:
        ValueError: ``max_iters`` < 1, or the config has no iteration schedule.
    """
    if max_iters < 1:
        raise ValueError(f"max_iters must be >= 1, got {max_iters}.")
    old = cfg.train_cfg.get("max_iters")
    if not old:
        raise ValueError(
            f"{cfg.filename}: train_cfg has no max_iters; use an IterBasedTrainLoop config "
            "such as configs/solov2_custom.py."
        )
    cfg.train_cfg.max_iters = int(max_iters)
    schedulers: List[dict] = cfg.get("param_scheduler", [])
    warmup_end = None
    for scheduler in schedulers:
        if scheduler.get("by_epoch", True):
            continue
        if scheduler["type"] == "LinearLR" and scheduler.get("begin", 0) == 0:
            if warmup_iters is not None:
                scheduler["end"] = int(warmup_iters)
            warmup_end = scheduler["end"]
            continue
        if warmup_end is not None and scheduler.get("begin", 0) not in (0, None):
            scheduler["begin"] = warmup_end
        if scheduler.get("end") in (old, None):
            scheduler["end"] = int(max_iters)
        if "T_max" in scheduler:
            scheduler["T_max"] = scheduler["end"] - scheduler.get("begin", 0)
        if "milestones" in scheduler:
            scheduler["milestones"] = [round(m * max_iters / old) for m in scheduler["milestones"]]
    return cfg


def _seed_pipeline(pipeline: Sequence[dict], with_masks: bool) -> List[dict]:
    """mmdet's COCO pipeline reading seed-format samples instead."""
    steps = []
    for step in pipeline:
        kind = step["type"]
        if kind == "LoadImageFromFile":
            steps.append(dict(type="LoadSeedImage"))
        elif kind == "LoadAnnotations":
            if with_masks:
                steps.append(dict(type="LoadSeedInstanceMasks"))
        elif kind == "PackDetInputs" and not with_masks:
            # 'instances' carries the ground truth CocoMetric builds without an ann_file.
            meta = tuple(step.get("meta_keys", ())) + ("instances",)
            steps.append(dict(type="PackDetInputs", meta_keys=meta))
        else:
            steps.append(dict(step))
    return steps


def mmdet_light_config(
    data_root: str,
    classes: Sequence[str],
    max_iters: int,
    batch_size: int = 2,
    config: Optional[str] = None,
) -> Config:
    """mmdet's SOLOv2-light R18 recipe, from scratch, on a seed-format data folder.

    Everything of mmdet's config is kept (model, multi-scale resizes, flip, SGD 0.01 with
    gradient clipping, 448 px test size) except: the data (seed format, ``batch_size``, one
    loader worker), no pretrained backbone (nothing can be fetched), and the 36-epoch
    schedule expressed in iterations: ``max_iters`` in all, a linear warm-up of
    ``min(500, max_iters // 10)`` iterations from a third of the rate, and the steps
    (x0.1) at 27/36 and 33/36 of ``max_iters``.

    Args:
        data_root: Folder holding ``train/`` and ``val/``.
        classes: Class names.
        max_iters: Length of the schedule.
        batch_size: Training images per batch.
        config: Another mmdet-style config; ``configs/solov2-light_r18_fpn_ms-3x_coco.py``
            when None.

    Returns:
        Config: Ready for ``Runner.from_cfg`` (after a work dir is set).
    """
    cfg = Config.fromfile(config or config_path(MMDET_LIGHT_CONFIG))
    root = _data_options(data_root, classes)["data_root"]
    names = tuple(classes)
    for name, split, with_masks in (
        ("train_dataloader", "train", True),
        ("val_dataloader", "val", False),
        ("test_dataloader", "val", False),
    ):
        loader = cfg[name]
        pipeline = _seed_pipeline(loader.dataset.pipeline, with_masks)
        dataset = dict(
            type="SeedInstanceDataset",
            data_root=root + split,
            metainfo=dict(classes=names),
            pipeline=pipeline,
            test_mode=not with_masks,
        )
        loader.dataset = dataset
        loader.num_workers = 1
        loader.persistent_workers = True
    cfg.train_dataloader.batch_size = int(batch_size)
    # Measured as the custom recipe is: COCO's mAP without its cap of 100 detections an image.
    cfg.val_evaluator = dict(CROWDED_EVALUATOR)
    cfg.test_evaluator = cfg.val_evaluator
    cfg.model.mask_head.num_classes = len(names)
    cfg.data_root, cfg.classes = root, names
    warmup = min(MMDET_WARMUP, max_iters // 10)
    cfg.train_cfg = dict(
        type="IterBasedTrainLoop", max_iters=int(max_iters), val_interval=max_iters
    )
    cfg.param_scheduler = [
        dict(type="LinearLR", start_factor=1.0 / 3, by_epoch=False, begin=0, end=warmup),
        dict(
            type="MultiStepLR",
            by_epoch=False,
            begin=0,
            end=int(max_iters),
            milestones=[round(share * max_iters) for share in MMDET_STEPS],
            gamma=0.1,
        ),
    ]
    cfg.default_hooks.checkpoint = dict(
        type="CheckpointHook", by_epoch=False, interval=max_iters, max_keep_ckpts=1
    )
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=20)
    cfg.randomness = dict(seed=0)
    return cfg


def recipe_config(
    recipe: str,
    data_root: str,
    classes: Sequence[str],
    max_iters: int,
    analyze: bool = True,
    max_size: int = 640,
    cfg_options: Optional[Mapping[str, Any]] = None,
    work_dir: Optional[str] = None,
) -> Config:
    """One of the compared recipes with a schedule of ``max_iters`` iterations.

    Args:
        recipe: ``'custom'`` (:func:`custom_config`, warm-up ``min(50, max_iters // 10)``),
            a name of :data:`ABLATIONS` (the custom recipe with one change) or
            ``'mmdet-light'`` (:func:`mmdet_light_config`).
        data_root: Folder holding ``train/`` and ``val/``.
        classes: Class names.
        max_iters: Schedule length.
        analyze: custom: apply the settings measured from the training split.
        max_size: custom: the analysis' cap on the input side.
        cfg_options: Overrides merged last.
        work_dir: The run's work dir.

    Returns:
        Config: The recipe.

    Raises:
        ValueError: An unknown recipe.
    """
    if recipe == "custom" or recipe in ABLATIONS:
        ablation = ABLATIONS.get(recipe, dict(analyze=analyze, options={}))
        cfg = custom_config(data_root, classes, ablation["analyze"], max_size)
        options = copy.deepcopy(ablation["options"])
        for step in options.get("train_dataloader.dataset.pipeline", []):
            if step.get("scale") == "INPUT_SIZE":
                step["scale"] = tuple(cfg.input_size)
        merge_cfg_options(cfg, options)
        set_iteration_schedule(cfg, max_iters, max(1, min(50, max_iters // 10)))
    elif recipe == "mmdet-light":
        cfg = mmdet_light_config(data_root, classes, max_iters)
        if analyze:
            # The data's detection cap, as the custom recipe gets it: mmdet's 100 would cap the
            # recall on images holding more objects (a setting of the data, not of the recipe).
            merge_cfg_options(cfg, _suggestion(data_root, max_size).test_options())
    else:
        raise ValueError(
            f"recipe must be 'custom', 'mmdet-light' or one of {sorted(ABLATIONS)}, got {recipe!r}."
        )
    merge_cfg_options(cfg, cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    return cfg
