# SOLOv2 for your own small data set on a CPU: the recipe the README points users at.
# Only the data are required:
#   python tools/train.py configs/solov2_custom.py \
#       --cfg-options data_root=data/hela/ classes="['nucleus']"
# (splits in <data_root>/train and <data_root>/val in the seed format; data_root and classes
# reach every dataset and the head, see solov2_plugin.apis.merge_cfg_options).
# Input size, scale ranges and grids follow the data when you add the options that
# `python tools/analyze_dataset.py <data_root>/train --base configs/solov2_custom.py` prints
# (or call solov2_plugin.apis.recipes.custom_config, which does both in one step).
# Measured on a real data set (HeLa nuclei, 14 training images): docs/results.md, whose
# ablation table each choice below comes from.
# The model is the demo's (half-width ResNet-18, GN, 64-channel FPN and head); what follows
# is what differs for real small data.
_base_ = ["./solov2_demo.py"]

classes = ("object",)  # replace with --cfg-options classes="['a','b']"
data_root = "data/custom/"  # replace with --cfg-options data_root=path/ (holds train/, val/)
# The long side every image is resized to (keep_ratio): the data's own size when the CPU
# allows. tools/analyze_dataset.py suggests it (median long side, capped for the CPU).
input_size = (768, 768)
max_iters = 900  # at batch 2: ~14 minutes at 640 px on 2 cores (0.93 s an iteration, HeLa)
warmup_iters = 50
val_interval = 100

model = dict(
    # Every grid cell's score competes in Matrix NMS, not only the maxima of 2x2 neighbourhoods
    # (mmdet's points NMS): where objects are about one cell across and touch, points NMS drops
    # the weaker of two neighbours' cells. HeLa, the 20-minute checkpoint: mask AP 0.391 ->
    # 0.462, AP50 0.652 -> 0.783; demo data 0.363 -> 0.368 (docs/results.md).
    test_cfg=dict(points_nms=False),
    mask_head=dict(
        num_classes=len(classes),
        # mmdet's SOLOv2-light ranges (for 448-768 px inputs) and grids; the analysis
        # replaces both with ranges fitted to the measured object sizes.
        scale_ranges=((1, 56), (28, 112), (56, 224), (112, 448), (224, 896)),
        num_grids=(40, 36, 24, 16, 12),
    ),
)

# Augmentation: flips only. Heavier augmentation (random crop of 75-100 %, +-20 % multi-scale,
# photometric distortion) slowed learning within a 20-minute CPU budget on real data: mask AP
# 0.241 against 0.294 without it (docs/results.md, ablation "full-augment"); it can pay off in
# longer schedules. Flips cost nothing and keep the objects' look.
train_pipeline = [
    # Decoding an image, building one mask per object and resizing them give the same result
    # every epoch: done once per image, then served from memory (up to 2 GiB in the process
    # that runs the pipeline; the images beyond that are decoded each time).
    dict(
        type="CachedTransforms",
        transforms=[
            dict(type="LoadSeedImage"),
            dict(type="LoadSeedInstanceMasks"),
            dict(type="Resize", scale=input_size, keep_ratio=True),
        ],
        max_bytes=2 << 30,
    ),
    # Vertical flips too: microscopy has no up and down (for street scenes or documents set
    # train_dataloader.dataset.pipeline.1.direction=horizontal).
    dict(type="RandomFlip", prob=0.5, direction=["horizontal", "vertical"]),
    dict(type="PackDetInputs"),
]
test_pipeline = [
    dict(type="LoadSeedImage"),
    dict(type="Resize", scale=input_size, keep_ratio=True),
    dict(
        type="PackDetInputs",
        meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "instances"),
    ),
]
# Data: the cached pipeline runs in the training process itself (num_workers=0) and the
# sampler never ends. With every image in memory a batch costs ~0.1 s of flips and copies, less
# than handing it over from a worker process; and mmengine restarts a finite sampler's loader
# at each epoch (every 7 iterations here) with a pause of 2 s. Measured on HeLa, 2 threads:
# 0.93 s an iteration, against 1.22 s with one worker and 1.74 s before (docs/results.md).
# A data set larger than the cache (max_bytes below) decodes the rest every time: give it
# num_workers=1 and persistent_workers=True.
train_dataloader = dict(
    batch_size=2,  # small batches: more updates in the time (ablation in docs/results.md)
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(
        data_root=data_root + "train", metainfo=dict(classes=classes), pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root + "val", metainfo=dict(classes=classes), pipeline=test_pipeline
    ),
)
test_dataloader = val_dataloader
# Crowded images (cells, particles) hold more objects than the 100 detections an image that
# COCO's mAP counts (its AP50 counts 1000): on HeLa's ~190 nuclei a frame, perfect masks would
# score about 0.53. CrowdedCocoMetric counts 1000 for the mAP too (the model keeps at most
# test_cfg.max_per_img of them); with 100 objects an image or fewer it equals CocoMetric.
val_evaluator = dict(
    type="CrowdedCocoMetric", metric=["bbox", "segm"], proposal_nums=(100, 300, 1000)
)
test_evaluator = val_evaluator

# Iterations, not epochs: the schedule stays the same length whatever the number of images.
train_cfg = dict(
    _delete_=True, type="IterBasedTrainLoop", max_iters=max_iters, val_interval=val_interval
)
val_cfg = dict(type="ValLoop")
test_cfg = dict(type="TestLoop")
# Linear warm-up, then cosine decay to 5 % of the rate, both by iteration.
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(
        type="CosineAnnealingLR",
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters,
        T_max=max_iters - warmup_iters,
        eta_min_ratio=0.05,
    ),
]
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20),
    checkpoint=dict(
        by_epoch=False,
        interval=val_interval,
        max_keep_ckpts=2,
        save_best="coco/segm_mAP",
        rule="greater",
    ),
)
log_processor = dict(by_epoch=False)
# An exponential moving average of the weights is what validation and the checkpoints use.
# ExpMomentumEMA: the average follows the weights closely at first (momentum near 1) and
# settles to momentum 0.01 (about the last 100 iterations) after a few hundred iterations.
custom_hooks = [
    dict(type="ClassCountCheckHook"),
    dict(type="RecordBatchImagesHook"),
    dict(type="RandomStateCheckpointHook"),
    dict(type="PortableCheckpointHook"),
    dict(
        type="EMAHook",
        ema_type="ExpMomentumEMA",
        momentum=0.01,
        gamma=200,
        update_buffers=True,
        priority=49,
    ),
]
